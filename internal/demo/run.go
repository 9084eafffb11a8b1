package demo

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options are the demo's ports; 0 for IdPPort picks a free one.
type Options struct {
	HTTPPort, TLSPort, StatsPort, IdPPort int
	Dir                                   string // where the edge's files go (must exist)
}

// Setup is everything "gatehouse demo" starts besides the edge itself: the
// embedded provider, the gateway, and the edge's files (configuration,
// TLS certificate, secrets, token signing key) in Dir.
type Setup struct {
	Params     EdgeParams
	IdP        *IdP
	Gateway    *Gateway
	ConfigFile string
	CertFile   string // the edge's certificate alone (curl --cacert)
	// Fingerprint is the SHA-256 of the edge's certificate as browsers
	// show it (AB:CD:...); SPKI the base64 SHA-256 of its public key, for
	// Chromium's --ignore-certificate-errors-spki-list and curl's
	// --pinnedpubkey.
	Fingerprint, SPKI string
}

// Start starts the provider and the gateway and writes the edge's files.
func Start(o Options) (*Setup, error) {
	if o.Dir == "" {
		return nil, errors.New("demo: no directory for the edge's files")
	}
	s := &Setup{}
	s.Params = EdgeParams{HTTPPort: o.HTTPPort, TLSPort: o.TLSPort, StatsPort: o.StatsPort, Dir: o.Dir}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	var err error
	if s.IdP, err = StartIdP(fmt.Sprintf("127.0.0.1:%d", o.IdPPort)); err != nil {
		return nil, fmt.Errorf("the provider: %w", err)
	}
	s.IdP.ClientID, s.IdP.ClientSecret = ClientID, randomToken()
	s.IdP.RedirectURIs = []string{s.Params.EdgeURL() + "/oauth2/callback"}
	s.IdP.PostLogoutURIs = []string{s.Params.EdgeURL() + "/signed-out"}
	s.Params.IdPIssuer = s.IdP.Issuer

	edgeCert, err := s.writeEdgeCert(o.Dir)
	if err != nil {
		return nil, err
	}
	// The gateway reads the edge's JWKS as istiod would: over TLS, trusting
	// the edge's certificate. It dials 127.0.0.1, which the certificate names.
	pool := x509.NewCertPool()
	pool.AddCert(edgeCert)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	auth := &RequestAuthentication{
		Issuer: s.Params.EdgeURL(), Audiences: []string{Host},
		JWKSURI: fmt.Sprintf("https://127.0.0.1:%d/.well-known/jwks.json", o.TLSPort),
		Client:  &http.Client{Transport: tr, Timeout: 10 * time.Second},
	}
	if s.Gateway, err = StartGateway("127.0.0.1:0", auth, Host); err != nil {
		return nil, fmt.Errorf("the mesh gateway: %w", err)
	}
	s.Params.GatewayAddr = s.Gateway.Addr()

	cookie := make([]byte, 32)
	_, _ = rand.Read(cookie)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	s.ConfigFile = filepath.Join(o.Dir, "gatehouse.cfg")
	for name, b := range map[string][]byte{
		"client-secret":    []byte(s.IdP.ClientSecret),
		"cookie-secret":    []byte(hex.EncodeToString(cookie)),
		"mesh-signing.pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		"mesh-ca.pem":      s.Gateway.CertPEM(),
		"gatehouse.cfg":    []byte(EdgeConfig(s.Params)),
	} {
		if err := os.WriteFile(filepath.Join(o.Dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// writeEdgeCert makes the edge's self-signed certificate for localhost,
// 127.0.0.1 and ::1 and writes edge.pem (certificate and key, the crt
// file) and edge.crt.
func (s *Setup) writeEdgeCert(dir string) (*x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"Gatehouse demo edge"}},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	s.CertFile = filepath.Join(dir, "edge.crt")
	if err := os.WriteFile(s.CertFile, certPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "edge.pem"), append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...), 0o600); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	hexs := strings.ToUpper(hex.EncodeToString(sum[:]))
	var parts []string
	for i := 0; i < len(hexs); i += 2 {
		parts = append(parts, hexs[i:i+2])
	}
	s.Fingerprint = strings.Join(parts, ":")
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	s.SPKI = base64.StdEncoding.EncodeToString(spki[:])
	return cert, nil
}

// Close stops the provider and the gateway.
func (s *Setup) Close() {
	if s.Gateway != nil {
		s.Gateway.Close()
	}
	if s.IdP != nil {
		s.IdP.Close()
	}
}

// Instructions is what the demo prints: what to open and what curl shows.
func (s *Setup) Instructions() string {
	p := s.Params
	edge := p.EdgeURL()
	ca := "--cacert " + s.CertFile
	return fmt.Sprintf(`Gatehouse demo: login at the edge, an identity the mesh verifies

  edge          %[1]s  (http://localhost:%[2]d redirects there)
                its TLS certificate was made for this run; SHA-256 fingerprint
                %[3]s
                (the browser warns about it: compare the fingerprint and accept)
  provider      %[4]s  users alice (group staff) and bob (not staff), no passwords
  mesh gateway  %[5]s  Istio-like: TLS for SNI %[6]s only; verifies the edge's token
                against %[1]s/.well-known/jwks.json and echoes the principal and claims
  stats         http://localhost:%[7]d/stats (Identity section at the bottom), /metrics
  files         %[8]s (edge configuration gatehouse.cfg)

In a browser:
  %[1]s/hello             sign in as alice: the gateway shows her verified principal and claims
  %[1]s/staff/            group staff only (checked at the edge): alice passes, bob gets 403
  %[1]s/oauth2/sign_out   signs out; then sign in as bob

With curl:
  curl -s %[9]s %[1]s/api
      401: an API call without a token
  TOKEN=$(curl -s '%[4]s/demo/token?user=alice')
      an access token from the embedded provider (user=bob for bob)
  curl -s %[9]s -H "Authorization: Bearer $TOKEN" %[1]s/api
      accepted: the edge verifies it, signs its own token, the gateway echoes principal and claims
  curl -s %[9]s -H "Authorization: Bearer $(curl -s '%[4]s/demo/token?user=bob')" %[1]s/staff/
      403: bob is not staff
  curl -s http://localhost:%[7]d/metrics | grep gatehouse_oidc_
Logs follow (HAProxy httplog lines; identity events between them). Ctrl-C stops.

`, edge, p.HTTPPort, s.Fingerprint, s.IdP.Issuer, s.Gateway.Addr(), Host, p.StatsPort, p.Dir, ca)
}
