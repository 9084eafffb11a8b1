package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Minter signs the identity tokens of one identity-token section and
// publishes its public keys as a JWKS.
type Minter struct {
	name     string
	issuer   string
	aud      []string
	lifetime time.Duration
	claims   []string
	header   string
	signer   jose.Signer
	jwks     []byte // application/jwk-set+json body
	now      func() time.Time

	Counters MinterCounters
}

// NewMinter loads the keys of an identity-token section.
func NewMinter(c *config.IdentityToken) (*Minter, error) {
	if c.Issuer == "" || len(c.Audiences) == 0 {
		return nil, config.Errorf(c.Pos, "identity-token '%s': 'issuer' and 'audience' are required", c.Name)
	}
	if len(c.SigningKeys) == 0 {
		return nil, config.Errorf(c.Pos, "identity-token '%s': 'signing-key' is required", c.Name)
	}
	var signing, published []jose.JSONWebKey
	for _, ref := range c.SigningKeys {
		ks, err := loadKeys(ref)
		if err != nil {
			return nil, config.Errorf(ref.Pos, "identity-token '%s': %v", c.Name, err)
		}
		signing = append(signing, ks...)
	}
	for _, ref := range c.PublishKeys {
		ks, err := loadKeys(ref)
		if err != nil {
			return nil, config.Errorf(ref.Pos, "identity-token '%s': %v", c.Name, err)
		}
		published = append(published, ks...)
	}
	m := &Minter{name: c.Name, issuer: c.Issuer, aud: c.Audiences, lifetime: c.Lifetime, claims: c.Claims, header: c.Header, now: time.Now}
	if m.lifetime <= 0 {
		m.lifetime = 5 * time.Minute
	}
	if m.header == "" {
		m.header = "Authorization"
	}
	signKey := signing[0]
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(signKey.Algorithm), Key: signKey},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, config.Errorf(c.Pos, "identity-token '%s': %v", c.Name, err)
	}
	m.signer = sig
	set := jose.JSONWebKeySet{}
	seen := map[string]bool{}
	for _, k := range append(signing, published...) {
		if seen[k.KeyID] {
			continue
		}
		seen[k.KeyID] = true
		set.Keys = append(set.Keys, k.Public())
	}
	if m.jwks, err = json.Marshal(set); err != nil {
		return nil, err
	}
	return m, nil
}

// Name is the section name.
func (m *Minter) Name() string { return m.name }

// Issuer is the tokens' iss.
func (m *Minter) Issuer() string { return m.issuer }

// Header is the request header the token goes in.
func (m *Minter) Header() string { return m.header }

// JWKS returns the public key set (a shared slice: do not modify).
func (m *Minter) JWKS() []byte { return m.jwks }

// HeaderValue returns "Bearer <jwt>" for id, reusing a token minted for the
// same identity while more than half of its lifetime remains (signing is the
// expensive part of the hot path).
func (m *Minter) HeaderValue(id *Identity) (string, error) {
	now := m.now()
	id.mu.Lock()
	for i := range id.minted {
		t := &id.minted[i]
		if t.m == m {
			if now.Before(t.renew) {
				v := t.value
				id.mu.Unlock()
				return v, nil
			}
			id.minted = slices.Delete(id.minted, i, i+1)
			break
		}
	}
	id.mu.Unlock()
	tok, exp, err := m.Mint(id, now)
	if err != nil {
		return "", err
	}
	v := "Bearer " + tok
	id.mu.Lock()
	id.minted = append(id.minted, mintedToken{m: m, value: v, renew: now.Add(m.lifetime / 2), expiry: exp})
	id.mu.Unlock()
	return v, nil
}

// ProviderClaim is the claim of an edge token that names the upstream
// issuer which vouched for its subject.
const ProviderClaim = "idp"

// Subject is the edge token's sub for id: "<oidc section>/<upstream sub>".
// Two providers may both have an "alice"; the mesh's principal (iss/sub)
// must not merge them. Section names cannot contain '/', so the first '/'
// always ends the provider part and no two (provider, sub) pairs collide.
// A certificate identity's sub is its own (see FromCertificate).
func Subject(id *Identity) string {
	if id.cert {
		return id.Subject
	}
	return id.Provider + "/" + id.Subject
}

