package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

const bcPath = "/oauth2/backchannel_logout"

func withBackchannel(c *config.OIDC) { c.BackchannelLogoutPath = bcPath }

// logoutClaimsFor are the claims of a valid logout token for sid and sub.
func logoutClaimsFor(op *fakeOP, sid, sub string) map[string]any {
	c := map[string]any{
		"iss": op.issuer(), "aud": "edge", "iat": time.Now().Unix(), "exp": time.Now().Add(2 * time.Minute).Unix(),
		"jti": randomString(), "events": map[string]any{backchannelEvent: map[string]any{}},
	}
	if sid != "" {
		c["sid"] = sid
	}
	if sub != "" {
		c["sub"] = sub
	}
	return c
}

// signLogout signs claims as a provider signs a logout token (typ
// logout+jwt), with any algorithm, key and type.
func signLogout(t testing.TB, claims map[string]any, alg jose.SignatureAlgorithm, key any, kid, typ string) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (op *fakeOP) logoutToken(mod func(map[string]any)) string {
	c := logoutClaimsFor(op, "", "alice")
	if mod != nil {
		mod(c)
	}
	return signLogout(op.t, c, jose.ES256, op.key, op.kid, "logout+jwt")
}

// postLogout sends a back-channel logout request with this form body.
func postLogout(p *Provider, contentType, body string) *Reply {
	req := &httpmsg.Request{Method: "POST", URI: bcPath, Header: httpmsg.Headers{{Name: "Host", Value: "app.example.com"}}}
	if contentType != "" {
		req.Header.Add("Content-Type", contentType)
	}
	return p.Backchannel(req, func() io.Reader { return strings.NewReader(body) })
}

func logoutForm(tok string) string { return url.Values{"logout_token": {tok}}.Encode() }

// logoutError400 checks the spec's error answer and returns its description.
func logoutError400(t *testing.T, name string, rep *Reply) string {
	t.Helper()
	if rep == nil || rep.Status != 400 {
		t.Errorf("%s: want 400, got %+v", name, rep)
		return ""
	}
	if cc, _ := rep.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q", name, cc)
	}
	if ct, _ := rep.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", name, ct)
	}
	var e struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	if err := json.Unmarshal(rep.Body, &e); err != nil || e.Error != "invalid_request" {
		t.Errorf("%s: body %s", name, rep.Body)
	}
	return e.Desc
}

