package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// xfccCert makes a CA and a client certificate it signed with the given
// subject and SANs.
func xfccCert(t *testing.T, subj pkix.Name, uris []string, dns []string) (leaf, ca *x509.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "XFCC CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: subj, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, u := range uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ = x509.ParseCertificate(der)
	return leaf, ca
}

// xfccPairs splits an element into its key=value pairs, honouring quotes.
func xfccPairs(t *testing.T, el string) [][2]string {
	t.Helper()
	var out [][2]string
	for el != "" {
		k, rest, ok := strings.Cut(el, "=")
		if !ok {
			t.Fatalf("no '=' in %q", el)
		}
		var v strings.Builder
		if strings.HasPrefix(rest, `"`) {
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' {
					i++
				}
				v.WriteByte(rest[i])
			}
			if i >= len(rest) {
				t.Fatalf("unterminated quote in %q", el)
			}
			rest = rest[i+1:]
		} else {
			end := strings.IndexAny(rest, ";,")
			if end < 0 {
				end = len(rest)
			}
			v.WriteString(rest[:end])
			rest = rest[end:]
		}
		out = append(out, [2]string{k, v.String()})
		if rest != "" && rest[0] != ';' {
			t.Fatalf("%q follows a value in %q", rest, el)
		}
		el = strings.TrimPrefix(rest, ";")
	}
	return out
}

// TestXFCCFormat: the element is Envoy's: Hash first (hex SHA-256 of the
// DER), then Cert, Chain (URL-encoded PEM, quoted), Subject (RFC 2253,
// quoted), one URI= and DNS= per SAN; a SAN holding separators is quoted so
// it cannot add a field.
func TestXFCCFormat(t *testing.T) {
	leaf, ca := xfccCert(t, pkix.Name{CommonName: `alice, "the" client`, Organization: []string{"Example"}},
		[]string{"spiffe://example.org/ns/default/sa/alice", "spiffe://example.org/x;DNS=evil.example"},
		[]string{"alice.example.org", "www.example.org"})
	sum := sha256.Sum256(leaf.Raw)
	hash := hex.EncodeToString(sum[:])

	if got := XFCC([]*x509.Certificate{leaf, ca}, 0); got != "Hash="+hash {
		t.Errorf("no fields: %q", got)
	}
	got := XFCC([]*x509.Certificate{leaf, ca}, XFCCDNS|XFCCURI|XFCCSubject|XFCCChain|XFCCCert)
	pairs := xfccPairs(t, got)
	var keys []string
	for _, p := range pairs {
		keys = append(keys, p[0])
	}
	if k := strings.Join(keys, ","); k != "Hash,Cert,Chain,Subject,URI,URI,DNS,DNS" {
		t.Fatalf("keys %s in %q", k, got)
	}
	pemOf := func(c *x509.Certificate) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	want := [][2]string{
		{"Hash", hash},
		{"Cert", pemOf(leaf)},
		{"Chain", pemOf(leaf) + pemOf(ca)},
		{"Subject", `CN=alice, "the" client,O=Example`}, // unquoted by xfccPairs
		{"URI", "spiffe://example.org/ns/default/sa/alice"},
		{"URI", "spiffe://example.org/x;DNS=evil.example"},
		{"DNS", "alice.example.org"},
		{"DNS", "www.example.org"},
	}
	for i, p := range pairs {
		v := p[1]
		if p[0] == "Cert" || p[0] == "Chain" {
			if strings.ContainsAny(v, "\n /+=") {
				t.Errorf("%s is not URL-encoded: %q", p[0], v)
			}
			var err error
			if v, err = url.PathUnescape(v); err != nil {
				t.Errorf("%s: %v", p[0], err)
			}
		}
		if v != want[i][1] {
			t.Errorf("%s = %q, want %q", p[0], v, want[i][1])
		}
	}
	// The raw forms, as Envoy writes them.
	for _, frag := range []string{`;Cert="-----BEGIN%20CERTIFICATE-----%0A`, `-----END%20CERTIFICATE-----%0A";Chain="`,
		`;Subject="CN=alice\, \"the\" client,O=Example";URI=spiffe://example.org/ns/default/sa/alice;URI="spiffe://example.org/x;DNS=evil.example";DNS=alice.example.org;DNS=www.example.org`} {
		if !strings.Contains(got, frag) {
			t.Errorf("%q lacks %q", got, frag)
		}
	}

	bare, _ := xfccCert(t, pkix.Name{CommonName: "bob"}, nil, nil)
	sum = sha256.Sum256(bare.Raw)
	if got := XFCC([]*x509.Certificate{bare}, XFCCURI|XFCCDNS|XFCCSubject); got != "Hash="+hex.EncodeToString(sum[:])+`;Subject="CN=bob";URI=` {
		t.Errorf("no SANs: %q", got)
	}
	if got := XFCC(nil, XFCCCert); got != "" {
		t.Errorf("no certificate: %q", got)
	}
}

// TestStripXFCC: every spelling a server could fold into the header goes.
func TestStripXFCC(t *testing.T) {
	h := httpmsg.Headers{{Name: "X-Forwarded-Client-Cert", Value: "a"}, {Name: "Host", Value: "h"},
		{Name: "x_forwarded_client_cert", Value: "b"}, {Name: "X.Forwarded.Client.Cert", Value: "c"},
		{Name: "X-Forwarded-Client-Certs", Value: "d"}}
	StripXFCC(&h)
	if len(h) != 2 || h[0].Name != "Host" || h[1].Name != "X-Forwarded-Client-Certs" {
		t.Errorf("left %v", h)
	}
}
