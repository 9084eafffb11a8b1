package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// istioConfig is an edge that serves its JWKS to one host only, on a port
// of its own; its provider never answers (login is not what is tested).
func istioConfig(t *testing.T, port int) string {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return fmt.Sprintf(`defaults
    mode http
    timeout client 10s
    timeout connect 5s
    timeout server 10s

oidc corp
    issuer http://127.0.0.1:%d
    client-id edge
    cookie-secret file:%s
    redirect-uri https://app.example.com/oauth2/callback

identity-token mesh
    issuer https://edge.example.com
    audience app.example.com
    signing-key file:%s
    claims groups

frontend web
    bind 127.0.0.1:%d
    option forwardfor
    http-request use-service jwks:mesh if { path /keys/mesh.json } { hdr(host) -i keys.example.com }
    http-request oidc-auth corp
    http-request deny if { path_beg /staff } !{ oidc_claim(groups) staff }
    http-request set-identity-token mesh
    default_backend gw

backend gw
    server gw 127.0.0.1:%d
`, testenv.FreePort(t), write("cookie", bytes.Repeat([]byte("c"), 32)), write("mesh.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), port, testenv.FreePort(t))
}

// TestIstioCommand: `gatehouse istio` prints policies whose jwksUri the
// running edge answers with its key set; --check agrees with them and
// finds a changed issuer (exit 1).
func TestIstioCommand(t *testing.T) {
	port := testenv.FreePort(t)
	cfg := istioConfig(t, port)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gatehouse.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"istio", "-f", cfgPath}, &out, &errb); code != 0 {
		t.Fatalf("istio: %d %s", code, errb.String())
	}
	yamlOut := out.String()
	for _, want := range []string{"kind: RequestAuthentication", `jwksUri: "http://keys.example.com/keys/mesh.json"`,
		`"https://edge.example.com/corp/*"`, `key: "request.auth.claims[groups]"`, "istiod"} {
		if !strings.Contains(yamlOut, want) {
			t.Errorf("output lacks %q:\n%s", want, yamlOut)
		}
	}

	// The URL istiod would fetch is answered with the key set (through a
	// load balancer that maps port 80 to the bind's, as the comment assumes).
	testenv.StartGatehouse(t, cfg)
	var jwksURI string
	for _, l := range strings.Split(yamlOut, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "jwksUri: "); ok {
			jwksURI = strings.Trim(v, `"`)
		}
	}
	u, err := url.Parse(jwksURI)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		}}}
	resp, err := client.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var set struct {
		Keys []struct{ Kty, Kid string }
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &set) != nil || len(set.Keys) != 1 || set.Keys[0].Kty != "EC" || set.Keys[0].Kid == "" {
		t.Fatalf("GET %s: %d %s", jwksURI, resp.StatusCode, body)
	}

	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"istio", "--check", "-f", cfgPath, policy}, &out, &errb); code != 0 {
		t.Fatalf("--check of its own output: %d %s %s", code, out.String(), errb.String())
	}
	changed := strings.Replace(yamlOut, `issuer: "https://edge.example.com"`, `issuer: "https://edge.example.org"`, 1)
	if err := os.WriteFile(policy, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"istio", "--check", "-f", cfgPath, policy}, &out, &errb); code != 1 ||
		!strings.Contains(out.String(), `no RequestAuthentication has a jwtRule with issuer "https://edge.example.com"`) ||
		!strings.Contains(out.String(), `has issuer "https://edge.example.org"`) {
		t.Fatalf("--check of a changed issuer: %d %s", code, out.String())
	}
}

func TestIstioUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"istio"}, "no configuration file given"},
		{[]string{"istio", "-f", "x.cfg", "--check"}, "--check needs the policy file"},
		{[]string{"istio", "-f", "x.cfg", "p.yaml"}, "compare a file with --check"},
		{[]string{"istio", "-f", "x.cfg", "-selector", "app"}, "is not label=value"},
		{[]string{"istio", "-f", "/nonexistent.cfg"}, "nonexistent.cfg"},
	} {
		var out, errb bytes.Buffer
		if code := run(tc.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: %d %q, want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}
