package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/demo"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// docBlock returns the fenced code block that follows marker in doc.
func docBlock(t *testing.T, doc, marker string) string {
	t.Helper()
	i := strings.Index(doc, marker)
	if i < 0 {
		t.Fatalf("docs/identity.md lacks %q", marker)
	}
	rest := doc[i:]
	a := strings.Index(rest, "```")
	b := strings.Index(rest[a+3:], "\n```")
	if a < 0 || b < 0 {
		t.Fatalf("no code block after %q", marker)
	}
	body := rest[a+3 : a+3+b+1]
	return body[strings.Index(body, "\n")+1:] // past the language tag
}

// gatewayStub records the head of each request it gets and answers 200.
func gatewayStub(t *testing.T) (addr string, heads chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	heads = make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				var head strings.Builder
				for {
					l, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if l == "\r\n" {
						break
					}
					head.WriteString(strings.TrimRight(l, "\r\n") + "\n")
				}
				heads <- head.String()
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
			}()
		}
	}()
	return ln.Addr().String(), heads
}

// TestIdentityWalkthrough runs the walkthrough of docs/identity.md as
// written (the provider of 'gatehouse demo', the configuration, the curl
// requests) and checks that the gateway receives the documented headers,
// in the documented order, and the documented token.
func TestIdentityWalkthrough(t *testing.T) {
	b, err := os.ReadFile("../../docs/identity.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	cfg := docBlock(t, doc, "<!-- walkthrough.cfg")
	received := docBlock(t, doc, "<!-- received")
	tokenDoc := docBlock(t, doc, "<!-- token")
	if !strings.Contains(cfg, "client-id "+demo.ClientID) {
		t.Fatalf("the walkthrough's client-id is not the demo provider's (%s)", demo.ClientID)
	}

	idp, err := demo.StartIdP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	idp.ClientID, idp.ClientSecret = demo.ClientID, "unused"
	gw, heads := gatewayStub(t)
	edgePort := testenv.FreePort(t)
	dir := t.TempDir()
	var secret [48]byte
	_, _ = rand.Read(secret[:])
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	for name, data := range map[string][]byte{
		"cookie-secret":    []byte(base64.StdEncoding.EncodeToString(secret[:]) + "\n"),
		"mesh-signing.pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := fmt.Sprint(edgePort)
	run := strings.NewReplacer("http://127.0.0.1:9000", idp.Issuer, "127.0.0.1:9001", gw, "9080", port, "file:./", "file:"+dir+"/").Replace(cfg)
	testenv.StartGatehouse(t, run)
	edge := "127.0.0.1:" + port

	// No token: 401 once the provider is discovered (503 before).
	client := &http.Client{Timeout: 20 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + edge + "/hello")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 401 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 401 without a token within 30 s: %v %v", resp, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tokenOf := func(user string) string {
		resp, err := client.Get(idp.Issuer + "/demo/token?user=" + user)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b))
	}
	// alice's request, as the walkthrough's curl sends it.
	c, err := net.Dial("tcp", edge)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "GET /hello HTTP/1.1\r\nHost: localhost:%s\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nAuthorization: Bearer %s\r\nCookie: theme=dark\r\nX-Forwarded-User: mallory\r\n\r\n", port, tokenOf("alice"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("alice: %v %v", resp, err)
	}
	var got string
	select {
	case got = <-heads:
	case <-time.After(20 * time.Second):
		t.Fatal("the gateway received nothing")
	}

	fields := func(head string) (names []string, vals map[string]string) {
		vals = map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(head), "\n")[1:] {
			n, v, _ := strings.Cut(l, ": ")
			names, vals[n] = append(names, n), v
		}
		return
	}
	wantNames, wantVals := fields(strings.ReplaceAll(received, "9080", port))
	gotNames, gotVals := fields(got)
	if !slices.Equal(gotNames, wantNames) || strings.Split(got, "\n")[0] != strings.Split(received, "\n")[0] {
		t.Fatalf("the gateway received\n%s\nthe doc says\n%s", got, received)
	}
	for _, n := range []string{"Host", "User-Agent", "Accept", "Cookie", "X-Forwarded-Email", "X-Forwarded-For", "X-Forwarded-Proto"} {
		if gotVals[n] != wantVals[n] {
			t.Errorf("%s: %q, the doc says %q", n, gotVals[n], wantVals[n])
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(gotVals["X-Request-Id"]) ||
		!regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`).MatchString(gotVals["traceparent"]) {
		t.Errorf("request id %q, traceparent %q", gotVals["X-Request-Id"], gotVals["traceparent"])
	}

	// The token: the documented header and claims.
	jwtParts := strings.Split(strings.TrimPrefix(gotVals["Authorization"], "Bearer "), ".")
	if len(jwtParts) != 3 {
		t.Fatalf("Authorization %q", gotVals["Authorization"])
	}
	decode := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		var m map[string]any
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil {
			t.Fatalf("token part %q: %v", s, err)
		}
		return m
	}
	hdr, claims := decode(jwtParts[0]), decode(jwtParts[1])
	dec := json.NewDecoder(strings.NewReader(tokenDoc))
	var docHdr, docClaims map[string]any
	if err := dec.Decode(&docHdr); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&docClaims); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
	if !slices.Equal(keys(hdr), keys(docHdr)) || hdr["alg"] != docHdr["alg"] || hdr["typ"] != docHdr["typ"] {
		t.Errorf("token header %v, the doc's %v", hdr, docHdr)
	}
	if !slices.Equal(keys(claims), keys(docClaims)) {
		t.Errorf("claims %v, the doc's %v", keys(claims), keys(docClaims))
	}
	for _, k := range []string{"aud", "email", "sub"} {
		if claims[k] != docClaims[k] {
			t.Errorf("claim %s: %v, the doc's %v", k, claims[k], docClaims[k])
		}
	}
	if claims["idp"] != idp.Issuer || claims["iss"] != "http://localhost:"+port || fmt.Sprint(claims["groups"]) != fmt.Sprint(docClaims["groups"]) {
		t.Errorf("idp %v, iss %v, groups %v", claims["idp"], claims["iss"], claims["groups"])
	}
	num := func(m map[string]any, k string) float64 { f, _ := m[k].(float64); return f }
	if num(claims, "exp")-num(claims, "iat") != num(docClaims, "exp")-num(docClaims, "iat") ||
		num(claims, "iat")-num(claims, "nbf") != num(docClaims, "iat")-num(docClaims, "nbf") {
		t.Errorf("exp/iat/nbf spacing %v, the doc's %v", claims, docClaims)
	}

	// bob on the staff path: 403 from the edge, nothing reaches the gateway.
	req, _ := http.NewRequest("GET", "http://"+edge+"/staff/", nil)
	req.Header.Set("Authorization", "Bearer "+tokenOf("bob"))
	r2, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 403 {
		t.Fatalf("bob on /staff/: %d", r2.StatusCode)
	}
	select {
	case h := <-heads:
		t.Fatalf("the gateway received bob's refused request:\n%s", h)
	default:
	}
	// The key set istiod would fetch holds the token's key.
	r3, err := client.Get("http://" + edge + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []struct{ Kid string } }
	err = json.NewDecoder(r3.Body).Decode(&set)
	r3.Body.Close()
	if err != nil || len(set.Keys) != 1 || set.Keys[0].Kid != hdr["kid"] {
		t.Fatalf("jwks: %v %+v, token kid %v", err, set, hdr["kid"])
	}
}
