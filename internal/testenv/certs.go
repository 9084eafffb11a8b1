package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a throwaway certificate authority (ECDSA P-256) for one test.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	// File is the CA certificate in PEM, for `ca-file`, `ssl_client_certificate`, ...
	File string

	dir    string
	serial atomic.Int64
}

// Cert is a leaf certificate issued by a CA, with its files on disk.
type Cert struct {
	TLS      tls.Certificate
	CertPEM  []byte
	KeyPEM   []byte
	CertFile string // certificate (PEM)
	KeyFile  string // private key (PEM, PKCS#8)
	// PEMFile holds certificate then key, the form HAProxy's `crt` wants.
	PEMFile string
}

// NewCA creates a CA whose files live in a temporary directory of t.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Gatehouse Test CA", Organization: []string{"gatehouse testenv"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{Cert: cert, Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), dir: t.TempDir()}
	ca.serial.Store(1)
	ca.File = filepath.Join(ca.dir, "ca.pem")
	writeFile(t, ca.File, ca.CertPEM)
	return ca
}

// Pool returns a cert pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Issue issues a server certificate for the given names (DNS names or IP
// addresses; the first one is also the common name).
func (ca *CA) Issue(t testing.TB, names ...string) *Cert {
	t.Helper()
	if len(names) == 0 {
		t.Fatal("CA.Issue: no names")
	}
	return ca.issue(t, names[0], names, x509.ExtKeyUsageServerAuth)
}

// IssueClient issues a client certificate with the given common name.
func (ca *CA) IssueClient(t testing.TB, commonName string) *Cert {
	t.Helper()
	return ca.issue(t, commonName, nil, x509.ExtKeyUsageClientAuth)
}

func (ca *CA) issue(t testing.TB, cn string, names []string, usage x509.ExtKeyUsage) *Cert {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"gatehouse testenv"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cert{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	c.TLS, err = tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(ca.dir, "cert-")
	if err != nil {
		t.Fatal(err)
	}
	c.CertFile = filepath.Join(dir, "cert.pem")
	c.KeyFile = filepath.Join(dir, "key.pem")
	c.PEMFile = filepath.Join(dir, "bundle.pem")
	writeFile(t, c.CertFile, c.CertPEM)
	writeFile(t, c.KeyFile, c.KeyPEM)
	writeFile(t, c.PEMFile, append(append([]byte{}, c.CertPEM...), c.KeyPEM...))
	return c
}

// ClientTLS returns a client configuration that trusts only this CA and sends
// serverName as SNI (and verifies the certificate against it). Pass client
// certificates to present them (mutual TLS).
func (ca *CA) ClientTLS(serverName string, clientCerts ...*Cert) *tls.Config {
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: serverName, MinVersion: tls.VersionTLS12}
	for _, c := range clientCerts {
		cfg.Certificates = append(cfg.Certificates, c.TLS)
	}
	return cfg
}

// ServerTLS returns a server configuration presenting cert.
func (c *Cert) ServerTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.TLS}, MinVersion: tls.VersionTLS12}
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