// TestLogoutTokenVerification: each rule of the spec's 2.6, one bad token
// each, refused with its reason; the good token is taken once.
func TestLogoutTokenVerification(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, withBackchannel)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(&op.key.PublicKey)
	now := time.Now()
	valid := op.logoutToken(nil)
	parts := strings.Split(valid, ".")
	none := "eyJhbGciOiJub25lIiwidHlwIjoibG9nb3V0K2p3dCJ9." + parts[1] + "."
	tests := []struct {
		name, tok, reason string
	}{
		{"alg none", none, "accepted algorithm"},
		{"HS256 keyed with the public key", signLogout(t, logoutClaimsFor(op, "", "alice"), jose.HS256, pubDER, op.kid, "logout+jwt"), "accepted algorithm"},
		{"signed by another key", signLogout(t, logoutClaimsFor(op, "", "alice"), jose.ES256, other, op.kid, "logout+jwt"), "signature"},
		{"unknown kid", signLogout(t, logoutClaimsFor(op, "", "alice"), jose.ES256, other, "nope", "logout+jwt"), "no key"},
		{"encrypted", "a.b.c.d.e", "encrypted"},
		{"garbage", "not-a-jwt", "accepted algorithm"},
		{"typed as an access token", signLogout(t, logoutClaimsFor(op, "", "alice"), jose.ES256, op.key, op.kid, "at+jwt"), "not a logout token"},
		{"wrong issuer", op.logoutToken(func(c map[string]any) { c["iss"] = "https://evil.example" }), "iss"},
		{"no issuer", op.logoutToken(func(c map[string]any) { delete(c, "iss") }), "no iss"},
		{"wrong audience", op.logoutToken(func(c map[string]any) { c["aud"] = "someone-else" }), "aud"},
		{"no audience", op.logoutToken(func(c map[string]any) { delete(c, "aud") }), "no aud"},
		{"no iat", op.logoutToken(func(c map[string]any) { delete(c, "iat") }), "no iat"},
		{"iat as a string", op.logoutToken(func(c map[string]any) { c["iat"] = "1700000000" }), "iat is not a number"},
		{"iat in the future", op.logoutToken(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() }), "future"},
		{"iat too old", op.logoutToken(func(c map[string]any) { c["iat"] = now.Add(-time.Hour).Unix() }), "too old"},
		{"expired", op.logoutToken(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), "expired"},
		{"not valid yet", op.logoutToken(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), "nbf"},
		{"no jti", op.logoutToken(func(c map[string]any) { delete(c, "jti") }), "no jti"},
		{"no events", op.logoutToken(func(c map[string]any) { delete(c, "events") }), "no events"},
		{"events an array (the draft's form)", op.logoutToken(func(c map[string]any) { c["events"] = []string{backchannelEvent} }), "not a JSON object"},
		{"events without the logout event", op.logoutToken(func(c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		}), "no " + backchannelEvent},
		{"logout event not an object", op.logoutToken(func(c map[string]any) { c["events"] = map[string]any{backchannelEvent: true} }), "event is not a JSON object"},
		{"neither sub nor sid", op.logoutToken(func(c map[string]any) { delete(c, "sub") }), "neither a sub nor a sid"},
		{"sub not a string", op.logoutToken(func(c map[string]any) { c["sub"] = 42 }), "sub is not a string"},
		{"empty sid", op.logoutToken(func(c map[string]any) { c["sid"] = "" }), "sid is empty"},
		{"a nonce (an ID token, not a logout token)", op.logoutToken(func(c map[string]any) { c["nonce"] = "n" }), "nonce"},
	}
	for _, tc := range tests {
		desc := logoutError400(t, tc.name, postLogout(p, "application/x-www-form-urlencoded", logoutForm(tc.tok)))
		if !strings.Contains(desc, tc.reason) {
			t.Errorf("%s: error_description %q, want it to say %q", tc.name, desc, tc.reason)
		}
	}
	if n := p.Counters.BackchannelRefused.Load(); n != uint64(len(tests)) {
		t.Errorf("BackchannelRefused = %d, want %d", n, len(tests))
	}

	for _, tc := range []struct{ name, tok string }{
		{"valid", valid},
		{"audience array naming the client", op.logoutToken(func(c map[string]any) { c["aud"] = []string{"other", "edge"} })},
		{"sid alone, typ JWT", signLogout(t, logoutClaimsFor(op, "s-1", ""), jose.ES256, op.key, op.kid, "JWT")},
		{"no typ, no exp", signLogout(t, func() map[string]any {
			c := logoutClaimsFor(op, "s-2", "alice")
			delete(c, "exp")
			return c
		}(), jose.ES256, op.key, op.kid, "")},
		{"iat within the skew ahead", op.logoutToken(func(c map[string]any) { c["iat"] = now.Add(10 * time.Second).Unix() })},
	} {
		rep := postLogout(p, "application/x-www-form-urlencoded; charset=UTF-8", logoutForm(tc.tok))
		if rep == nil || rep.Status != 200 {
			t.Errorf("%s: want 200, got %+v", tc.name, rep)
			continue
		}
		if cc, _ := rep.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", tc.name, cc)
		}
	}
	// A token is good once: the same jti again is a replay.
	if desc := logoutError400(t, "replay", postLogout(p, "application/x-www-form-urlencoded", logoutForm(valid))); !strings.Contains(desc, "already used") {
		t.Errorf("replay: %q", desc)
	}
}

