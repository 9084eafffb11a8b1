package acme

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// placeholderOrg marks the self-signed certificate served until the first
// issuance, so every replica knows it still has to be ordered.
const placeholderOrg = "Gatehouse ACME placeholder"

// newKey makes a private key of the given type ("RSA" or "ECDSA").
func newKey(keyType string, bits int, curve string) (crypto.Signer, error) {
	if keyType == "RSA" {
		if bits == 0 {
			bits = 2048
		}
		return rsa.GenerateKey(rand.Reader, bits)
	}
	c := elliptic.P384()
	if curve == "P-256" {
		c = elliptic.P256()
	}
	return ecdsa.GenerateKey(c, rand.Reader)
}

func keyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeAtomic writes data to path through a temporary file in the same
// directory and a rename, so a reader (this process's certificate
// watcher, another replica) sees the old file or the new one, never half.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// createExclusive writes data to path unless it exists (then it returns
// false): two replicas starting at once write one placeholder.
func createExclusive(path string, data []byte, perm os.FileMode) (bool, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// loadOrCreateAccountKey reads the account key, or generates and stores
// one (mode 0600) when the file does not exist.
func loadOrCreateAccountKey(path, keyType string, bits int, curve string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := newKey(keyType, bits, curve)
		if err != nil {
			return nil, err
		}
		p, err := keyPEM(k)
		if err != nil {
			return nil, err
		}
		if ok, err := createExclusive(path, p, 0o600); err != nil {
			return nil, fmt.Errorf("account key '%s': %w", path, err)
		} else if ok {
			return k, nil
		}
		// Another replica wrote it first: use theirs.
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("account key '%s': %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("account key '%s': %w", path, err)
	}
	k, err := parseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("account key '%s': %w", path, err)
	}
	return k, nil
}

func parseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no private key found")
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, errors.New("the key is neither RSA nor ECDSA")
	}
}

// placeholder is a self-signed certificate and key for names, valid from
// now for a year, marked with placeholderOrg.
func placeholder(names []string, keyType string, bits int, curve string) ([]byte, error) {
	k, err := newKey(keyType, bits, curve)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{placeholderOrg}},
		DNSNames:              names,
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if keyType == "RSA" {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		return nil, err
	}
	kp, err := keyPEM(k)
	if err != nil {
		return nil, err
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), kp...), nil
}

// stored is what the certificate file holds now.
type stored struct {
	leaf        *x509.Certificate // nil: no usable certificate
	placeholder bool
}

// readStored reads a certificate file; a missing or unreadable one is
// reported as an empty stored, which orders a new certificate.
func readStored(path string) (stored, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return stored{}, err
	}
	c, err := tls.X509KeyPair(data, data)
	if err != nil {
		return stored{}, err
	}
	leaf := c.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return stored{}, err
		}
	}
	isPH := slices.Contains(leaf.Subject.Organization, placeholderOrg) && leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil
	return stored{leaf: leaf, placeholder: isPH}, nil
}

// covers reports whether leaf names every domain (a changed domains list
// orders a new certificate).
func covers(leaf *x509.Certificate, domains []string) bool {
	for _, d := range domains {
		if !slices.Contains(leaf.DNSNames, d) {
			return false
		}
	}
	return true
}
