package integration

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// demoEcho is what the demo's gateway answers: what reached it, with the
// principal and claims its JWT verification established.
type demoEcho struct {
	SNI       string              `json:"sni"`
	Host      string              `json:"host"`
	URI       string              `json:"uri"`
	Headers   map[string][]string `json:"headers"`
	Principal string              `json:"principal"`
	Claims    struct {
		Sub    string   `json:"sub"`
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
		IDP    string   `json:"idp"`
	} `json:"claims"`
}

// TestDemoStory is issue 21's acceptance 1: `gatehouse demo`, started as a
// user starts it, driven by a real headless Chromium that trusts nothing
// but the certificate the demo printed. Alice logs in at the embedded
// provider and the gateway echoes her principal and claims, verified
// against the edge's JWKS; she passes the staff-only path; she signs out;
// bob logs in and is refused on the staff path. Then what the demo tells
// curl users: 401 without a token, a provider token accepted; and the
// stats page and metrics count the logins.
func TestDemoStory(t *testing.T) {
	httpPort, tlsPort, statsPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	p := testenv.StartProcess(t, "gatehouse demo", testenv.GatehouseBinary(t), "demo",
		fmt.Sprintf("--port=%d", httpPort), fmt.Sprintf("--tls-port=%d", tlsPort), fmt.Sprintf("--stats-port=%d", statsPort))
	p.WaitOutput(t, "Ctrl-C stops.", 30*time.Second)
	out := p.Stdout()
	idp := regexp.MustCompile(`TOKEN=\$\(curl -s '(http://127\.0\.0\.1:\d+)/demo/token\?user=alice'\)`).FindStringSubmatch(out)
	ca := regexp.MustCompile(`--cacert (\S+)`).FindStringSubmatch(out)
	fp := regexp.MustCompile(`(?m)^\s+((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$`).FindStringSubmatch(out)
	if idp == nil || ca == nil || fp == nil {
		t.Fatalf("the demo does not print the provider, the certificate and its fingerprint:\n%s", out)
	}
	certPEM, err := os.ReadFile(ca[1])
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.Raw)
	if got := strings.ToUpper(fmt.Sprintf("% x", sum[:])); strings.ReplaceAll(got, " ", ":") != fp[1] {
		t.Fatalf("printed fingerprint %s is not the certificate's (%s)", fp[1], got)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Timeout: 10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	edge := fmt.Sprintf("https://localhost:%d", tlsPort)

	// Discovery runs in the background: wait until a page load is sent to
	// the provider.
	testenv.Eventually(t, 30*time.Second, func() bool {
		req, _ := http.NewRequest("GET", edge+"/hello", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 302 && strings.HasPrefix(resp.Header.Get("Location"), idp[1])
	}, "the demo's edge never sent a browser to its provider")

	// Plain HTTP redirects to the TLS port.
	resp, err := client.Get(fmt.Sprintf("http://localhost:%d/hello?x=1", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 301 || loc != edge+"/hello?x=1" {
		t.Errorf("plain HTTP: %d %q, want 301 to %s/hello?x=1", resp.StatusCode, loc, edge)
	}

	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	b := startBrowser(t, "--ignore-certificate-errors-spki-list="+base64.StdEncoding.EncodeToString(spki[:]))
	signIn := func(user, target string) page {
		t.Helper()
		b.navigate(target)
		b.waitPage("the provider's login page", func(p page) bool { return p.Login && strings.HasPrefix(p.URL, idp[1]) })
		var ok bool
		if err := b.eval(fmt.Sprintf(`(() => { document.querySelector("#user-%s").click(); return true })()`, user), &ok); err != nil {
			t.Fatalf("choosing %s: %v", user, err)
		}
		return b.waitPage(target, func(p page) bool { return p.URL == target })
	}
	decode := func(text string) demoEcho {
		t.Helper()
		var e demoEcho
		if err := json.Unmarshal([]byte(text), &e); err != nil {
			t.Fatalf("page is not the gateway's echo: %v\n%s", err, text)
		}
		return e
	}

	pg := signIn("alice", edge+"/hello")
	e := decode(pg.Text)
	if e.Principal != edge+"/demo/alice" || e.Claims.Email != "alice@example.com" || !slices.Contains(e.Claims.Groups, "staff") || e.Claims.IDP != idp[1] {
		t.Fatalf("the gateway verified %q with claims %+v; want alice's", e.Principal, e.Claims)
	}
	if e.SNI != "helloworld.mesh.local" || e.Host != "helloworld.mesh.local" {
		t.Errorf("gateway got SNI %q Host %q", e.SNI, e.Host)
	}
	if _, ok := e.Headers["Authorization"]; ok {
		t.Error("the gateway passed the verified token on (Istio removes it)")
	}
	b.navigate(edge + "/staff/")
	pg = b.waitPage("the staff page", func(p page) bool { return p.URL == edge+"/staff/" })
	if e := decode(pg.Text); e.URI != "/staff/" || e.Principal != edge+"/demo/alice" {
		t.Errorf("alice on /staff/: %+v", e)
	}

	b.navigate(edge + "/oauth2/sign_out")
	b.waitPage("the signed-out page", func(p page) bool {
		return p.URL == edge+"/signed-out" && strings.Contains(p.Text, "Signed out.")
	})

	signIn("bob", edge+"/hello")
	b.navigate(edge + "/staff/")
	pg = b.waitPage("bob refused on /staff/", func(p page) bool { return p.URL == edge+"/staff/" })
	if !strings.Contains(pg.Text, "403 Forbidden") {
		t.Errorf("bob on /staff/: %q, want the edge's 403", pg.Text)
	}

	// What the demo tells curl users.
	req, _ := http.NewRequest("GET", edge+"/api", nil)
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("API call without a token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	tokResp, err := http.Get(idp[1] + "/demo/token?user=alice")
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(tokResp.Body)
	tokResp.Body.Close()
	req, _ = http.NewRequest("GET", edge+"/api", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || decode(string(body)).Principal != edge+"/demo/alice" {
		t.Errorf("provider token: %d %s", resp.StatusCode, body)
	}

	// The stats page's identity section and the metrics count it all.
	stats := func(path string) string {
		resp, err := http.Get(fmt.Sprintf("http://localhost:%d%s", statsPort, path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	metrics := stats("/metrics")
	for _, want := range []string{
		`gatehouse_oidc_logins_total{oidc="demo"} 2`,
		`gatehouse_oidc_sign_outs_total{oidc="demo"} 1`,
		`gatehouse_oidc_bearer_accepted_total{oidc="demo"} 1`,
		`gatehouse_oidc_discovery_ready{oidc="demo"} 1`,
		`gatehouse_oidc_jwks_fetches_total{oidc="demo"} 1`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if !regexp.MustCompile(`gatehouse_identity_token_minted_total\{identity_token="mesh"\} [1-9]`).MatchString(metrics) ||
		!regexp.MustCompile(`gatehouse_identity_token_jwks_served_total\{identity_token="mesh"\} [1-9]`).MatchString(metrics) {
		t.Error("metrics show no minted token or JWKS served to the gateway")
	}
	if page := stats("/stats"); !strings.Contains(page, `href="#identity">Identity</a>`) || !strings.Contains(page, "<td>demo</td><td>"+idp[1]+"</td><td>ready</td>") {
		t.Error("the stats page has no identity section for the demo's provider")
	}
	// The identity events went through the log target, between access lines.
	p.WaitOutput(t, "oidc 'demo': login of subject 'bob' accepted", 10*time.Second)
}