// TestBackchannelRequestShape: the endpoint takes one logout_token in a
// POSTed form, nothing else; other paths are not its business.
func TestBackchannelRequestShape(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, withBackchannel)
	tok := op.logoutToken(nil)
	get := &httpmsg.Request{Method: "GET", URI: bcPath, Header: httpmsg.Headers{{Name: "Host", Value: "x"}}}
	if rep := p.Backchannel(get, func() io.Reader { return strings.NewReader("") }); rep == nil || rep.Status != 405 {
		t.Errorf("GET: %+v, want 405", rep)
	}
	other := &httpmsg.Request{Method: "POST", URI: "/elsewhere", Header: httpmsg.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}}
	if rep := p.Backchannel(other, func() io.Reader { t.Fatal("body read for another path"); return nil }); rep != nil {
		t.Errorf("another path answered: %+v", rep)
	}
	for _, tc := range []struct{ name, ct, body, reason string }{
		{"JSON body", "application/json", `{"logout_token":"` + tok + `"}`, "x-www-form-urlencoded"},
		{"no content type", "", logoutForm(tok), "x-www-form-urlencoded"},
		{"no logout_token", "application/x-www-form-urlencoded", "token=" + tok, "exactly one logout_token"},
		{"two logout_tokens", "application/x-www-form-urlencoded", logoutForm(tok) + "&" + logoutForm(tok), "exactly one logout_token"},
		{"empty logout_token", "application/x-www-form-urlencoded", "logout_token=", "exactly one logout_token"},
		{"bad form", "application/x-www-form-urlencoded", "logout_token=%zz", "does not parse"},
		{"too large", "application/x-www-form-urlencoded", logoutForm(strings.Repeat("a", maxLogoutBody)), "too large"},
	} {
		if desc := logoutError400(t, tc.name, postLogout(p, tc.ct, tc.body)); !strings.Contains(desc, tc.reason) {
			t.Errorf("%s: %q, want %q", tc.name, desc, tc.reason)
		}
	}
	// None of the refused requests spent the token.
	if rep := postLogout(p, "application/x-www-form-urlencoded", logoutForm(tok)); rep == nil || rep.Status != 200 {
		t.Errorf("the token after refused requests: %+v", rep)
	}
	// Without the keyword there is no endpoint.
	q := newTestProvider(t, op, nil)
	if rep := postLogout(q, "application/x-www-form-urlencoded", logoutForm(op.logoutToken(nil))); rep != nil {
		t.Errorf("no backchannel-logout-path, yet answered: %+v", rep)
	}
}

func apiCookieReq(cookies []string) *httpmsg.Request {
	r := browserReq("/api/items", cookies...)
	r.Header.Set("Accept", "application/json")
	return r
}

// sessionOK reports whether the cookies still authenticate.
func sessionOK(p *Provider, cookies []string) bool {
	id, _ := p.Authenticate(apiCookieReq(cookies), true)
	return id != nil
}

