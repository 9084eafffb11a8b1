package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/config"
)

func writeECKey(t testing.TB, path string) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeRSAKey(t testing.TB, path string) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	_ = os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600)
}

func TestMinter(t *testing.T) {
	dir := t.TempDir()
	writeECKey(t, filepath.Join(dir, "a.pem"))
	next := filepath.Join(t.TempDir(), "next.pem")
	writeRSAKey(t, next)
	c := &config.IdentityToken{Name: "mesh", Issuer: "https://edge.example.com", Audiences: []string{"app.example.com"},
		SigningKeys: []config.SecretRef{{Kind: "file", Ref: dir}}, PublishKeys: []config.SecretRef{{Kind: "file", Ref: next}},
		Lifetime: 5 * time.Minute, Claims: []string{"email", "groups", "absent"}}
	m, err := NewMinter(c)
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := NewMinter(c)
	if string(m.JWKS()) != string(m2.JWKS()) {
		t.Error("kids are not stable across loads")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(m.JWKS(), &set); err != nil || len(set.Keys) != 2 {
		t.Fatalf("jwks: %v %s", err, m.JWKS())
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.KeyID == "" || k.Use != "sig" {
			t.Errorf("published key: %+v", k)
		}
	}
	id := newIdentity("corp", "https://idp", "alice", time.Now().Add(time.Hour), map[string]json.RawMessage{
		"email": json.RawMessage(`"alice@example.com"`), "groups": json.RawMessage(`["staff","dev"]`), "secret": json.RawMessage(`"x"`)})
	v, err := m.HeaderValue(id)
	if err != nil {
		t.Fatal(err)
	}
	if v2, _ := m.HeaderValue(id); v2 != v {
		t.Error("token not reused for the same identity")
	}
	tok, err := jwt.ParseSigned(v[len("Bearer "):], []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS", tok.Headers[0].KeyID)
	}
	var std jwt.Claims
	var extra struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
		Secret string   `json:"secret"`
	}
	if err := tok.Claims(keys[0].Key, &std, &extra); err != nil {
		t.Fatal(err)
	}
	if err := std.Validate(jwt.Expected{Issuer: "https://edge.example.com", AnyAudience: []string{"app.example.com"}, Subject: "corp/alice"}); err != nil {
		t.Error(err)
	}
	if std.ID == "" || std.IssuedAt == nil || std.Expiry.Time().Sub(std.IssuedAt.Time()) != 5*time.Minute {
		t.Errorf("jti/iat/exp: %+v", std)
	}
	if extra.Email != "alice@example.com" || len(extra.Groups) != 2 || extra.Secret != "" {
		t.Errorf("claims: %+v", extra)
	}
}

func TestMinterConfigErrors(t *testing.T) {
	dir := t.TempDir()
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallPath := filepath.Join(dir, "small.pem")
	_ = os.WriteFile(smallPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)}), 0o600)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(p384)
	p384Path := filepath.Join(dir, "p384.pem")
	_ = os.WriteFile(p384Path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	empty := t.TempDir()
	tests := []struct {
		name string
		ref  string
	}{
		{"missing file", filepath.Join(dir, "nope.pem")},
		{"small RSA", smallPath},
		{"P-384", p384Path},
		{"empty dir", empty},
	}
	for _, tc := range tests {
		_, err := NewMinter(&config.IdentityToken{Name: "m", Issuer: "i", Audiences: []string{"a"}, SigningKeys: []config.SecretRef{{Kind: "file", Ref: tc.ref}}})
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if _, err := ParseSecretRef("hunter2", config.Pos{}); err == nil {
		t.Error("inline secret accepted")
	}
}

// Two providers each with their own "alice": the edge token's principal
// (iss/sub, what Istio's requestPrincipals matches) must tell them apart,
// and a claim must name the upstream issuer.
func TestPrincipalsPerProvider(t *testing.T) {
	dir := t.TempDir()
	writeECKey(t, filepath.Join(dir, "k.pem"))
	m, err := NewMinter(&config.IdentityToken{Name: "mesh", Issuer: "https://edge.example.com", Audiences: []string{"app"},
		SigningKeys: []config.SecretRef{{Kind: "file", Ref: filepath.Join(dir, "k.pem")}}, Claims: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	type minted struct {
		jwt.Claims
		IDP   string `json:"idp"`
		Email string `json:"email"`
	}
	mint := func(id *Identity) minted {
		t.Helper()
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
		var c minted
		if err := tok.Claims(set.Keys[0].Key, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	corpOP, partnerOP := newFakeOP(t), newFakeOP(t)
	corp := newTestProvider(t, corpOP, nil)
	partner := newTestProvider(t, partnerOP, func(c *config.OIDC) { c.Name = "partner" })
	principal := func(c minted) string { return c.Issuer + "/" + c.Subject }

	// Sessions: both providers log in an "alice".
	var got []minted
	for _, p := range []*Provider{corp, partner} {
		id, rep := p.Authenticate(browserReq("/", login(t, p, "/")...), true)
		if id == nil {
			t.Fatalf("%s: session refused: %+v", p.name, rep)
		}
		got = append(got, mint(id))
	}
	if got[0].Subject != "corp/alice" || got[1].Subject != "partner/alice" {
		t.Errorf("session subjects %q and %q, want corp/alice and partner/alice", got[0].Subject, got[1].Subject)
	}
	if principal(got[0]) == principal(got[1]) {
		t.Errorf("two providers' alice share the principal %s", principal(got[0]))
	}
	if got[0].IDP != corpOP.issuer() || got[1].IDP != partnerOP.issuer() {
		t.Errorf("idp claims %q, %q; want %q, %q", got[0].IDP, got[1].IDP, corpOP.issuer(), partnerOP.issuer())
	}

	// Bearer tokens: the same rule.
	for _, tc := range []struct {
		p  *Provider
		op *fakeOP
	}{{corp, corpOP}, {partner, partnerOP}} {
		id, rep := tc.p.Authenticate(apiReq(tc.op.accessJWT(nil)), true)
		if id == nil {
			t.Fatalf("%s: bearer refused: %+v", tc.p.name, rep)
		}
		c := mint(id)
		if c.Subject != tc.p.name+"/svc" || c.IDP != tc.op.issuer() || c.Email != "svc@example.com" {
			t.Errorf("%s bearer: sub %q idp %q email %q", tc.p.name, c.Subject, c.IDP, c.Email)
		}
	}

	// A copied claim cannot stand in for idp, and an identity without a
	// provider is never vouched for.
	id := newIdentity("corp", "https://idp", "bob", time.Now().Add(time.Hour), map[string]json.RawMessage{"idp": json.RawMessage(`"https://evil"`)})
	m.claims = append(m.claims, "idp")
	if c := mint(id); c.IDP != "https://idp" {
		t.Errorf("idp %q, want the identity's issuer", c.IDP)
	}
	if _, err := m.HeaderValue(newIdentity("", "https://idp", "bob", time.Now().Add(time.Hour), nil)); err == nil {
		t.Error("minted a token for an identity without a provider")
	}
}
