package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestSkipSelfIssuedCA: with the option, the chain sent is the path from
// the leaf up without its self-signed root (whatever the file's order;
// certificates off the path are dropped); a self-signed leaf is still
// sent; without the option the file's chain is sent as it is.
func TestSkipSelfIssuedCA(t *testing.T) {
	dir := t.TempDir()
	root := tlstest.NewCA(t)
	inter := root.NewIntermediate(t)
	stranger := tlstest.NewCA(t)
	leafInter, keyInter := inter.Issue(t, "site.test") // leaf + intermediate
	leafRoot, keyRoot := root.Issue(t, "site.test")    // leaf only
	selfSigned := tlstest.NewCA(t)
	ssKey := selfSignedKeyPEM(t, selfSigned)

	subjects := func(chain [][]byte) []string {
		var out []string
		for _, der := range chain {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c.Subject.CommonName)
		}
		return out
	}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	tests := []struct {
		name string
		pem  []byte
		skip bool
		want []string
	}{
		{"leaf, intermediate, root", cat(leafInter, root.CertPEM, keyInter), true, []string{"site.test", "Gatehouse Test Intermediate CA"}},
		{"leaf, root (no intermediate)", cat(leafRoot, root.CertPEM, keyRoot), true, []string{"site.test"}},
		{"root before intermediate", cat(leafInter[:len(leafInter)-len(inter.CertPEM)], root.CertPEM, inter.CertPEM, keyInter), true, []string{"site.test", "Gatehouse Test Intermediate CA"}},
		{"unrelated CA dropped", cat(leafInter, stranger.CertPEM, root.CertPEM, keyInter), true, []string{"site.test", "Gatehouse Test Intermediate CA"}},
		{"self-signed leaf kept", cat(selfSigned.CertPEM, ssKey), true, []string{"Gatehouse Test Root CA"}},
		{"without the option", cat(leafInter, root.CertPEM, keyInter), false, []string{"site.test", "Gatehouse Test Intermediate CA", "Gatehouse Test Root CA"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tlstest.WriteFile(t, filepath.Join(dir, string(rune('a'+i))+".pem"), tt.pem)
			s, err := LoadStoreWithOptions([]string{file}, Options{SkipSelfIssuedCA: tt.skip})
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: "site.test"})
			if err != nil {
				t.Fatal(err)
			}
			if got := subjects(c.Certificate); !slices.Equal(got, tt.want) {
				t.Errorf("chain %q, want %q", got, tt.want)
			}
		})
	}
}

// selfSignedKeyPEM is the PKCS#8 PEM key of a test CA, to serve the CA
// certificate itself as a self-signed leaf.
func selfSignedKeyPEM(t *testing.T, ca *tlstest.CA) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