// TestBackchannelEndsSessions: the login records the ID token's sid; a
// logout naming it ends that session (cached or not), a sub alone ends
// every session of the user, a new login afterwards works.
func TestBackchannelEndsSessions(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, withBackchannel)

	op.sid = "op-session-1"
	first := login(t, p, "/")
	op.sid = "op-session-2"
	second := login(t, p, "/") // alice again, another browser
	op.sub, op.sid = "bob", "op-session-3"
	bob := login(t, p, "/")
	op.sub = "alice"
	parts := func(c []string) []string {
		var out []string
		for _, kv := range c {
			_, v, _ := strings.Cut(kv, "=")
			out = append(out, v)
		}
		return out
	}
	s, err := p.openSession(parts(first), time.Now())
	if err != nil || s.Sid != "op-session-1" || s.St == 0 {
		t.Fatalf("the session did not record the ID token's sid and its start: %+v %v", s, err)
	}
	for _, c := range [][]string{first, second, bob} {
		if !sessionOK(p, c) { // and cached now
			t.Fatal("fresh session refused")
		}
	}

	// sid (with sub, as most providers send it): that session only.
	if rep := postLogout(p, "application/x-www-form-urlencoded", logoutForm(signLogout(t, logoutClaimsFor(op, "op-session-1", "alice"), jose.ES256, op.key, op.kid, "logout+jwt"))); rep == nil || rep.Status != 200 {
		t.Fatalf("logout: %+v", rep)
	}
	if sessionOK(p, first) {
		t.Error("the session of the logged-out sid still passes")
	}
	if !sessionOK(p, second) || !sessionOK(p, bob) {
		t.Error("a logout of one sid ended other sessions")
	}
	// A navigation with the ended session is sent to log in again.
	if _, rep := p.Authenticate(browserReq("/page", first...), true); rep == nil || rep.Status != 302 {
		t.Errorf("ended session on a page load: %+v, want a login redirect", rep)
	}

	// sub alone: every session of alice, not bob's.
	op.sid = "op-session-4"
	third := login(t, p, "/")
	if !sessionOK(p, third) {
		t.Fatal("new login refused")
	}
	time.Sleep(2 * time.Millisecond) // the logout must come after the login's millisecond
	if rep := postLogout(p, "application/x-www-form-urlencoded", logoutForm(op.logoutToken(nil))); rep == nil || rep.Status != 200 {
		t.Fatalf("sub logout: %+v", rep)
	}
	if sessionOK(p, second) || sessionOK(p, third) {
		t.Error("a sub logout left a session of the sub")
	}
	if !sessionOK(p, bob) {
		t.Error("a sub logout of alice ended bob's session")
	}
	// Logging in again after the logout works.
	op.sid = "op-session-5"
	time.Sleep(2 * time.Millisecond)
	again := login(t, p, "/")
	if !sessionOK(p, again) {
		t.Error("a login after the logout is refused")
	}
	if p.Counters.BackchannelLogouts.Load() != 2 {
		t.Errorf("BackchannelLogouts = %d", p.Counters.BackchannelLogouts.Load())
	}
}

// TestBackchannelSessionWithoutSid: a provider whose ID tokens carry no
// sid; a logout naming a sid and the sub cannot tell the sessions apart,
// so it ends the sub's sessions without a sid, and not those with another.
func TestBackchannelSessionWithoutSid(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, withBackchannel)
	nosid := login(t, p, "/")
	op.sid = "kept"
	withSid := login(t, p, "/")
	time.Sleep(2 * time.Millisecond)
	if rep := postLogout(p, "application/x-www-form-urlencoded", logoutForm(signLogout(t, logoutClaimsFor(op, "ended", "alice"), jose.ES256, op.key, op.kid, "logout+jwt"))); rep == nil || rep.Status != 200 {
		t.Fatalf("logout: %+v", rep)
	}
	if sessionOK(p, nosid) {
		t.Error("a session without a sid survived a logout of its sub's sid")
	}
	if !sessionOK(p, withSid) {
		t.Error("a session of another sid was ended")
	}
}

// TestBackchannelEndsRefreshedSession: a refresh keeps the session's sid
// and start, so a logout ends the renewed cookie and the old one alike.
func TestBackchannelEndsRefreshedSession(t *testing.T) {
	op := newFakeOP(t)
	op.ttl = 10 * time.Minute
	op.sid = "op-s"
	p := newTestProvider(t, op, withBackchannel)
	clk := offsetClock(p)
	cookies := login(t, p, "/")
	clk.Store(int64(9*time.Minute + 30*time.Second))
	_, rep := p.Authenticate(browserReq("/", cookies...), true)
	if rep == nil || rep.Status != 307 {
		t.Fatalf("no refresh: %+v", rep)
	}
	renewed := cookiePairs(rep.Header)
	if !sessionOK(p, renewed) {
		t.Fatal("renewed session refused")
	}
	op.sid = "" // the refresh's ID token may name no sid: the session keeps its own
	if rep := postLogout(p, "application/x-www-form-urlencoded", logoutForm(signLogout(t, func() map[string]any {
		c := logoutClaimsFor(op, "op-s", "")
		c["iat"] = p.now().Unix()
		c["exp"] = p.now().Add(time.Minute).Unix()
		return c
	}(), jose.ES256, op.key, op.kid, "logout+jwt"))); rep == nil || rep.Status != 200 {
		t.Fatalf("logout: %+v", rep)
	}
	if sessionOK(p, renewed) || sessionOK(p, cookies) {
		t.Error("a refreshed session survived the logout of its sid")
	}
}

