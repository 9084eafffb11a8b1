package integration

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestCANamesMatchHAProxy: binds with "ca-verify-file" and "no-ca-names"
// name the same CAs in their certificate request through HAProxy 2.6 and
// Gatehouse (ca-file's only, or none), and accept or refuse the same
// client certificates: one under the intermediate (chain sent), one of an
// unknown CA, none.
func TestCANamesMatchHAProxy(t *testing.T) {
	dir := t.TempDir()
	root := tlstest.NewCA(t)
	inter := root.NewIntermediate(t)
	site := root.WritePEMFile(t, dir, "site.pem", "site.test")
	rootFile := root.WriteCAFile(t, dir, "root.pem")
	interFile := tlstest.WriteFile(t, filepath.Join(dir, "inter.pem"), inter.CertPEM)
	good := inter.TLSCertificate(t, "alice")
	stranger := tlstest.NewCA(t).TLSCertificate(t, "eve")
	echo := testenv.StartEchoServer(t)

	binds := []string{
		"ca-file " + interFile + " ca-verify-file " + rootFile + " verify required",
		"ca-file " + rootFile + " no-ca-names verify optional",
		"ca-verify-file " + rootFile + " verify required",
		"ca-file " + rootFile + " verify required",
	}
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		var fe strings.Builder
		var ports []int
		for i, b := range binds {
			p := testenv.FreePort(t)
			ports = append(ports, p)
			fmt.Fprintf(&fe, "frontend f%d\n    bind 127.0.0.1:%d ssl crt %s %s\n    default_backend echo\n", i, p, site, b)
		}
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
%sbackend echo
    server e %s
`, fe.String(), echo.Addr)
		stop := testenv.StartSide(t, name, cfg)
		var out []string
		for i, p := range ports {
			for _, c := range []struct {
				what string
				cert *tls.Certificate
			}{{"intermediate's", &good}, {"unknown CA's", &stranger}, {"none", nil}} {
				var names []string
				tc := &tls.Config{ServerName: "site.test", RootCAs: root.CertPool(), MaxVersion: tls.VersionTLS12,
					GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
						for _, n := range cri.AcceptableCAs {
							names = append(names, caName(n))
						}
						if c.cert == nil {
							return &tls.Certificate{}, nil
						}
						return c.cert, nil
					}}
				hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
				res := "error"
				if resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/", p)); err == nil {
					resp.Body.Close()
					res = fmt.Sprint(resp.StatusCode)
				}
				out = append(out, fmt.Sprintf("bind %d, cert %s: %s, names %q", i, c.what, res, names))
			}
		}
		stop()
		results[name] = out
	}
	h, g := results["haproxy"], results["gatehouse"]
	t.Logf("haproxy:\n%s", strings.Join(h, "\n"))
	if strings.Join(h, "\n") != strings.Join(g, "\n") {
		t.Errorf("differs:\n  haproxy:   %s\n  gatehouse: %s", strings.Join(h, "\n             "), strings.Join(g, "\n             "))
	}
}

// caName names a test CA by its DER-encoded subject.
func caName(der []byte) string {
	switch s := string(der); {
	case strings.Contains(s, "Intermediate"):
		return "intermediate"
	case strings.Contains(s, "Root"):
		return "root"
	}
	return "other"
}