// Mint signs a token for id: iss, aud, sub (see Subject), iat, nbf, exp,
// jti, idp (the upstream issuer) and the configured claims copied from the
// identity.
func (m *Minter) Mint(id *Identity, now time.Time) (string, time.Time, error) {
	tok, exp, err := m.mint(id, now)
	if err != nil {
		m.Counters.MintFailures.Add(1)
	} else {
		m.Counters.Minted.Add(1)
	}
	return tok, exp, err
}

func (m *Minter) mint(id *Identity, now time.Time) (string, time.Time, error) {
	if (id.Provider == "" && !id.cert) || id.Subject == "" {
		return "", time.Time{}, errors.New("identity without a provider or subject")
	}
	exp := now.Add(m.lifetime)
	if !id.Expiry.IsZero() && id.Expiry.Before(exp) && id.Expiry.After(now) {
		exp = id.Expiry // never outlive what it vouches for
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	std := jwt.Claims{
		Issuer:    m.issuer,
		Subject:   Subject(id),
		Audience:  jwt.Audience(m.aud),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
		Expiry:    jwt.NewNumericDate(exp),
		ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
	}
	extra := make(map[string]any, len(m.claims)+1)
	for _, c := range m.claims {
		if v, ok := id.Claims[c]; ok {
			extra[c] = v
		}
	}
	extra[ProviderClaim] = id.Issuer // last: a copied claim cannot replace it
	tok, err := jwt.Signed(m.signer).Claims(std).Claims(extra).Serialize()
	return tok, exp, err
}

// loadKeys reads private keys from a file or every *.pem / *.key file of a
// directory; in a directory, the file whose name sorts last comes first.
func loadKeys(ref config.SecretRef) ([]jose.JSONWebKey, error) {
	if ref.Kind != "file" {
		b, err := LoadSecret(ref)
		if err != nil {
			return nil, err
		}
		return parseKeyPEM(b, ref.String())
	}
	fi, err := os.Stat(ref.Ref)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		b, err := os.ReadFile(ref.Ref)
		if err != nil {
			return nil, err
		}
		return parseKeyPEM(b, ref.Ref)
	}
	ents, err := os.ReadDir(ref.Ref)
	if err != nil {
		return nil, err
	}
	var out []jose.JSONWebKey
	for i := len(ents) - 1; i >= 0; i-- {
		e := ents[i]
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".pem" && ext != ".key") || e.Name()[0] == '.' {
			continue
		}
		p := filepath.Join(ref.Ref, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		ks, err := parseKeyPEM(b, p)
		if err != nil {
			return nil, err
		}
		out = append(out, ks...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no *.pem or *.key file", ref.Ref)
	}
	return out, nil
}

// parseKeyPEM reads EC P-256 or RSA (>= 2048 bits) private keys in PKCS#8,
// SEC 1 or PKCS#1 PEM and gives each its RFC 7638 thumbprint as kid, so a
// key keeps its kid across restarts and hosts.
func parseKeyPEM(b []byte, name string) ([]jose.JSONWebKey, error) {
	var out []jose.JSONWebKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		var key any
		var err error
		switch blk.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		jwk, err := toJWK(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		out = append(out, jwk)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no private key (PEM 'PRIVATE KEY', 'EC PRIVATE KEY' or 'RSA PRIVATE KEY')", name)
	}
	return out, nil
}

func toJWK(key any) (jose.JSONWebKey, error) {
	jwk := jose.JSONWebKey{Key: key, Use: "sig"}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return jwk, errors.New("EC keys must be P-256 (ES256)")
		}
		jwk.Algorithm = string(jose.ES256)
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return jwk, errors.New("RSA keys must have at least 2048 bits")
		}
		jwk.Algorithm = string(jose.RS256)
	default:
		return jwk, fmt.Errorf("unsupported key type %T (EC P-256 or RSA)", key)
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return jwk, err
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return jwk, nil
}
