package integration

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// tlsOptsConfig is one configuration run by HAProxy 2.6 and by Gatehouse on
// their own ports: the global ssl-default-bind-* defaults, bind lines that
// narrow versions, suites and curves, strict-sni, and servers whose own
// TLS options must agree with what a test server accepts.
func tlsOptsConfig(ports []int, crt, upstream string) string {
	return fmt.Sprintf(`
global
    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
    ssl-default-server-ciphers ECDHE+AES256:!aNULL
    ssl-default-server-options ssl-max-ver TLSv1.2
    tune.ssl.default-dh-param 2048
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend defaults_only
    bind 127.0.0.1:%[1]d ssl crt %[6]s
    http-request return status 200 content-type text/plain string ok
frontend narrow
    bind 127.0.0.1:%[2]d ssl crt %[6]s ssl-max-ver TLSv1.2 ciphers ECDHE+AES256
    http-request return status 200 content-type text/plain string ok
frontend only13
    bind 127.0.0.1:%[3]d ssl crt %[6]s force-tlsv13
    http-request return status 200 content-type text/plain string ok
frontend strict
    bind 127.0.0.1:%[4]d ssl crt %[6]s strict-sni curves P-384
    http-request return status 200 content-type text/plain string ok
frontend chacha_first
    bind 127.0.0.1:%[8]d ssl crt %[6]s ciphers ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256
    http-request return status 200 content-type text/plain string ok
frontend chacha_first_client_pref
    bind 127.0.0.1:%[9]d ssl crt %[6]s ciphers ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256 prefer-client-ciphers
    http-request return status 200 content-type text/plain string ok
frontend to_servers
    bind 127.0.0.1:%[5]d
    use_backend be_gcm128 if { path_beg /gcm128 }
    use_backend be_v13 if { path_beg /v13 }
    default_backend be_default
backend be_default
    server s %[7]s ssl verify none
backend be_gcm128
    server s %[7]s ssl verify none ciphers ECDHE-ECDSA-AES128-GCM-SHA256
backend be_v13
    server s %[7]s ssl verify none ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3
`, ports[0], ports[1], ports[2], ports[3], ports[4], crt, upstream, ports[5], ports[6])
}

// tlsProbe is one handshake: the client's offer and what must happen.
type tlsProbe struct {
	name     string
	port     int // index into the ports
	sni      string
	min, max uint16
	suites   []uint16
	curves   []tls.CurveID
	// ok: the handshake completes; then version and suite are compared.
	ok bool
	// want: the suite both must choose (0: any, as long as they agree).
	want uint16
}

