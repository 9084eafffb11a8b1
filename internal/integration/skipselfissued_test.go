package integration

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestSkipSelfIssuedCAMatchesHAProxy: with the global
// "ssl-skip-self-issued-ca", HAProxy 2.6 and Gatehouse send the same
// chains from crt files holding their root: leaf and intermediate from
// leaf+intermediate+root (in either order of the CAs, with an unrelated CA
// in the file), the leaf alone from leaf+root.
func TestSkipSelfIssuedCAMatchesHAProxy(t *testing.T) {
	dir := t.TempDir()
	root := tlstest.NewCA(t)
	inter := root.NewIntermediate(t)
	stranger := tlstest.NewCA(t)
	leafInter, keyInter := inter.Issue(t, "site.test")
	leafOnly := leafInter[:len(leafInter)-len(inter.CertPEM)]
	leafRoot, keyRoot := root.Issue(t, "site.test")
	files := []string{
		tlstest.WriteFile(t, filepath.Join(dir, "a.pem"), cat(leafInter, root.CertPEM, keyInter)),
		tlstest.WriteFile(t, filepath.Join(dir, "b.pem"), cat(leafRoot, root.CertPEM, keyRoot)),
		tlstest.WriteFile(t, filepath.Join(dir, "c.pem"), cat(leafOnly, root.CertPEM, inter.CertPEM, keyInter)),
		tlstest.WriteFile(t, filepath.Join(dir, "d.pem"), cat(leafInter, stranger.CertPEM, root.CertPEM, keyInter)),
	}
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		var fe strings.Builder
		var ports []int
		for _, f := range files {
			p := testenv.FreePort(t)
			ports = append(ports, p)
			fmt.Fprintf(&fe, "    bind 127.0.0.1:%d ssl crt %s\n", p, f)
		}
		cfg := fmt.Sprintf(`global
    ssl-skip-self-issued-ca
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend f
%s    http-request return status 200
`, fe.String())
		stop := testenv.StartSide(t, name, cfg)
		var out []string
		for i, p := range ports {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", testenv.LocalAddr(p),
				&tls.Config{ServerName: "site.test", RootCAs: root.CertPool()})
			if err != nil {
				t.Fatalf("%s %s: %v", name, files[i], err)
			}
			var cns []string
			for _, pc := range c.ConnectionState().PeerCertificates {
				cns = append(cns, pc.Subject.CommonName)
			}
			c.Close()
			out = append(out, fmt.Sprintf("%s: %q", filepath.Base(files[i]), cns))
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

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}
