package identity

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func browserReq(uri string, cookies ...string) *httpmsg.Request {
	r := &httpmsg.Request{Method: "GET", URI: uri, Header: httpmsg.Headers{
		{Name: "Host", Value: "app.example.com"}, {Name: "Accept", Value: "text/html,application/xhtml+xml"}}}
	if len(cookies) > 0 {
		r.Header.Add("Cookie", strings.Join(cookies, "; "))
	}
	return r
}

// cookiePairs turns Set-Cookie values into "name=value" pairs, dropping deletions.
func cookiePairs(h httpmsg.Headers) []string {
	var out []string
	for _, v := range h.Values(nil, "Set-Cookie") {
		pair, attrs, _ := strings.Cut(v, ";")
		if strings.Contains(attrs, "Max-Age=0") {
			continue
		}
		out = append(out, pair)
	}
	return out
}

// login runs the whole browser flow for target and returns the session
// cookies; the browser's callback request also carries the cookies carry
// (a session it had).
func login(t *testing.T, p *Provider, target string, carry ...string) []string {
	t.Helper()
	id, rep := p.Authenticate(browserReq(target), true)
	if id != nil || rep == nil || rep.Status != 302 {
		t.Fatalf("no login redirect: %v %+v", id, rep)
	}
	loc, _ := rep.Header.Get("Location")
	state := cookiePairs(rep.Header)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != 302 {
		t.Fatalf("provider answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	id, rep = p.Authenticate(browserReq(cb.RequestURI(), append(state, carry...)...), true)
	if id != nil || rep == nil || rep.Status != 302 {
		t.Fatalf("callback: %v %+v", id, rep)
	}
	if got, _ := rep.Header.Get("Location"); got != SafeRedirect(target) {
		t.Fatalf("callback redirects to %q, want %q", got, SafeRedirect(target))
	}
	for _, v := range rep.Header.Values(nil, "Set-Cookie") {
		if !strings.Contains(v, "HttpOnly") || !strings.Contains(v, "SameSite=Lax") || !strings.Contains(v, "Secure") {
			t.Errorf("cookie attributes: %s", v)
		}
	}
	return cookiePairs(rep.Header)
}

func TestLoginFlow(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	cookies := login(t, p, "/app/page?x=1")
	req := browserReq("/app/page?x=1", append(cookies, "other=1")...)
	req.Header.Add("X-Forwarded-User", "mallory")
	id, rep := p.Authenticate(req, true)
	if rep != nil {
		t.Fatalf("session refused: %+v", rep)
	}
	if id.Subject != "alice" || id.String("email") != "alice@example.com" || id.String("groups") != "staff,dev" {
		t.Fatalf("identity: %s %v", id.Subject, id.flat)
	}
	if c, _ := req.Header.Get("Cookie"); c != "other=1" {
		t.Errorf("session cookie reaches the mesh: Cookie %q", c)
	}
	if req.Header.Has("X-Forwarded-User") {
		t.Error("client X-Forwarded-User kept")
	}
	// Cached path gives the same identity.
	id2, _ := p.Authenticate(browserReq("/", cookies...), true)
	if id2 != id {
		t.Error("second request not served from the cache")
	}
	if p.Counters.Logins.Load() != 1 {
		t.Errorf("logins = %d", p.Counters.Logins.Load())
	}
}

func TestOpenRedirectThroughLogin(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	for _, target := range []string{"//evil.example", "/\\evil.example", "/%2F%2Fevil.example", "/%5Cevil", "/\t/evil.example"} {
		// login() checks the final Location equals SafeRedirect(target), which is "/" for all.
		if SafeRedirect(target) != "/" {
			t.Fatalf("%q considered safe", target)
		}
		login(t, p, target)
	}
}

func TestNoSessionAnswers(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	cookies := login(t, p, "/")
	tampered := make([]string, len(cookies))
	for i, c := range cookies {
		k, v, _ := strings.Cut(c, "=")
		tampered[i] = k + "=" + flip(v, len(v)/2)
	}
	tests := []struct {
		name   string
		req    *httpmsg.Request
		status int
	}{
		{"API POST", &httpmsg.Request{Method: "POST", URI: "/api", Header: httpmsg.Headers{{Name: "Accept", Value: "text/html"}}}, 401},
		{"JSON GET", &httpmsg.Request{Method: "GET", URI: "/api", Header: httpmsg.Headers{{Name: "Accept", Value: "application/json"}}}, 401},
		{"XHR", &httpmsg.Request{Method: "GET", URI: "/", Header: httpmsg.Headers{{Name: "Accept", Value: "text/html"}, {Name: "X-Requested-With", Value: "XMLHttpRequest"}}}, 401},
		{"fetch", &httpmsg.Request{Method: "GET", URI: "/", Header: httpmsg.Headers{{Name: "Accept", Value: "text/html"}, {Name: "Sec-Fetch-Mode", Value: "cors"}}}, 401},
		{"OPTIONS preflight", &httpmsg.Request{Method: "OPTIONS", URI: "/", Header: httpmsg.Headers{{Name: "Accept", Value: "*/*"}}}, 401},
		{"browser", browserReq("/"), 302},
		{"tampered cookie, browser", browserReq("/", tampered...), 302},
		{"tampered cookie, API", &httpmsg.Request{Method: "DELETE", URI: "/x", Header: httpmsg.Headers{{Name: "Cookie", Value: strings.Join(tampered, "; ")}}}, 401},
		{"garbage bearer", &httpmsg.Request{Method: "GET", URI: "/", Header: httpmsg.Headers{{Name: "Authorization", Value: "Bearer abc"}}}, 401},
	}
	for _, tc := range tests {
		id, rep := p.Authenticate(tc.req, true)
		if id != nil || rep == nil || rep.Status != tc.status {
			t.Errorf("%s: id=%v reply=%+v, want %d", tc.name, id, rep, tc.status)
			continue
		}
		if tc.status == 401 {
			if w, _ := rep.Header.Get("WWW-Authenticate"); !strings.HasPrefix(w, "Bearer") {
				t.Errorf("%s: WWW-Authenticate %q", tc.name, w)
			}
			if rep.Header.Has("Location") {
				t.Errorf("%s: 401 with a Location", tc.name)
			}
		}
	}
}

func TestCallbackRefusals(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	_, rep := p.Authenticate(browserReq("/start"), true)
	state := cookiePairs(rep.Header)
	loc, _ := rep.Header.Get("Location")
	u, _ := url.Parse(loc)
	st := u.Query().Get("state")
	tests := []struct {
		name string
		req  *httpmsg.Request
	}{
		{"no state", browserReq("/oauth2/callback?code=x")},
		{"state without cookie", browserReq("/oauth2/callback?code=x&state=" + st)},
		{"other state", browserReq("/oauth2/callback?code=x&state="+strings.Repeat("A", 43), state...)},
		{"bad code", browserReq("/oauth2/callback?code=x&state="+st, state...)},
		{"provider error", browserReq("/oauth2/callback?error=access_denied&state="+st, state...)},
	}
	for _, tc := range tests {
		id, rep := p.Authenticate(tc.req, true)
		if id != nil || rep == nil || rep.Status != 403 || len(cookiePairs(rep.Header)) != 0 {
			t.Errorf("%s: %v %+v", tc.name, id, rep)
		}
	}
}

func TestSignOut(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	cookies := login(t, p, "/")
	_, rep := p.Authenticate(browserReq("/oauth2/sign_out", cookies...), true)
	if rep == nil || rep.Status != 302 {
		t.Fatalf("sign-out: %+v", rep)
	}
	loc, _ := rep.Header.Get("Location")
	u, _ := url.Parse(loc)
	if !strings.HasPrefix(loc, op.issuer()+"/logout") || u.Query().Get("id_token_hint") == "" {
		t.Errorf("end_session redirect: %s", loc)
	}
	if len(cookiePairs(rep.Header)) != 0 {
		t.Errorf("sign-out sets cookies: %v", rep.Header)
	}
	var cleared bool
	for _, v := range rep.Header.Values(nil, "Set-Cookie") {
		cleared = cleared || (strings.HasPrefix(v, p.cookie+"=;") && strings.Contains(v, "Max-Age=0"))
	}
	if !cleared {
		t.Errorf("session cookie not cleared: %v", rep.Header)
	}
}

func TestRefresh(t *testing.T) {
	op := newFakeOP(t)
	op.ttl = 10 * time.Minute
	p := newTestProvider(t, op, nil)
	clk := offsetClock(p)
	cookies := login(t, p, "/")
	clk.Store(int64(9*time.Minute + 30*time.Second)) // within refresh-before (1m) of expiry
	_, rep := p.Authenticate(browserReq("/page?a=b", cookies...), true)
	if rep == nil || rep.Status != 307 {
		t.Fatalf("no refresh: %+v", rep)
	}
	if loc, _ := rep.Header.Get("Location"); loc != "/page?a=b" {
		t.Errorf("refresh goes to %q", loc)
	}
	if p.Counters.Refreshes.Load() != 1 || len(cookiePairs(rep.Header)) == 0 {
		t.Errorf("refreshes=%d cookies=%v", p.Counters.Refreshes.Load(), rep.Header)
	}
	// The renewed session passes; when it is due in turn, it is refreshed
	// again (the provider hands back the same refresh token: the first
	// refresh's result must not answer for the second).
	renewed := cookiePairs(rep.Header)
	if id, rep := p.Authenticate(browserReq("/", renewed...), true); id == nil {
		t.Fatalf("renewed session refused: %+v", rep)
	}
	clk.Store(int64(19*time.Minute + 30*time.Second))
	_, rep = p.Authenticate(browserReq("/", renewed...), true)
	if rep == nil || rep.Status != 307 || op.refreshCount() != 2 {
		t.Fatalf("second refresh: %d redemptions, reply %+v", op.refreshCount(), rep)
	}
	if again := cookiePairs(rep.Header); len(again) == 0 || again[0] == renewed[0] {
		t.Errorf("second refresh answered with the first one's session")
	}
}

func TestChunkedSession(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	s := &session{Iss: op.issuer(), Sub: "bob", Exp: time.Now().Add(time.Hour).Unix(),
		Claims: map[string]json.RawMessage{"big": json.RawMessage(`"` + strings.Repeat("x", 9000) + `"`)}}
	sc, err := p.sealSession(nil, s, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc) < 3 {
		t.Fatalf("want chunks, got %d cookies", len(sc))
	}
	for _, c := range sc {
		if len(c) > 4096 || strings.Contains(c, "Secure") {
			t.Errorf("cookie of %d bytes / Secure on plain HTTP", len(c))
		}
	}
	id, rep := p.Authenticate(browserReq("/", cookiePairs(httpHeaders("Set-Cookie", sc))...), false)
	if rep != nil || id.Subject != "bob" {
		t.Fatalf("chunked session refused: %+v", rep)
	}
}

func httpHeaders(name string, vals []string) httpmsg.Headers {
	var h httpmsg.Headers
	for _, v := range vals {
		h.Add(name, v)
	}
	return h
}

// TestLoginReturnsToTargetWithURLInQuery: the login flow returns to the
// page's own path and query; a "://" in the query is not the end of a scheme.
func TestLoginReturnsToTargetWithURLInQuery(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	// login() checks that the callback sends the browser back to exactly
	// this target.
	login(t, p, "/public/page?u=http://x/app/secret")
	if got := originTarget(browserReq("http://app.example.com/a?b=c")); got != "/a?b=c" {
		t.Errorf("absolute-form target returns to %q", got)
	}
	if got := originTarget(browserReq("/a?")); got != "/a?" {
		t.Errorf("empty query returns to %q", got)
	}
}

// TestSignOutMatchesPathOnly: a link whose query holds the sign-out or
// callback path does not sign the user out or end in the callback.
func TestSignOutMatchesPathOnly(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	cookies := login(t, p, "/")
	for _, uri := range []string{"/app?u=http://x/oauth2/sign_out", "/app?u=http://x/oauth2/callback"} {
		id, rep := p.Authenticate(browserReq(uri, cookies...), true)
		if rep != nil || id == nil || id.Subject != "alice" {
			t.Fatalf("%s: answered %+v instead of passing with the session", uri, rep)
		}
	}
}