// TestBackchannelSurvivesReload: the next configuration's provider of the
// same section keeps the ended sessions and the spent tokens.
func TestBackchannelSurvivesReload(t *testing.T) {
	op := newFakeOP(t)
	op.sid = "op-s"
	p := newTestProvider(t, op, withBackchannel)
	cookies := login(t, p, "/")
	tok := signLogout(t, logoutClaimsFor(op, "op-s", "alice"), jose.ES256, op.key, op.kid, "logout+jwt")
	if rep := postLogout(p, "application/x-www-form-urlencoded", logoutForm(tok)); rep == nil || rep.Status != 200 {
		t.Fatalf("logout: %+v", rep)
	}
	// Same cookie secret, so the new provider opens the old cookies.
	next, err := NewProvider(p.cfg, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	next.Inherit(p)
	if err := next.Discover(t.Context()); err != nil {
		t.Fatal(err)
	}
	if sessionOK(next, cookies) {
		t.Error("after a reload the ended session passes again")
	}
	if rep := postLogout(next, "application/x-www-form-urlencoded", logoutForm(tok)); rep == nil || rep.Status != 400 {
		t.Errorf("after a reload the spent token is taken again: %+v", rep)
	}
	// Another issuer is another provider: nothing is inherited.
	cfg := *p.cfg
	cfg.Issuer = "https://other.example"
	fresh, err := NewProvider(&cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fresh.Inherit(p)
	if fresh.revoked == p.revoked {
		t.Error("a provider of another issuer inherited the registry")
	}
}

// TestRevocationsExpire: an entry matters as long as a session started
// before it can live, and no longer; a later start is never refused.
func TestRevocationsExpire(t *testing.T) {
	r := newRevocations(time.Hour)
	at := time.Unix(1_000_000, 0)
	r.revoke("s", "", at)
	before, after := at.Add(-time.Minute).UnixMilli(), at.Add(time.Millisecond).UnixMilli()
	if !r.ended("s", "u", before, at.Add(59*time.Minute)) {
		t.Error("a session started before the logout passes")
	}
	if r.ended("s", "u", after, at.Add(time.Minute)) {
		t.Error("a session started after the logout is refused")
	}
	if r.ended("s", "u", before, at.Add(61*time.Minute)) {
		t.Error("an entry outlived the session lifetime")
	}
	r.revoke("x", "", at.Add(2*time.Hour)) // sweeps
	r.mu.RLock()
	_, kept := r.sids["s"]
	r.mu.RUnlock()
	if kept {
		t.Error("an expired entry was not swept")
	}
	if r.n.Load() != 1 {
		t.Errorf("entry count %d, want 1", r.n.Load())
	}
	r.extend(3 * time.Hour)
	if !r.ended("x", "", at.UnixMilli(), at.Add(4*time.Hour)) {
		t.Error("extend did not lengthen the entries' life")
	}
}

// TestBackchannelPathChecks: the endpoint cannot take the callback's or
// the sign-out's path.
func TestBackchannelPathChecks(t *testing.T) {
	op := newFakeOP(t)
	for _, path := range []string{"/oauth2/callback", "/oauth2/sign_out"} {
		c := &config.OIDC{Name: "x", Issuer: op.issuer(), ClientID: "edge", RedirectURI: "https://app.example.com/oauth2/callback",
			CookieSecrets: newTestProvider(t, op, nil).cfg.CookieSecrets, BackchannelLogoutPath: path}
		if _, err := NewProvider(c, Options{}); err == nil || !strings.Contains(err.Error(), "backchannel-logout-path") {
			t.Errorf("%s: %v", path, err)
		}
	}
}
