package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// clientCertBy makes a client certificate for cn valid from nb to na,
// signed by parent (self-signed when parent is nil).
func clientCertBy(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, nb, na time.Time) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	signer, signKey := parent, parentKey
	if parent == nil {
		signer, signKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestIgnoreErrMatchesHAProxy: crt-ignore-err lets a client certificate
// with a listed error through, and ssl_c_verify / ssl_c_err / ssl_c_ca_err
// report the error to the rules, as in HAProxy 2.6; without the option the
// same certificate is refused by both.
func TestIgnoreErrMatchesHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	srvCert := ca.Issue(t, "www.example.com")
	echo := testenv.StartEchoServer(t)
	now := time.Now()
	certs := map[string]*tls.Certificate{
		"good":       nil,
		"expired":    nil,
		"unknown CA": nil,
	}
	good := clientCertBy(t, "good", ca.Cert, ca.Key, now.Add(-time.Hour), now.Add(time.Hour))
	expired := clientCertBy(t, "expired", ca.Cert, ca.Key, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	unknown := clientCertBy(t, "unknown", nil, nil, now.Add(-time.Hour), now.Add(time.Hour))
	certs["good"], certs["expired"], certs["unknown CA"] = &good, &expired, &unknown
	cfg := func(ign, strict int) string {
		return fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend ignoring
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional crt-ignore-err 10,18,20 ca-ignore-err all
    http-request deny deny_status 403 if { path_beg /strict } { ssl_c_used } !{ ssl_c_verify 0 }
    http-request set-header X-Verify %%[ssl_c_verify]/%%[ssl_c_err]/%%[ssl_c_ca_err]/%%[ssl_c_used]
    default_backend echo
frontend strict
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional
    default_backend echo
backend echo
    server e %s
`, ign, srvCert.PEMFile, ca.File, strict, srvCert.PEMFile, ca.File, echo.Addr)
	}
	hi, hs, gi, gs := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartHAProxy(t, cfg(hi, hs))
	testenv.StartGatehouse(t, cfg(gi, gs))
	get := func(port int, path string, cert *tls.Certificate) string {
		tc := ca.ClientTLS("www.example.com")
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
		resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d%s", port, path))
		if err != nil {
			return "refused"
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			return fmt.Sprint(resp.StatusCode)
		}
		e := testenv.DecodeEcho(t, resp)
		return "200 " + fmt.Sprint(e.Headers["X-Verify"])
	}
	for _, name := range []string{"good", "expired", "unknown CA"} {
		for _, c := range []struct {
			what  string
			ports [2]int
			path  string
		}{{"ignoring", [2]int{hi, gi}, "/"}, {"ignoring, rule on ssl_c_verify", [2]int{hi, gi}, "/strict"}, {"strict", [2]int{hs, gs}, "/"}} {
			h, g := get(c.ports[0], c.path, certs[name]), get(c.ports[1], c.path, certs[name])
			t.Logf("%s certificate, %s: HAProxy %s", name, c.what, h)
			if h != g {
				t.Errorf("%s certificate, %s: HAProxy %s, Gatehouse %s", name, c.what, h, g)
			}
		}
	}
}