func dialProbe(addr string, p tlsProbe) (*tls.ConnectionState, error) {
	cfg := &tls.Config{
		InsecureSkipVerify: true, ServerName: p.sni, MinVersion: p.min, MaxVersion: p.max,
		CipherSuites: p.suites, CurvePreferences: p.curves,
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	cs := c.ConnectionState()
	return &cs, nil
}

// TestTLSOptionsMatchHAProxy: a Go client offering only a suite, version or
// curve the configuration excludes is refused by both HAProxy 2.6 and
// Gatehouse, and one offering an allowed one gets the same version and
// suite from both; servers' TLS options reach the upstream the same way.
func TestTLSOptionsMatchHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "www.example.com", "127.0.0.1")

	// The upstream answers with the version and suite it negotiated.
	upCert := ca.Issue(t, "127.0.0.1")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{upCert.TLS}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", tls.VersionName(r.TLS.Version), tls.CipherSuiteName(r.TLS.CipherSuite))
	}), ReadHeaderTimeout: 10 * time.Second}
	go up.Serve(ln)
	t.Cleanup(func() { up.Close() })

	mk := func() []int {
		p := make([]int, 7)
		for i := range p {
			p[i] = testenv.FreePort(t)
		}
		return p
	}
	hp, gp := mk(), mk()
	testenv.StartHAProxy(t, tlsOptsConfig(hp, cert.PEMFile, ln.Addr().String()))
	testenv.StartGatehouse(t, tlsOptsConfig(gp, cert.PEMFile, ln.Addr().String()))

	const (
		v10, v11, v12, v13 = tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13
		gcm128             = tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
		gcm256             = tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
		cbc256             = tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
		chacha             = tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	)
	probes := []tlsProbe{
		{name: "default bind, allowed suite", port: 0, min: v12, max: v12, suites: []uint16{gcm128}, ok: true},
		{name: "default bind, chacha allowed", port: 0, min: v12, max: v12, suites: []uint16{chacha}, ok: true},
		{name: "default bind, excluded suite", port: 0, min: v12, max: v12, suites: []uint16{gcm256}, ok: false},
		{name: "default bind, excluded CBC suite", port: 0, min: v12, max: v12, suites: []uint16{cbc256}, ok: false},
		{name: "default bind, TLS 1.1 below ssl-min-ver", port: 0, min: v10, max: v11, ok: false},
		{name: "default bind, TLS 1.3", port: 0, min: v13, max: v13, ok: true},
		{name: "narrow bind, AES256-GCM", port: 1, min: v12, max: v12, suites: []uint16{gcm256}, ok: true},
		{name: "narrow bind, AES256-CBC", port: 1, min: v12, max: v12, suites: []uint16{cbc256}, ok: true},
		{name: "narrow bind, AES128 excluded", port: 1, min: v12, max: v12, suites: []uint16{gcm128}, ok: false},
		{name: "narrow bind, TLS 1.3 above ssl-max-ver", port: 1, min: v13, max: v13, ok: false},
		{name: "force-tlsv13, TLS 1.2 refused", port: 2, min: v12, max: v12, ok: false},
		{name: "force-tlsv13, TLS 1.3", port: 2, min: v12, max: v13, ok: true},
		{name: "strict-sni, known name", port: 3, sni: "www.example.com", min: v12, max: v13, ok: true},
		{name: "strict-sni, unknown name", port: 3, sni: "other.example.com", min: v12, max: v13, ok: false},
		{name: "strict-sni, no SNI", port: 3, min: v12, max: v13, ok: false},
		{name: "server preference: chacha first", port: 5, min: v12, max: v12, suites: []uint16{gcm128, chacha}, ok: true, want: chacha},
		{name: "prefer-client-ciphers: the client's AES-GCM first", port: 6, min: v12, max: v12, suites: []uint16{gcm128, chacha}, ok: true, want: gcm128},
		{name: "server preference: the only common suite", port: 5, min: v12, max: v12, suites: []uint16{gcm128}, ok: true, want: gcm128},
		{name: "narrow bind: AES256-GCM before CBC", port: 1, min: v12, max: v12, suites: []uint16{cbc256, gcm256}, ok: true, want: gcm256},
		{name: "curves P-384 only, client X25519 only", port: 3, sni: "www.example.com", min: v12, max: v13, curves: []tls.CurveID{tls.X25519}, ok: false},
		{name: "curves P-384 only, client P-384", port: 3, sni: "www.example.com", min: v12, max: v13, curves: []tls.CurveID{tls.CurveP384}, ok: true},
	}
	for _, p := range probes {
		hs, herr := dialProbe(testenv.LocalAddr(hp[p.port]), p)
		gs, gerr := dialProbe(testenv.LocalAddr(gp[p.port]), p)
		if (herr == nil) != p.ok {
			t.Errorf("%s: HAProxy: err=%v, want ok=%v (the test's expectation is wrong)", p.name, herr, p.ok)
		}
		if (gerr == nil) != p.ok {
			t.Errorf("%s: Gatehouse: err=%v, want ok=%v (HAProxy: %v)", p.name, gerr, p.ok, herr)
		}
		if p.want != 0 && gs != nil && gs.CipherSuite != p.want {
			t.Errorf("%s: Gatehouse chose %s, want %s", p.name, tls.CipherSuiteName(gs.CipherSuite), tls.CipherSuiteName(p.want))
		}
		if hs != nil && gs != nil && (hs.Version != gs.Version || hs.CipherSuite != gs.CipherSuite) {
			t.Errorf("%s: HAProxy negotiated %s %s, Gatehouse %s %s", p.name,
				tls.VersionName(hs.Version), tls.CipherSuiteName(hs.CipherSuite), tls.VersionName(gs.Version), tls.CipherSuiteName(gs.CipherSuite))
		}
	}

	// Servers: ssl-default-server-* and the lines' own options decide what
	// the upstream sees, or that no handshake is possible (503).
	for _, path := range []string{"/", "/gcm128", "/v13"} {
		var got [2]string
		for i, port := range []int{hp[4], gp[4]} {
			c := &http.Client{Timeout: 20 * time.Second}
			resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			body := string(b)
			got[i] = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(body))
			if resp.StatusCode != 200 {
				got[i] = fmt.Sprintf("%d", resp.StatusCode)
			}
		}
		if got[0] != got[1] {
			t.Errorf("server options, %s: HAProxy %q, Gatehouse %q", path, got[0], got[1])
		}
		t.Logf("server options, %s: %q", path, got[0])
	}
}
