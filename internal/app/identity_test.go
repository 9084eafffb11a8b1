package app

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/stats"
)

// identityGuardConfig: an oidc section (its provider never answers: only
// paths that skip oidc-auth pass), a frontend that authenticates unless
// the path is public, one that routes to a backend that does, and one
// without identity at all. The upstream reports what reached it, trailers
// included.
func identityGuardConfig(t *testing.T) (cfg string, web, viaBackend, other, webH2 string) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "cookie")
	if err := os.WriteFile(secret, []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	up := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // trailers arrive with the end of the body
		// A server trying to set (fix) or clear the edge's session.
		w.Header().Add("Set-Cookie", "gh=forged; Path=/")
		w.Header().Add("Set-Cookie", "gh_0=chunk; Path=/")
		w.Header().Add("Set-Cookie", "gh_st_abcdef=; Max-Age=0")
		w.Header().Add("Set-Cookie", "app=1; Path=/")
		w.Header().Add("Set-Cookie", "ghost=1")
		fmt.Fprintf(w, "cookie=%s\n", strings.Join(r.Header.Values("Cookie"), "|"))
		fmt.Fprintf(w, "x-forwarded-user=%s\n", strings.Join(r.Header.Values("X-Forwarded-User"), "|"))
		var keys []string
		for k, v := range r.Trailer {
			if len(v) > 0 { // a name announced in the head's Trailer field has none until it comes
				keys = append(keys, k+"="+strings.Join(v, "|"))
			}
		}
		slices.Sort(keys)
		fmt.Fprintf(w, "trailers=%s\n", strings.Join(keys, ";"))
	})
	ports := []int{freePort(t), freePort(t), freePort(t), freePort(t)}
	cfg = testDefaults + fmt.Sprintf(`
oidc corp
    issuer http://127.0.0.1:%d
    client-id edge
    cookie-secret file:%s
    redirect-uri https://app.example/oauth2/callback
    cookie-name gh

identity-token mesh
    issuer https://edge.example
    audience app
    signing-key file:%s
    header X-Edge-Token

frontend web
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    http-request oidc-auth corp unless { path_beg /public }
    http-request set-identity-token mesh
    default_backend app

frontend via-backend
    bind 127.0.0.1:%d
    default_backend guarded

frontend other
    bind 127.0.0.1:%d
    default_backend app

backend app
    server s1 %s

backend guarded
    http-request oidc-auth corp unless { path_beg /public }
    server s1 %s
`, freePort(t), secret, writeMeshKey(t, dir), ports[0], ports[3], ports[1], ports[2], hostPort(up), hostPort(up))
	addr := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }
	return cfg, addr(ports[0]), addr(ports[1]), addr(ports[2]), addr(ports[3])
}

// upstreamSaw sends a raw HTTP/1.1 request and returns the upstream's report.
func upstreamSaw(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, body := readResponse(t, bufio.NewReader(c), "GET")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	return body
}

func reportLine(report, key string) string {
	for _, l := range strings.Split(report, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return v
		}
	}
	return "<none>"
}

