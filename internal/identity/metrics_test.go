package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// Each refused bearer token is counted under its reason, and accepted ones
// apart.
func TestBearerRejectionReasons(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(&op.key.PublicKey)
	now := time.Now()
	std := func() map[string]any {
		return map[string]any{"iss": op.issuer(), "sub": "x", "aud": "edge", "exp": now.Add(time.Hour).Unix()}
	}
	tests := []struct {
		name string
		tok  string
		want BearerRejection
	}{
		{"truncated", op.accessJWT(nil)[:40], RejectMalformed},
		{"HS256", op.sign(std(), jose.HS256, pubDER, op.kid), RejectMalformed},
		{"unknown kid", op.sign(std(), jose.ES256, other, "nope"), RejectUnknownKey},
		{"bad signature", op.sign(std(), jose.ES256, other, op.kid), RejectSignature},
		{"expired", op.accessJWT(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), RejectExpired},
		{"not yet valid", op.accessJWT(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), RejectExpired},
		{"wrong issuer", op.accessJWT(func(c map[string]any) { c["iss"] = "https://evil.example" }), RejectIssuer},
		{"wrong audience", op.accessJWT(func(c map[string]any) { c["aud"] = "someone-else" }), RejectAudience},
		{"no sub", op.accessJWT(func(c map[string]any) { delete(c, "sub") }), RejectClaims},
	}
	for _, tc := range tests {
		var before [NumBearerRejections]uint64
		for i := range before {
			before[i] = p.Counters.BearerRejected[i].Load()
		}
		if id, _ := p.Authenticate(apiReq(tc.tok), true); id != nil {
			t.Fatalf("%s: accepted", tc.name)
		}
		for i := range before {
			d := p.Counters.BearerRejected[i].Load() - before[i]
			if want := uint64(b2u(BearerRejection(i) == tc.want)); d != want {
				t.Errorf("%s: reason %s counted %d, want %d", tc.name, BearerRejection(i), d, want)
			}
		}
	}
	if id, _ := p.Authenticate(apiReq(op.accessJWT(nil)), true); id == nil {
		t.Fatal("valid token refused")
	}
	if got := p.Counters.BearerAccepted.Load(); got != 1 {
		t.Errorf("accepted = %d", got)
	}
	if got := p.Counters.BearerRejectedTotal(); got != uint64(len(tests)) {
		t.Errorf("rejected total = %d, want %d", got, len(tests))
	}
}

func b2u(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The provider's JWKS is fetched once for ID and bearer tokens and the
// fetches are counted; a provider whose JWKS fails counts the failure and
// the refusal as jwks_unavailable, not as a bad token.
func TestJWKSFetchesCounted(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	login(t, p, "/") // verifies an ID token: the first fetch
	if got := p.Counters.JWKSFetches.Load(); got != 1 {
		t.Fatalf("fetches after a login = %d, want 1", got)
	}
	if id, _ := p.Authenticate(apiReq(op.accessJWT(nil)), true); id == nil {
		t.Fatal("valid token refused")
	}
	if got := p.Counters.JWKSFetches.Load(); got != 1 {
		t.Errorf("fetches after a bearer token of a known key = %d, want 1 (one key set for both)", got)
	}
	if n, ok := p.Keys(); !ok || n != 1 {
		t.Errorf("Keys() = %d, %v", n, ok)
	}

	// A second provider whose JWKS endpoint fails.
	op2 := newFakeOP(t)
	p2 := newTestProvider(t, op2, nil)
	op2.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	})
	if id, rep := p2.Authenticate(apiReq(op2.accessJWT(nil)), true); id != nil || rep == nil || rep.Status != 401 {
		t.Fatalf("token verified without keys: %v %+v", id, rep)
	}
	if f, fl := p2.Counters.JWKSFetches.Load(), p2.Counters.JWKSFailures.Load(); f != 1 || fl != 1 {
		t.Errorf("fetches=%d failures=%d, want 1 and 1", f, fl)
	}
	if got := p2.Counters.BearerRejected[RejectKeysUnavailable].Load(); got != 1 {
		t.Errorf("jwks_unavailable = %d", got)
	}
}

