package integration

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestCRLFileMatchesHAProxy: with "crl-file", a revoked client certificate
// is refused, a valid one passes, a client without one passes "verify
// optional", and an expired CRL refuses every certificate, in HAProxy 2.6
// and Gatehouse alike.
func TestCRLFileMatchesHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	srvCert := ca.Issue(t, "www.example.com")
	alice, bob := ca.IssueClient(t, "alice"), ca.IssueClient(t, "bob")
	bobLeaf, err := x509.ParseCertificate(bob.TLS.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeCRL := func(name string, this, next time.Time) string {
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number: big.NewInt(1), ThisUpdate: this, NextUpdate: next,
			RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: bobLeaf.SerialNumber, RevocationTime: this}},
		}, ca.Cert, ca.Key)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	now := time.Now()
	current := writeCRL("current.crl", now.Add(-time.Hour), now.Add(24*time.Hour))
	expired := writeCRL("expired.crl", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	cfg := func(p1, p2 int) string {
		return fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend current
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional crl-file %s
    http-request return status 200 content-type text/plain string ok
frontend expired
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional crl-file %s
    http-request return status 200 content-type text/plain string ok
`, p1, srvCert.PEMFile, ca.File, current, p2, srvCert.PEMFile, ca.File, expired)
	}
	h1, h2, g1, g2 := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartHAProxy(t, cfg(h1, h2))
	testenv.StartGatehouse(t, cfg(g1, g2))
	get := func(port int, certs ...*testenv.Cert) string {
		tc := ca.ClientTLS("www.example.com", certs...)
		c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
		resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/", port))
		if err != nil {
			return "refused"
		}
		resp.Body.Close()
		return fmt.Sprint(resp.StatusCode)
	}
	for _, c := range []struct {
		name  string
		ports [2]int // HAProxy, Gatehouse
		certs []*testenv.Cert
		want  string
	}{
		{"valid certificate", [2]int{h1, g1}, []*testenv.Cert{alice}, "200"},
		{"revoked certificate", [2]int{h1, g1}, []*testenv.Cert{bob}, "refused"},
		{"no certificate", [2]int{h1, g1}, nil, "200"},
		{"expired CRL", [2]int{h2, g2}, []*testenv.Cert{alice}, "refused"},
	} {
		h, g := get(c.ports[0], c.certs...), get(c.ports[1], c.certs...)
		if h != c.want {
			t.Errorf("%s: HAProxy %s, want %s (the test's expectation is wrong)", c.name, h, c.want)
		}
		if g != h {
			t.Errorf("%s: Gatehouse %s, HAProxy %s", c.name, g, h)
		}
	}
}
