package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func apiReq(tok string) *httpmsg.Request {
	return &httpmsg.Request{Method: "POST", URI: "/api", Header: httpmsg.Headers{{Name: "Authorization", Value: "Bearer " + tok}}}
}

func TestBearer(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(&op.key.PublicKey)
	now := time.Now()
	noneTok := func() string {
		// {"alg":"none"} with valid claims and an empty signature.
		valid := op.accessJWT(nil)
		parts := strings.Split(valid, ".")
		return "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
	}
	tests := []struct {
		name string
		tok  string
		ok   bool
	}{
		{"valid", op.accessJWT(nil), true},
		{"second audience configured elsewhere", op.accessJWT(func(c map[string]any) { c["aud"] = []string{"other", "edge"} }), true},
		{"alg none", noneTok(), false},
		{"bad signature", op.sign(map[string]any{"iss": op.issuer(), "sub": "x", "aud": "edge", "exp": now.Add(time.Hour).Unix()}, jose.ES256, other, op.kid), false},
		{"unknown kid", op.sign(map[string]any{"iss": op.issuer(), "sub": "x", "aud": "edge", "exp": now.Add(time.Hour).Unix()}, jose.ES256, other, "nope"), false},
		{"HS256 keyed with the public key", op.sign(map[string]any{"iss": op.issuer(), "sub": "x", "aud": "edge", "exp": now.Add(time.Hour).Unix()}, jose.HS256, pubDER, op.kid), false},
		{"wrong audience", op.accessJWT(func(c map[string]any) { c["aud"] = "someone-else" }), false},
		{"wrong issuer", op.accessJWT(func(c map[string]any) { c["iss"] = "https://evil.example" }), false},
		{"expired", op.accessJWT(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), false},
		{"expired within skew", op.accessJWT(func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() }), true},
		{"not yet valid", op.accessJWT(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), false},
		{"no exp", op.accessJWT(func(c map[string]any) { delete(c, "exp") }), false},
		{"no sub", op.accessJWT(func(c map[string]any) { delete(c, "sub") }), false},
		{"truncated", op.accessJWT(nil)[:40], false},
	}
	for _, tc := range tests {
		id, rep := p.Authenticate(apiReq(tc.tok), true)
		if tc.ok {
			if rep != nil || id == nil || id.Subject == "" {
				t.Errorf("%s: refused: %+v", tc.name, rep)
			}
			continue
		}
		if id != nil || rep == nil || rep.Status != 401 {
			t.Errorf("%s: want 401, got id=%v reply=%+v", tc.name, id, rep)
			continue
		}
		if w, _ := rep.Header.Get("WWW-Authenticate"); !strings.Contains(w, `error="invalid_token"`) {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, w)
		}
	}
	id, _ := p.Authenticate(apiReq(op.accessJWT(nil)), true)
	if id == nil || id.String("groups") != "staff" {
		t.Fatalf("claims: %+v", id)
	}
}

func TestBearerCachedHonoursExpiry(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, func(c *config.OIDC) { c.ClockSkew = time.Second })
	clock := time.Now()
	p.now = func() time.Time { return clock }
	p.ready.Load().bearer.now = p.now
	tok := op.accessJWT(func(c map[string]any) { c["exp"] = clock.Add(time.Minute).Unix() })
	if id, rep := p.Authenticate(apiReq(tok), true); id == nil {
		t.Fatalf("refused: %+v", rep)
	}
	clock = clock.Add(2 * time.Minute)
	if id, _ := p.Authenticate(apiReq(tok), true); id != nil {
		t.Fatal("expired token served from the cache")
	}
}

// A token refused for its audience says which audience came and, in the
// log, which were expected; the client sees only its own token's values,
// escaped so they cannot break the header.
func TestBearerAudienceRefusalSaysWhich(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, func(c *config.OIDC) { c.Audiences = []string{"edge", "https://api.test"} })
	var logged []string
	p.logf = func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }
	tests := []struct {
		aud      any
		wantDesc string
		wantLog  string
	}{
		{"someone-else", `error_description="token audience ['someone-else'] is not accepted here"`,
			`audience ['someone-else'] is not accepted (expected one of ['edge', 'https://api.test'])`},
		{[]string{"a", "b\"\r\nX: y"}, `error_description="token audience ['a', 'b%22%0D%0AX: y'] is not accepted here"`,
			`audience ['a', 'b%22%0D%0AX: y'] is not accepted`},
		{[]string{}, `error_description="token has no audience"`, `audience none is not accepted`},
	}
	for _, tc := range tests {
		logged = nil
		tok := op.accessJWT(func(c map[string]any) { c["aud"] = tc.aud })
		id, rep := p.Authenticate(apiReq(tok), true)
		if id != nil || rep == nil || rep.Status != 401 {
			t.Fatalf("aud %v: want 401, got %v %+v", tc.aud, id, rep)
		}
		www, _ := rep.Header.Get("WWW-Authenticate")
		if !strings.Contains(www, `error="invalid_token"`) || !strings.Contains(www, tc.wantDesc) {
			t.Errorf("aud %v: WWW-Authenticate %q, want %s", tc.aud, www, tc.wantDesc)
		}
		if strings.Contains(www, "api.test") {
			t.Errorf("aud %v: the configured audiences leak to the client: %q", tc.aud, www)
		}
		if len(logged) != 1 || !strings.Contains(logged[0], tc.wantLog) {
			t.Errorf("aud %v: log %q, want it to contain %q", tc.aud, logged, tc.wantLog)
		}
	}
	// Other refusals keep the bare error code.
	_, rep := p.Authenticate(apiReq(op.accessJWT(func(c map[string]any) { c["iss"] = "https://evil.example"; c["aud"] = "x" })), true)
	if www, _ := rep.Header.Get("WWW-Authenticate"); strings.Contains(www, "error_description") {
		t.Errorf("wrong issuer: %q describes the audience of a token from an issuer not trusted", www)
	}
}
