package identity

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestFromCertificate: the subject comes from the field asked for (the
// SPIFFE ID by default, never another URI), nil when it is absent; the
// claims are the certificate's and read through Claim as oidc_claim does;
// a certificate past its validity (on a connection that outlived it) is
// no identity.
func TestFromCertificate(t *testing.T) {
	leaf, _ := xfccCert(t, pkix.Name{CommonName: "billing"},
		[]string{"https://billing.example.org/x", "spiffe://example.org/ns/prod/sa/billing"}, []string{"billing.example.org"})
	onlyHTTPS, _ := xfccCert(t, pkix.Name{}, []string{"https://a.example.org/"}, nil)
	for _, tc := range []struct {
		c     *x509.Certificate
		field string
		sub   string // "" for no identity
	}{
		{leaf, "", "spiffe://example.org/ns/prod/sa/billing"},
		{leaf, "spiffe", "spiffe://example.org/ns/prod/sa/billing"},
		{leaf, "uri", "https://billing.example.org/x"},
		{leaf, "dns", "dns:billing.example.org"},
		{leaf, "cn", "cn:billing"},
		{leaf, "email", ""},
		{leaf, "nonsense", ""},
		{onlyHTTPS, "spiffe", ""},
		{onlyHTTPS, "cn", ""},
	} {
		id := FromCertificate([]*x509.Certificate{tc.c}, tc.field, time.Now())
		switch {
		case tc.sub == "" && id != nil:
			t.Errorf("field %q: identity %q, want none", tc.field, id.Subject)
		case tc.sub != "" && (id == nil || Subject(id) != tc.sub):
			t.Errorf("field %q: identity %+v, want sub %q", tc.field, id, tc.sub)
		}
	}
	if FromCertificate(nil, "", time.Now()) != nil {
		t.Error("identity without a certificate")
	}
	// xfccCert's certificates are valid from an hour ago to an hour ahead.
	for _, at := range []time.Time{time.Now().Add(-2 * time.Hour), time.Now().Add(2 * time.Hour)} {
		if id := FromCertificate([]*x509.Certificate{leaf}, "", at); id != nil {
			t.Errorf("certificate not valid at %v: identity %q", at, id.Subject)
		}
	}
	id := FromCertificate([]*x509.Certificate{leaf}, "", time.Now())
	if !slices.Equal(id.Claim("cert_uri"), []string{"https://billing.example.org/x", "spiffe://example.org/ns/prod/sa/billing"}) ||
		!slices.Equal(id.Claim("cert_dns"), []string{"billing.example.org"}) || len(id.Claim("cert_email")) != 0 ||
		!slices.Equal(id.Claim("cert_issuer"), []string{"CN=XFCC CA"}) || !slices.Equal(id.Claim("cert_serial"), []string{"02"}) {
		t.Errorf("claims %v", id.flat)
	}
	if !id.Expiry.Equal(leaf.NotAfter) || id.Issuer != "CN=XFCC CA" {
		t.Errorf("expiry %v issuer %q", id.Expiry, id.Issuer)
	}
}

// TestMintCertIdentity: a certificate identity's token has its sub as is,
// idp the issuer DN, the copied certificate claims, and expires with the
// certificate when that comes first.
func TestMintCertIdentity(t *testing.T) {
	dir := t.TempDir()
	writeECKey(t, filepath.Join(dir, "k.pem"))
	m, err := NewMinter(&config.IdentityToken{Name: "mesh", Issuer: "https://edge.example.com", Audiences: []string{"app"},
		SigningKeys: []config.SecretRef{{Kind: "file", Ref: filepath.Join(dir, "k.pem")}}, Claims: []string{"cert_serial", "cert_dns"}, Lifetime: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := xfccCert(t, pkix.Name{CommonName: "billing"}, []string{"spiffe://example.org/sa/billing"}, []string{"b.example.org"})
	id := FromCertificate([]*x509.Certificate{leaf}, "", time.Now())
	v, err := m.HeaderValue(id)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(v[len("Bearer "):], []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	_ = json.Unmarshal(m.JWKS(), &set)
	var c struct {
		jwt.Claims
		IDP    string   `json:"idp"`
		Serial string   `json:"cert_serial"`
		DNS    []string `json:"cert_dns"`
	}
	if err := tok.Claims(set.Keys[0].Key, &c); err != nil {
		t.Fatal(err)
	}
	if c.Subject != "spiffe://example.org/sa/billing" || c.IDP != "CN=XFCC CA" || c.Serial != "02" || !slices.Equal(c.DNS, []string{"b.example.org"}) {
		t.Errorf("claims %+v", c)
	}
	if c.Expiry.Time().Unix() != leaf.NotAfter.Unix() {
		t.Errorf("exp %v, want the certificate's %v", c.Expiry.Time(), leaf.NotAfter)
	}
}

// TestCertIdentities: a certificate's requests share one identity (and so
// one minted token), within the bound, never past the certificate's
// validity; concurrent use is safe (run with -race).
func TestCertIdentities(t *testing.T) {
	a, _ := xfccCert(t, pkix.Name{CommonName: "a"}, []string{"spiffe://example.org/a"}, nil)
	b, _ := xfccCert(t, pkix.Name{CommonName: "b"}, []string{"spiffe://example.org/b"}, nil)
	none, _ := xfccCert(t, pkix.Name{CommonName: "n"}, nil, nil)
	c := NewCertIdentities("spiffe", 2)
	now := time.Now()
	ida := c.Get([]*x509.Certificate{a}, now)
	if ida == nil || ida != c.Get([]*x509.Certificate{a}, now) || Subject(ida) != "spiffe://example.org/a" {
		t.Fatalf("same certificate, not the same identity: %+v", ida)
	}
	if idb := c.Get([]*x509.Certificate{b}, now); idb == nil || idb == ida || Subject(idb) != "spiffe://example.org/b" {
		t.Errorf("another certificate: %+v", idb)
	}
	if c.Get([]*x509.Certificate{none}, now) != nil || c.Get([]*x509.Certificate{none}, now) != nil {
		t.Error("a certificate without a SPIFFE ID got an identity")
	}
	if len(c.m) > 2 {
		t.Errorf("%d entries, bound 2", len(c.m))
	}
	if id := c.Get([]*x509.Certificate{a}, now.Add(2*time.Hour)); id != nil {
		t.Errorf("expired certificate: identity %q", id.Subject)
	}

	dir := t.TempDir()
	writeECKey(t, filepath.Join(dir, "k.pem"))
	m, err := NewMinter(&config.IdentityToken{Name: "mesh", Issuer: "https://edge", Audiences: []string{"app"},
		SigningKeys: []config.SecretRef{{Kind: "file", Ref: filepath.Join(dir, "k.pem")}}})
	if err != nil {
		t.Fatal(err)
	}
	c = NewCertIdentities("spiffe", 16)
	done := make(chan string, 8)
	for range 8 {
		go func() {
			v, err := m.HeaderValue(c.Get([]*x509.Certificate{a}, time.Now()))
			if err != nil {
				v = err.Error()
			}
			done <- v
		}()
	}
	deadline := time.After(30 * time.Second)
	for range 8 {
		select {
		case v := <-done:
			if len(v) < 10 || v[:7] != "Bearer " {
				t.Fatalf("mint: %q", v)
			}
		case <-deadline:
			t.Fatal("minting did not finish in 30s")
		}
	}
	// Concurrent first requests may each mint; later ones reuse the token.
	v1, _ := m.HeaderValue(c.Get([]*x509.Certificate{a}, time.Now()))
	v2, _ := m.HeaderValue(c.Get([]*x509.Certificate{a}, time.Now()))
	if v1 != v2 {
		t.Errorf("token not reused for the same certificate")
	}
}
