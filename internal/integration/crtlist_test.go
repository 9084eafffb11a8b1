package integration

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestCrtListMatchesHAProxy: the same crt-list (SNI filters with wildcards
// and exclusions, "!*", a line with its own alpn and ciphers) serves the
// same certificate, ALPN and suite from HAProxy 2.6 and Gatehouse, and a
// client offering only a suite the line excludes is refused by both.
func TestCrtListMatchesHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	certs := map[string]*testenv.Cert{}
	for _, n := range []string{"default.example", "wild.example", "secure.example", "named.example.org"} {
		certs[n] = ca.Issue(t, n)
	}
	list := filepath.Join(t.TempDir(), "crt-list.txt")
	text := fmt.Sprintf(`# first line: the default certificate, not selected by its names
%s !*
%s *.example.com !secure.example.com
%s [alpn h2,http/1.1 ciphers ECDHE-ECDSA-AES256-GCM-SHA384] secure.example.com
%s
`, certs["default.example"].PEMFile, certs["wild.example"].PEMFile, certs["secure.example"].PEMFile, certs["named.example.org"].PEMFile)
	if err := os.WriteFile(list, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := func(port int) string {
		return fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d ssl crt-list %s
    http-request return status 200 content-type text/plain string ok
`, port, list)
	}
	hp, gp := testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartHAProxy(t, cfg(hp))
	testenv.StartGatehouse(t, cfg(gp))

	type result struct {
		cn, alpn, suite string
		err             error
	}
	dial := func(port int, sni string, suites []uint16, max uint16) result {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", testenv.LocalAddr(port), &tls.Config{
			InsecureSkipVerify: true, ServerName: sni, NextProtos: []string{"h2", "http/1.1"}, CipherSuites: suites, MaxVersion: max,
		})
		if err != nil {
			return result{err: err}
		}
		defer c.Close()
		st := c.ConnectionState()
		return result{cn: st.PeerCertificates[0].Subject.CommonName, alpn: st.NegotiatedProtocol, suite: tls.CipherSuiteName(st.CipherSuite)}
	}
	for _, p := range []struct {
		sni    string
		suites []uint16
		max    uint16
		wantCN string // "" : refused
	}{
		{"a.example.com", nil, 0, "wild.example"},
		{"secure.example.com", nil, 0, "secure.example"},
		{"secure.example.com", nil, tls.VersionTLS12, "secure.example"},
		{"secure.example.com", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, tls.VersionTLS12, ""},
		{"a.example.com", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, tls.VersionTLS12, "wild.example"},
		{"named.example.org", nil, 0, "named.example.org"},
		{"default.example", nil, 0, "default.example"},
		{"wild.example", nil, 0, "default.example"},
		{"a.b.example.com", nil, 0, "default.example"},
		{"", nil, 0, "default.example"},
	} {
		h, g := dial(hp, p.sni, p.suites, p.max), dial(gp, p.sni, p.suites, p.max)
		name := fmt.Sprintf("SNI %q suites %v max %x", p.sni, p.suites, p.max)
		if (h.err == nil) != (p.wantCN != "") || h.cn != p.wantCN {
			t.Errorf("%s: HAProxy %+v, want %q (the test's expectation is wrong)", name, h, p.wantCN)
		}
		if p.max != tls.VersionTLS12 {
			// TLS 1.3 suites are Go's choice (OpenSSL prefers AES-256).
			h.suite, g.suite = "", ""
		}
		if (g.err == nil) != (h.err == nil) || g.cn != h.cn || g.alpn != h.alpn || g.suite != h.suite {
			t.Errorf("%s: Gatehouse %+v, HAProxy %+v", name, g, h)
		}
	}
}
