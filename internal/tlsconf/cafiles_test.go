package tlsconf

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestCAVerifyFileAndNoCANames: the certificate request names the subjects
// of ca-file only (none with no-ca-names, none with ca-verify-file alone),
// while ca-file and ca-verify-file together verify the client's chain as
// strictly as ca-file does: unknown CA, expired certificate and a revoked
// one (crl-file) are refused; the fetches see a verified certificate.
func TestCAVerifyFileAndNoCANames(t *testing.T) {
	dir := t.TempDir()
	root := tlstest.NewCA(t)
	inter := root.NewIntermediate(t)
	store, err := LoadStore([]string{root.WritePEMFile(t, dir, "site.pem", "site.test")})
	if err != nil {
		t.Fatal(err)
	}
	rootFile := root.WriteCAFile(t, dir, "root.pem")
	interFile := tlstest.WriteFile(t, filepath.Join(dir, "inter.pem"), inter.CertPEM)

	leaf := func(ca *tlstest.CA, l tlstest.Leaf) tls.Certificate {
		c, k := ca.IssueLeaf(t, l)
		cert, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	good := leaf(inter, tlstest.Leaf{Names: []string{"alice"}})
	expired := leaf(inter, tlstest.Leaf{Names: []string{"bob"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	stranger := leaf(tlstest.NewCA(t).NewIntermediate(t), tlstest.Leaf{Names: []string{"eve"}})
	revoked := leaf(inter, tlstest.Leaf{Names: []string{"mallory"}})
	revokedCert, _ := x509.ParseCertificate(revoked.Certificate[0])
	crlFile := filepath.Join(dir, "crl.pem")
	var crls []byte
	for _, ca := range []*tlstest.CA{root, inter} {
		tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour)}
		if ca == inter {
			tmpl.RevokedCertificateEntries = []x509.RevocationListEntry{{SerialNumber: revokedCert.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)}}
		}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
		if err != nil {
			t.Fatal(err)
		}
		crls = append(crls, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})...)
	}
	tlstest.WriteFile(t, crlFile, crls)

	interName := inter.Cert.RawSubject
	tests := []struct {
		name      string
		bind      config.Bind
		wantNames [][]byte
	}{
		{"ca-file names its CAs", config.Bind{CAFile: interFile}, [][]byte{interName}},
		{"ca-verify-file alone names none", config.Bind{CAVerifyFile: rootFile}, nil},
		{"ca-file named, ca-verify-file not", config.Bind{CAFile: interFile, CAVerifyFile: rootFile}, [][]byte{interName}},
		{"no-ca-names", config.Bind{CAFile: rootFile, NoCANames: true}, nil},
		{"no-ca-names and ca-verify-file", config.Bind{CAFile: interFile, CAVerifyFile: rootFile, NoCANames: true}, nil},
		{"crl-file with ca-verify-file", config.Bind{CAFile: interFile, CAVerifyFile: rootFile, TLS: config.TLSOptions{CRLFile: crlFile}}, [][]byte{interName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.bind
			b.SSL, b.Verify = true, "required"
			sc, err := ServerConfig(store, &b)
			if err != nil {
				t.Fatal(err)
			}
			v, err := NewClientVerifier(&b)
			if err != nil {
				t.Fatal(err)
			}
			try := func(cert *tls.Certificate) (result, [][]byte) {
				var names [][]byte
				cc := &tls.Config{ServerName: "site.test", RootCAs: root.CertPool(),
					GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
						names = cri.AcceptableCAs
						if cert == nil {
							return &tls.Certificate{}, nil
						}
						return cert, nil
					}}
				return handshake(t, sc, cc), names
			}
			r, names := try(&good)
			if r.serverErr != nil || r.clientErr != nil {
				t.Fatalf("trusted certificate: server %v, client %v", r.serverErr, r.clientErr)
			}
			if !slices.EqualFunc(names, tt.wantNames, bytes.Equal) {
				t.Errorf("request names %d CAs %q, want %q", len(names), names, tt.wantNames)
			}
			if res := v.Result(&r.server); !res.Verified || res.Verify != 0 {
				t.Errorf("fetches see %+v, want a verified certificate", res)
			}
			refused := map[string]*tls.Certificate{"no certificate": nil, "unknown CA": &stranger, "expired": &expired}
			if b.TLS.CRLFile != "" {
				refused["revoked"] = &revoked
			}
			for what, cert := range refused {
				if r, _ := try(cert); r.serverErr == nil {
					t.Errorf("%s: accepted", what)
				}
			}
		})
	}
	// Without a CA file of either kind, verify is refused, as in HAProxy.
	if _, err := ServerConfig(store, &config.Bind{SSL: true, Verify: "optional", NoCANames: true}); err == nil {
		t.Error("verify without ca-file or ca-verify-file: accepted")
	}
}
