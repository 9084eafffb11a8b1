package tlsconf

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// rsaStore is a store with one self-signed RSA certificate.
func rsaStore(t *testing.T) *Store {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rsa.test"}, DNSNames: []string{"rsa.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "rsa.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	b = append(b, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadStore([]string{f})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// handshakeSuite runs a TLS handshake between server and client in memory and
// returns the suite, or the client's error.
func handshakeSuite(t *testing.T, server, client *tls.Config) (uint16, error) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	a.SetDeadline(time.Now().Add(20 * time.Second))
	b.SetDeadline(time.Now().Add(20 * time.Second))
	srv := tls.Server(a, server)
	go srv.Handshake()
	c := tls.Client(b, client)
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	return c.ConnectionState().CipherSuite, nil
}

// TestSuitePickerRSA: the server's order decides among the suites both
// sides have, skipping the ones the handshake cannot use: ECDHE without a
// common curve, ECDSA suites with an RSA certificate.
func TestSuitePickerRSA(t *testing.T) {
	store := rsaStore(t)
	build := func(ciphers string, clientFirst bool) *tls.Config {
		c, err := ServerConfig(store, &config.Bind{Addr: ":443", TLS: config.TLSOptions{Ciphers: ciphers, PreferClientCiphers: clientFirst}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const (
		rsaCBC   = tls.TLS_RSA_WITH_AES_128_CBC_SHA
		ecdheGCM = tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
		ecdsaGCM = tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
	)
	for _, c := range []struct {
		name        string
		ciphers     string
		clientFirst bool
		offer       []uint16
		curves      []tls.CurveID
		want        uint16
	}{
		{"server order: kRSA first", "AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384", false, []uint16{ecdheGCM, rsaCBC}, nil, rsaCBC},
		{"server order: ECDHE first", "ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA", false, []uint16{rsaCBC, ecdheGCM}, nil, ecdheGCM},
		{"no common curve skips ECDHE", "ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA", false, []uint16{rsaCBC, ecdheGCM}, []tls.CurveID{tls.X25519}, rsaCBC},
		{"ECDSA suite skipped with an RSA certificate", "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384", false, []uint16{ecdsaGCM, ecdheGCM}, nil, ecdheGCM},
		{"client order", "AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384", true, []uint16{ecdheGCM, rsaCBC}, nil, ecdheGCM},
	} {
		srv := build(c.ciphers, c.clientFirst)
		if c.curves != nil {
			srv.CurvePreferences = []tls.CurveID{tls.CurveP521}
			srv.GetConfigForClient = newSuitePicker(srv, store, false, c.clientFirst).configFor
		}
		got, err := handshakeSuite(t, srv, &tls.Config{InsecureSkipVerify: true, ServerName: "rsa.test", MaxVersion: tls.VersionTLS12,
			CipherSuites: c.offer, CurvePreferences: c.curves})
		if err != nil || got != c.want {
			t.Errorf("%s: got %s (%v), want %s", c.name, tls.CipherSuiteName(got), err, tls.CipherSuiteName(c.want))
		}
	}
}
