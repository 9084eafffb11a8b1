package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestH3Identity: the identity frontend of TestIdentityDecisions, given a
// quic4@ bind by a reload, decides over HTTP/3 as over HTTP/1.1: no
// identity gets 401, a provider JWT of a staff client passes with an edge
// token for the gateway (verified against the edge's JWKS), one failing
// the claim rule gets 403, and the session cookie of a login made over
// HTTP/1.1 is honoured.
func TestH3Identity(t *testing.T) {
	env := startIdentityEnv(t)
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "localhost")
	udp := testenv.FreePort(t)
	b, err := os.ReadFile(env.Gatehouse.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	tcpBind := fmt.Sprintf("    bind 127.0.0.1:%d\n", env.EdgePort)
	cfg := strings.Replace(string(b), tcpBind, tcpBind+fmt.Sprintf("    bind quic4@127.0.0.1:%d ssl crt %s alpn h3\n", udp, cert.PEMFile), 1)
	if cfg == string(b) {
		t.Fatal("no bind line to add the QUIC bind after")
	}
	env.Gatehouse.WriteConfig(cfg)
	if err := env.Gatehouse.Reload(); err != nil {
		t.Fatal(err)
	}
	tr := &http3.Transport{TLSClientConfig: ca.ClientTLS("localhost"), QUICConfig: &quic.Config{MaxIdleTimeout: 30 * time.Second}}
	t.Cleanup(func() { tr.Close() })
	h3 := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := fmt.Sprintf("https://localhost:%d", udp)
	do := func(path string, hdr ...string) (*http.Response, []byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		for _, h := range hdr {
			k, v, _ := strings.Cut(h, ": ")
			req.Header.Add(k, v)
		}
		resp, err := h3.Do(req)
		if err != nil {
			return nil, nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, body, err
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		resp, _, err := do("/public/ready")
		return err == nil && resp.StatusCode > 0
	}, "the QUIC bind added by the reload never answered")
	api := "/app/items"

	resp, _, err := do(api, "Accept: application/json")
	if err != nil || resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no identity: %v %v", resp, err)
	}

	staff := clientCredentials(t, env, "robot-staff", apiAudience)
	resp, body, err := do(api, "Authorization: Bearer "+staff)
	if err != nil || resp.StatusCode != 200 || resp.Proto != "HTTP/3.0" {
		t.Fatalf("staff JWT over HTTP/3: %v %v %s", resp, err, body)
	}
	echo := decodeEchoBody(t, body)
	c := verifyEdgeToken(t, env, header(echo, "Authorization"))
	if c.Subject != "corp/robot-staff" || c.IDP != env.OP {
		t.Errorf("edge token for the staff robot over HTTP/3: %+v", c)
	}

	robot := clientCredentials(t, env, "robot", apiAudience)
	if resp, _, err := do(api, "Authorization: Bearer "+robot); err != nil || resp.StatusCode != 403 {
		t.Errorf("JWT failing the claim rule: %v %v, want 403", resp, err)
	}

	bc, _ := newBrowserClient(t)
	start, _ := http.NewRequest("GET", env.Edge+"/app/home", nil)
	if resp := loginHTTP(t, env, bc, start, opUser, opPassword); resp.StatusCode != 200 {
		t.Fatalf("login over HTTP/1.1 ended with %d", resp.StatusCode)
	}
	var cookie []string
	for _, ck := range sessionCookies(t, env, bc) {
		cookie = append(cookie, ck.Name+"="+ck.Value)
	}
	if len(cookie) == 0 {
		t.Fatal("no session cookie after login")
	}
	resp, body, err = do(api, "Accept: application/json", "Cookie: "+strings.Join(cookie, "; "))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("session cookie over HTTP/3: %v %v %s", resp, err, body)
	}
	echo = decodeEchoBody(t, body)
	if c := verifyEdgeToken(t, env, header(echo, "Authorization")); c.Subject == "" || c.Email == "" {
		t.Errorf("edge token for the session over HTTP/3: %+v", c)
	}
	if got := header(echo, "Cookie"); strings.Contains(got, "_gatehouse_corp") {
		t.Errorf("the edge's session cookie reached the gateway over HTTP/3: %q", got)
	}
}

func decodeEchoBody(t *testing.T, b []byte) testenv.Echo {
	t.Helper()
	var e testenv.Echo
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("not an echo: %v\n%s", err, b)
	}
	return e
}
