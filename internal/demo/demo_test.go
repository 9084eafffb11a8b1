package demo_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/cfgparse"
	"github.com/gatehouse/gatehouse/internal/demo"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// startDemo runs what "gatehouse demo" runs, in process.
func startDemo(t *testing.T) (*demo.Setup, *http.Client) {
	t.Helper()
	s, err := demo.Start(demo.Options{HTTPPort: testenv.FreePort(t), TLSPort: testenv.FreePort(t), StatsPort: testenv.FreePort(t), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	text, err := os.ReadFile(s.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := cfgparse.Parse("demo.cfg", text, cfgparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := app.Build(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	rt := app.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := rt.Apply(g); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Shutdown() })
	pem, err := os.ReadFile(s.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Discovery runs in the background.
	testenv.Eventually(t, 30*time.Second, func() bool {
		resp, err := c.Get(s.Params.EdgeURL() + "/api")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 401
	}, "the edge never answered 401 for an API call (provider not discovered?)")
	return s, c
}

func userToken(t *testing.T, s *demo.Setup, user string) string {
	t.Helper()
	resp, err := http.Get(s.IdP.Issuer + "/demo/token?user=" + user)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("token for %s: %d %s", user, resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b))
}

func call(t *testing.T, c *http.Client, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDemo runs what "gatehouse demo" runs: an API call without a token
// gets 401, a provider token goes through and the gateway verifies the
// edge's token against the edge's JWKS and echoes the principal, the
// claim rule refuses bob on /staff, plain HTTP redirects to TLS, the
// gateway's health check is L7OK through verified TLS, and the metrics
// carry the identity families.
func TestDemo(t *testing.T) {
	s, c := startDemo(t)
	edge := s.Params.EdgeURL()
	st, body := call(t, c, edge+"/hello", userToken(t, s, "alice"))
	var e demo.Echo
	if err := json.Unmarshal([]byte(body), &e); err != nil || st != 200 {
		t.Fatalf("alice's token: %d %s", st, body)
	}
	if e.Principal != edge+"/demo/alice" || e.SNI != demo.Host || e.Host != demo.Host || e.URI != "/hello" {
		t.Errorf("through the edge: %+v", e)
	}
	if g, _ := e.Claims["groups"].([]any); len(g) == 0 || g[0] != "staff" {
		t.Errorf("claims: %v", e.Claims)
	}
	if st, _ := call(t, c, edge+"/staff/x", userToken(t, s, "alice")); st != 200 {
		t.Errorf("alice on /staff: %d", st)
	}
	if st, _ := call(t, c, edge+"/staff/x", userToken(t, s, "bob")); st != 403 {
		t.Errorf("bob on /staff: %d, want 403", st)
	}
	if st, _ := call(t, c, edge+"/hello", userToken(t, s, "bob")); st != 200 {
		t.Errorf("bob elsewhere: %d", st)
	}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/a?b=c", s.Params.HTTPPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 301 || resp.Header.Get("Location") != edge+"/a?b=c" {
		t.Errorf("plain HTTP: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	stats := func(path string) string {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", s.Params.StatsPort, path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	testenv.Eventually(t, 20*time.Second, func() bool {
		csv := stats("/stats;csv")
		return strings.Contains(csv, "gateway-1,") && strings.Contains(csv, ",L7OK,200,")
	}, "the health check through verified TLS never reached L7OK/200")
	m := stats("/metrics")
	for _, want := range []string{`gatehouse_oidc_bearer_accepted_total{oidc="demo"} 4`, `gatehouse_oidc_discovery_ready{oidc="demo"} 1`, "haproxy_server_check_status"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// The gateway verifies as Istio's RequestAuthentication and
// AuthorizationPolicy would: no token 403, a token that does not verify
// 401, whatever the edge or anyone else signed with another key.
func TestGatewayRequestAuthentication(t *testing.T) {
	s, _ := startDemo(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.Gateway.CertPEM())
	gw := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: demo.Host}}}
	url := "https://" + s.Gateway.Addr() + "/hello"
	req := func(auth string) (int, string) {
		r, _ := http.NewRequest("GET", url, nil)
		r.Host = demo.Host
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		resp, err := gw.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := req(""); st != 403 || body != "RBAC: access denied" {
		t.Errorf("no token: %d %q", st, body)
	}
	// A provider token is valid, but not the edge's: wrong issuer and key.
	if st, body := req("Bearer " + userToken(t, s, "alice")); st != 401 || body != "Jwt verification fails" {
		t.Errorf("provider token at the gateway: %d %q", st, body)
	}
	if st, _ := req("Bearer not.a.jwt"); st != 401 {
		t.Errorf("garbage token: %d", st)
	}
	if st, _ := req("Basic YTpi"); st != 401 {
		t.Errorf("basic credentials: %d", st)
	}
	if _, err := os.Stat(filepath.Join(s.Params.Dir, "mesh-signing.pem")); err != nil {
		t.Fatal(err)
	}
}