// Refused callbacks are counted by reason; the accepted login and the
// sign-out are logged at info, the refusal at warning.
func TestLoginFailureReasonsAndEvents(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	var out lockedBuf
	l, err := logging.NewLogger([]*config.Log{{Target: "stdout", Format: "raw"}}, logging.Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	p.log = l.Printf
	p.logf = func(f string, a ...any) { l.Printf(logging.LevelWarning, f, a...) }

	_, rep := p.Authenticate(browserReq("/start"), true)
	state := cookiePairs(rep.Header)
	loc, _ := rep.Header.Get("Location")
	u, _ := url.Parse(loc)
	st := u.Query().Get("state")
	cases := []struct {
		req  string
		want LoginFailure
	}{
		{"/oauth2/callback?code=x", LoginState},
		{"/oauth2/callback?code=x&state=" + strings.Repeat("A", 43), LoginState},
		{"/oauth2/callback?error=access_denied&state=" + st, LoginProvider},
		{"/oauth2/callback?code=bogus&state=" + st, LoginExchange},
	}
	for _, tc := range cases {
		before := p.Counters.LoginFailures[tc.want].Load()
		if _, rep := p.Authenticate(browserReq(tc.req, state...), true); rep == nil || rep.Status != 403 {
			t.Fatalf("%s: %+v", tc.req, rep)
		}
		if p.Counters.LoginFailures[tc.want].Load() != before+1 {
			t.Errorf("%s: not counted as %s", tc.req, tc.want)
		}
	}
	if got := p.Counters.LoginFailureTotal(); got != uint64(len(cases)) {
		t.Errorf("failures = %d, want %d", got, len(cases))
	}
	cookies := login(t, p, "/")
	p.Authenticate(browserReq("/oauth2/sign_out", cookies...), true)
	l.Close()
	got := out.b.String()
	for _, want := range []string{
		"oidc 'corp': login refused: code exchange: ",
		"oidc 'corp': login of subject 'alice' accepted\n",
		"oidc 'corp': subject 'alice' signed out\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
}

// An ID token from another key is refused as id_token.
func TestLoginFailureIDToken(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	// The provider holds another key under the OP's kid: the OP's ID
	// token does not verify.
	d := p.ready.Load()
	d.bearer.keys.mu.Lock()
	d.bearer.keys.keys = []jose.JSONWebKey{{Key: &other(t).PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}
	d.bearer.keys.fetchedAt = time.Now()
	d.bearer.keys.mu.Unlock()
	_, rep := p.Authenticate(browserReq("/"), true)
	loc, _ := rep.Header.Get("Location")
	state := cookiePairs(rep.Header)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	if _, rep := p.Authenticate(browserReq(cb.RequestURI(), state...), true); rep == nil || rep.Status != 403 {
		t.Fatalf("callback with a forged ID token: %+v", rep)
	}
	if got := p.Counters.LoginFailures[LoginIDToken].Load(); got != 1 {
		t.Errorf("id_token failures = %d", got)
	}
}

func other(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSessionGauge(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	if store, _, ok := p.ActiveSessions(); ok || store != "cookie" {
		t.Errorf("cookie sessions: %q %v", store, ok)
	}
	var n atomic.Int64
	n.Store(7)
	p.SetSessionGauge(SessionGauge{Store: "redis", Active: func() (int64, bool) { return n.Load(), true }})
	if store, got, ok := p.ActiveSessions(); !ok || store != "redis" || got != 7 {
		t.Errorf("store gauge: %q %d %v", store, got, ok)
	}
}

// Minted tokens are counted; a token reused from the identity's cache is not
// minted again.
func TestMinterCounts(t *testing.T) {
	dir := t.TempDir()
	writeECKey(t, filepath.Join(dir, "a.pem"))
	m, err := NewMinter(&config.IdentityToken{Name: "mesh", Issuer: "https://edge", Audiences: []string{"mesh"},
		SigningKeys: []config.SecretRef{{Kind: "file", Ref: dir}}})
	if err != nil {
		t.Fatal(err)
	}
	id := newIdentity("corp", "https://idp", "alice", time.Now().Add(time.Hour), map[string]json.RawMessage{})
	for range 3 {
		if _, err := m.HeaderValue(id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.HeaderValue(newIdentity("", "", "", time.Time{}, nil)); err == nil {
		t.Fatal("minted for an empty identity")
	}
	if m.Counters.Minted.Load() != 1 || m.Counters.MintFailures.Load() != 1 {
		t.Errorf("minted=%d failures=%d, want 1 and 1", m.Counters.Minted.Load(), m.Counters.MintFailures.Load())
	}
}

// In store mode the provider reports the store's live sessions (read in
// the background: the first answers may say "unknown").
func TestStoreSessionGauge(t *testing.T) {
	srv := testenv.StartRedis(t)
	op := newFakeOP(t)
	p, _ := storeProvider(t, op, srv, "r1")
	gauge := func(want int64) func() bool {
		return func() bool {
			mode, n, ok := p.ActiveSessions()
			return ok && mode == "redis" && n == want
		}
	}
	testenv.Eventually(t, 20*time.Second, gauge(0), "the store's gauge never showed 0 sessions")
	login(t, p, "/")
	testenv.Eventually(t, 20*time.Second, gauge(1), "the store's gauge never showed the session")
}
