// Package tlstest makes throw-away certificate authorities and certificates
// for tests across Gatehouse. Keys are ECDSA P-256, which is fast to make.
package tlstest

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
	"testing"
	"time"
)

// CA is a certificate authority that issues leaf certificates.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	parent  *CA // nil for a root
}

// NewCA makes a self-signed root CA valid from an hour ago for a day.
func NewCA(t testing.TB) *CA {
	t.Helper()
	return newCA(t, nil, "Gatehouse Test Root CA")
}

// NewIntermediate makes an intermediate CA signed by ca. Leaf files it
// writes carry the intermediate in their chain.
func (ca *CA) NewIntermediate(t testing.TB) *CA {
	t.Helper()
	return newCA(t, ca, "Gatehouse Test Intermediate CA")
}

func newCA(t testing.TB, parent *CA, cn string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatalf("tlstest: create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("tlstest: parse CA: %v", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: pemBlock("CERTIFICATE", der), parent: parent}
}

// Leaf describes a certificate to issue.
type Leaf struct {
	// Names are DNS names or IP addresses (put in IP SANs).
	Names []string
	// CommonName defaults to the first name.
	CommonName string
	// NotBefore and NotAfter default to an hour ago and a day from now.
	NotBefore, NotAfter time.Time
}

// Issue issues a server-and-client certificate for names (DNS names or IP
// addresses) and returns the PEM of the certificate (followed by the
// intermediates, if ca is one) and of its PKCS#8 private key.
func (ca *CA) Issue(t testing.TB, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	return ca.IssueLeaf(t, Leaf{Names: names})
}

// IssueLeaf is Issue with full control over the certificate.
func (ca *CA) IssueLeaf(t testing.TB, l Leaf) (certPEM, keyPEM []byte) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: l.CommonName},
		NotBefore:    l.NotBefore,
		NotAfter:     l.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	for _, n := range l.Names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if tmpl.Subject.CommonName == "" && len(l.Names) > 0 {
		tmpl.Subject.CommonName = l.Names[0]
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatalf("tlstest: issue %v: %v", l.Names, err)
	}
	certPEM = pemBlock("CERTIFICATE", der)
	for c := ca; c.parent != nil; c = c.parent {
		certPEM = append(certPEM, c.CertPEM...)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("tlstest: marshal key: %v", err)
	}
	return certPEM, pemBlock("PRIVATE KEY", pkcs8)
}

// WritePEMFile issues a certificate for names and writes it with its key to
// dir/name, in one file as HAProxy's "crt" expects. It returns the path.
func (ca *CA) WritePEMFile(t testing.TB, dir, name string, names ...string) string {
	t.Helper()
	c, k := ca.Issue(t, names...)
	return WriteFile(t, filepath.Join(dir, name), append(c, k...))
}

// TLSCertificate issues a certificate for names as a tls.Certificate.
func (ca *CA) TLSCertificate(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	c, k := ca.Issue(t, names...)
	cert, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatalf("tlstest: key pair: %v", err)
	}
	return cert
}

// CertPool is a pool holding the root of this CA.
func (ca *CA) CertPool() *x509.CertPool {
	root := ca
	for root.parent != nil {
		root = root.parent
	}
	p := x509.NewCertPool()
	p.AddCert(root.Cert)
	return p
}

// WriteCAFile writes the root certificate of this CA to dir/name, for a
// "ca-file", and returns the path.
func (ca *CA) WriteCAFile(t testing.TB, dir, name string) string {
	t.Helper()
	root := ca
	for root.parent != nil {
		root = root.parent
	}
	return WriteFile(t, filepath.Join(dir, name), root.CertPEM)
}

// WriteFile writes data to path (creating directories), replacing any file
// there, and returns path.
func WriteFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	return path
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("tlstest: key: %v", err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("tlstest: serial: %v", err)
	}
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