// The edge's cookies never leave the edge, and identity headers a client
// sets reach the mesh neither in the head nor in the trailers: on paths
// that skip oidc-auth, through a backend that authenticates, on a frontend
// without identity, over HTTP/1.1 and HTTP/2.
func TestIdentityGuards(t *testing.T) {
	cfg, web, viaBackend, other, webH2 := identityGuardConfig(t)
	start(t, cfg)
	const cookies = "Cookie: gh=sealed; app=1; gh_0=chunk; gh_st_abcdef=flow\r\nCookie: gh_1=more\r\n"

	t.Run("cookies", func(t *testing.T) {
		for _, addr := range []string{web, viaBackend, other} {
			got := reportLine(upstreamSaw(t, addr, "GET /public/page HTTP/1.1\r\nHost: a\r\n"+cookies+"\r\n"), "cookie")
			if got != "app=1" {
				t.Errorf("%s: the upstream got Cookie %q, want app=1", addr, got)
			}
		}
		got := reportLine(upstreamSaw(t, other, "GET / HTTP/1.1\r\nHost: a\r\nCookie: gh_1=x\r\n\r\n"), "cookie")
		if got != "" {
			t.Errorf("a Cookie field left empty is forwarded: %q", got)
		}
	})

	t.Run("the mesh cannot set the edge's cookies", func(t *testing.T) {
		for _, addr := range []string{web, viaBackend} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, "GET /public/page HTTP/1.1\r\nHost: a\r\n\r\n")
			resp, _ := readResponse(t, bufio.NewReader(c), "GET")
			c.Close()
			if got := strings.Join(resp.Header.Values("Set-Cookie"), " | "); got != "app=1; Path=/ | ghost=1" {
				t.Errorf("%s: the client got Set-Cookie %q, want only the mesh's own cookies", addr, got)
			}
		}
	})

	t.Run("spoofed headers through a backend that authenticates", func(t *testing.T) {
		got := reportLine(upstreamSaw(t, viaBackend, "GET /public/page HTTP/1.1\r\nHost: a\r\nX-Forwarded-User: admin\r\n\r\n"), "x-forwarded-user")
		if got != "" {
			t.Errorf("the upstream got X-Forwarded-User %q", got)
		}
	})

	const trailers = "X-Forwarded-User: admin\r\nx_auth_request_email: a@b\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\n" +
		"Cookie: gh=sealed; app=2\r\nX-Edge-Token: forged\r\nX-Checksum: 7\r\n"
	const wantTrailers = "Cookie=app=2;X-Checksum=7"
	t.Run("HTTP/1.1 trailers", func(t *testing.T) {
		for _, addr := range []string{web, viaBackend} {
			got := reportLine(upstreamSaw(t, addr, "POST /public/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"+
				"3\r\nabc\r\n0\r\n"+trailers+"\r\n"), "trailers")
			if got != wantTrailers {
				t.Errorf("%s: the upstream got trailers %q, want %q", addr, got, wantTrailers)
			}
		}
		// A frontend without identity still drops the forwarding headers.
		got := reportLine(upstreamSaw(t, other, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"3\r\nabc\r\n0\r\nX-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nX-Checksum: 7\r\n\r\n"), "trailers")
		if got != "X-Checksum=7" {
			t.Errorf("frontend without identity: trailers %q, want X-Checksum=7", got)
		}
	})

	t.Run("HTTP/2 trailers", func(t *testing.T) {
		c := h2Client(t, nil, "")
		req, _ := http.NewRequest("POST", "http://"+webH2+"/public/upload", io.NopCloser(strings.NewReader("abc")))
		req.ContentLength = -1
		req.Trailer = http.Header{}
		for _, l := range strings.Split(strings.TrimSpace(trailers), "\r\n") {
			k, v, _ := strings.Cut(l, ": ")
			req.Trailer.Add(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if got := reportLine(string(body), "trailers"); got != wantTrailers {
			t.Errorf("the upstream got trailers %q, want %q", got, wantTrailers)
		}
		req, _ = http.NewRequest("GET", "http://"+webH2+"/public/page", nil)
		req.Header.Add("Cookie", "gh=sealed; app=1")
		req.Header.Add("Cookie", "gh_0=chunk")
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := reportLine(string(body), "cookie"); got != "app=1" {
			t.Errorf("HTTP/2: the upstream got Cookie %q, want app=1", got)
		}
	})
}

// writeMeshKey writes an EC P-256 signing key for an identity-token section.
func writeMeshKey(t *testing.T, dir string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "mesh.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The graph's snapshot carries each identity section's counters to the
// metrics: a provider that cannot be discovered shows as not ready, and
// the 503s it causes are counted.
func TestIdentityMetricsExported(t *testing.T) {
	cfg, web, _, _, _ := identityGuardConfig(t)
	rt := start(t, cfg)
	resp := rawExchange(t, web, "GET /api HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(resp, "HTTP/1.1 503") {
		t.Fatalf("undiscovered provider: %q", resp)
	}
	var b strings.Builder
	if err := stats.WritePrometheus(&b, rt.Graph().Snapshot()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`gatehouse_oidc_discovery_ready{oidc="corp"} 0`,
		`gatehouse_oidc_unavailable_total{oidc="corp"} 1`,
		`gatehouse_oidc_login_failures_total{oidc="corp",reason="state"} 0`,
		`gatehouse_identity_token_minted_total{identity_token="mesh"} 0`,
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestBackchannelEndpointWired: the oidc section's back-channel logout
// path is answered where oidc-auth runs, with the request body read
// through the proxy, and its refusals are counted in the metrics.
func TestBackchannelEndpointWired(t *testing.T) {
	cfg, web, _, _, _ := identityGuardConfig(t)
	cfg = strings.Replace(cfg, "    cookie-name gh\n", "    cookie-name gh\n    backchannel-logout-path /bc\n", 1)
	rt := start(t, cfg)
	post := func(ct, body string) string {
		return rawExchange(t, web, fmt.Sprintf("POST /bc HTTP/1.1\r\nHost: app.example\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", ct, len(body), body))
	}
	for _, c := range []struct{ ct, body, want string }{
		{"text/plain", "logout_token=x", "x-www-form-urlencoded"},
		{"application/x-www-form-urlencoded", "other=1", "exactly one logout_token"}, // the body was read
	} {
		resp := post(c.ct, c.body)
		if !strings.HasPrefix(resp, "HTTP/1.1 400") || !strings.Contains(resp, `"error":"invalid_request"`) || !strings.Contains(resp, c.want) {
			t.Errorf("%s %q: %q", c.ct, c.body, resp)
		}
	}
	// A well-formed request while the provider is not discovered: the
	// token cannot be checked yet.
	if resp := post("application/x-www-form-urlencoded", "logout_token=a.b.c"); !strings.HasPrefix(resp, "HTTP/1.1 503") || !strings.Contains(resp, "temporarily_unavailable") {
		t.Errorf("undiscovered provider: %q", resp)
	}
	var b strings.Builder
	if err := stats.WritePrometheus(&b, rt.Graph().Snapshot()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`gatehouse_oidc_backchannel_refused_total{oidc="corp"} 2`, `gatehouse_oidc_backchannel_logouts_total{oidc="corp"} 0`} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}
