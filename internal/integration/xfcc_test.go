package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// spiffeClient issues a client certificate from ca whose URI SAN is id and
// whose DNS SANs are dns.
func spiffeClient(t *testing.T, ca *testenv.CA, cn, id string, dns ...string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: []string{"Mesh"}},
		URIs: []*url.URL{u}, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// TestForwardedClientCert: "http-request set-forwarded-client-cert" hands
// the echo backend Envoy's X-Forwarded-Client-Cert for a verified SPIFFE
// client (Hash, Cert, Subject, URI, DNS), over HTTP/1.1 and HTTP/2; a
// client without a certificate, one whose certificate a bind lets through
// unverified (crt-ignore-err), and a frontend without the rule get none,
// whatever the client forged in the header (in any spelling).
func TestForwardedClientCert(t *testing.T) {
	ca := testenv.NewCA(t)
	other := testenv.NewCA(t)
	srvCert := ca.Issue(t, "www.example.com")
	const id = "spiffe://example.org/ns/prod/sa/billing"
	good, leaf := spiffeClient(t, ca, "billing", id, "billing.example.org")
	stranger, _ := spiffeClient(t, other, "mallory", "spiffe://example.org/ns/prod/sa/admin")
	echo := testenv.StartEchoServer(t)
	opt, ign, plain := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartGatehouse(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend optional
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional alpn h2,http/1.1
    http-request set-forwarded-client-cert cert subject uri dns
    default_backend echo
frontend ignoring
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional crt-ignore-err all ca-ignore-err all
    default_backend mesh
frontend norule
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional
    default_backend echo
backend mesh
    http-request set-forwarded-client-cert
    server e %s
backend echo
    server e %s
`, opt, srvCert.PEMFile, ca.File, ign, srvCert.PEMFile, ca.File, plain, srvCert.PEMFile, ca.File, echo.Addr, echo.Addr))

	h2 := false // the next request on HTTP/2 (the optional frontend offers h2)
	get := func(port int, cert *tls.Certificate, forged map[string]string) []string {
		t.Helper()
		tc := ca.ClientTLS("www.example.com")
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		tr := &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true, ForceAttemptHTTP2: h2}
		if !h2 {
			tc.NextProtos = []string{"http/1.1"}
		}
		c := &http.Client{Timeout: 20 * time.Second, Transport: tr}
		req, _ := http.NewRequest("GET", fmt.Sprintf("https://127.0.0.1:%d/", port), nil)
		for k, v := range forged {
			req.Header[k] = []string{v} // as written: no canonical form
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		if resp.StatusCode != 200 || (resp.ProtoMajor == 2) != h2 {
			resp.Body.Close()
			t.Fatalf("port %d: status %d over %s (h2 wanted: %v)", port, resp.StatusCode, resp.Proto, h2)
		}
		e := testenv.DecodeEcho(t, resp)
		var got []string
		for k, vs := range e.Headers {
			if strings.EqualFold(strings.NewReplacer("_", "-", ".", "-").Replace(k), "X-Forwarded-Client-Cert") {
				for _, v := range vs {
					got = append(got, k+": "+v)
				}
			}
		}
		return got
	}
	forged := map[string]string{"X-Forwarded-Client-Cert": "Hash=00;URI=" + "spiffe://example.org/ns/prod/sa/admin",
		"x_forwarded_client_cert": "URI=spiffe://forged"}

	sum := sha256.Sum256(leaf.Raw)
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}))
	encoded := strings.NewReplacer("\n", "%0A", " ", "%20", "+", "%2B", "/", "%2F", "=", "%3D").Replace(pemText)
	if back, err := url.PathUnescape(encoded); err != nil || back != pemText {
		t.Fatalf("the expected encoding does not decode to the PEM: %v", err)
	}
	want := "X-Forwarded-Client-Cert: Hash=" + hex.EncodeToString(sum[:]) + `;Cert="` + encoded +
		`";Subject="CN=billing,O=Mesh";URI=` + id + ";DNS=billing.example.org"
	for _, f := range []map[string]string{nil, forged} {
		for _, h2 = range []bool{false, true} {
			if got := get(opt, &good, f); len(got) != 1 || got[0] != want {
				t.Errorf("SPIFFE client (forged %v, h2 %v): got %q\nwant %q", f != nil, h2, got, want)
			}
			if got := get(opt, nil, f); len(got) != 0 {
				t.Errorf("no certificate (forged %v, h2 %v): got %q", f != nil, h2, got)
			}
		}
		h2 = false
		if got := get(plain, &good, f); len(got) != 0 {
			t.Errorf("frontend without the rule (forged %v): got %q", f != nil, got)
		}
		// A backend's rule: the frontend routing there strips first.
		wantHash := "X-Forwarded-Client-Cert: Hash=" + hex.EncodeToString(sum[:])
		if got := get(ign, &good, f); len(got) != 1 || got[0] != wantHash {
			t.Errorf("verified on an ignore-err bind (forged %v): got %q, want %q", f != nil, got, wantHash)
		}
		if got := get(ign, &stranger, f); len(got) != 0 {
			t.Errorf("unverified certificate let through by crt-ignore-err (forged %v): got %q", f != nil, got)
		}
	}
}
