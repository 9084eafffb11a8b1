package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// opGrants reads how many refresh_token grants the provider saw.
func opGrants(t testing.TB, env *identityEnv) (ok, refused int) {
	t.Helper()
	resp, err := http.Get(env.OP + "/test/grants")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var g struct {
		Refresh struct{ OK, Refused int } `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&g); err != nil {
		t.Fatalf("provider grant counts: %v", err)
	}
	return g.Refresh.OK, g.Refresh.Refused
}

// cookieHeader renders the edge's session cookies as a Cookie value.
func cookieHeader(cs []*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

type burstResult struct {
	status  int
	cookies []string // name=value of the edge's session cookies set
	err     error
}

// burst sends n requests at once, all with the same Cookie header, without
// following redirects.
func burst(t *testing.T, env *identityEnv, cookie string, n int) []burstResult {
	t.Helper()
	ch := make(chan burstResult, n)
	for i := 0; i < n; i++ {
		go func() {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/app/burst?i=%d", env.Edge, i), nil)
			req.Header.Set("Cookie", cookie)
			resp, err := noRedirect.Do(req)
			if err != nil {
				ch <- burstResult{err: err}
				return
			}
			resp.Body.Close()
			r := burstResult{status: resp.StatusCode}
			for _, c := range resp.Cookies() {
				if strings.HasPrefix(c.Name, "_gatehouse_corp") && c.MaxAge >= 0 && c.Value != "" {
					r.cookies = append(r.cookies, c.Name+"="+c.Value)
				}
			}
			ch <- r
		}()
	}
	out := make([]burstResult, 0, n)
	deadline := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case r := <-ch:
			out = append(out, r)
		case <-deadline:
			t.Fatalf("only %d of %d concurrent requests answered within 30s", len(out), n)
		}
	}
	return out
}

// Concurrent requests of one browser whose access token has expired, with
// a provider that rotates refresh tokens and revokes the grant when one is
// redeemed twice (node's oidc-provider, as Ory Hydra, Okta, Auth0): before,
// each request redeemed the same refresh token, the second redemption
// revoked the grant, and the user was logged out (307, 401, 307, 401).
// Now one request redeems it, the others answer with its result, and the
// session lives on through the next refresh too.
func TestIdentityConcurrentRefresh(t *testing.T) {
	// The renewed session must pass the checks after each burst before it
	// is due in turn: 7 s of a busy machine's time between them.
	const ttl = 8 * time.Second
	env := startIdentityEnvWith(t, &identityEnv{AccessTTL: ttl, OIDCLines: "    refresh-before 1s"})
	c, _ := newBrowserClient(t)
	start, _ := http.NewRequest("GET", env.Edge+"/app/start", nil)
	resp := loginHTTP(t, env, c, start, opUser, opPassword)
	if resp.StatusCode != 200 {
		resp.Body.Close()
		t.Fatalf("login ended with %d at %s", resp.StatusCode, resp.Request.URL)
	}
	resp.Body.Close()
	cookie := cookieHeader(sessionCookies(t, env, c))
	if cookie == "" {
		t.Fatal("no session cookie after the login")
	}
	issued := time.Now() // the access token was issued before this

	const n = 6
	for round := 1; round <= 2; round++ {
		// Wait out the access token: a request now must refresh before it
		// can pass, so none may go on with the old one.
		time.Sleep(time.Until(issued.Add(ttl + 1100*time.Millisecond)))
		results := burst(t, env, cookie, n)
		issued = time.Now()
		var renewed []string
		for i, r := range results {
			if r.err != nil || r.status != 307 || len(r.cookies) == 0 {
				t.Fatalf("round %d: request %d: status %d cookies %v err %v; want 307 with the renewed session (all: %+v)", round, i, r.status, r.cookies, r.err, results)
			}
			if renewed == nil {
				renewed = r.cookies
			} else if !slices.Equal(r.cookies, renewed) {
				t.Errorf("round %d: request %d got another session than the others", round, i)
			}
		}
		ok, refused := opGrants(t, env)
		if ok != round || refused != 0 {
			t.Fatalf("round %d: the provider saw %d refresh grants succeed and %d refused; want %d and 0 (one redemption per refresh)", round, ok, refused, round)
		}
		cookie = strings.Join(renewed, "; ")
		// The renewed session passes, and its cookie stays at the edge.
		e := rawEcho(t, env, "/app/after", "Cookie: "+cookie+"; app=1")
		if got := header(e, "Cookie"); got != "app=1" {
			t.Errorf("round %d: the gateway got Cookie %q, want app=1", round, got)
		}
		if c := verifyEdgeToken(t, env, header(e, "Authorization")); c.Subject != "corp/"+opUser {
			t.Errorf("round %d: edge token for %q", round, c.Subject)
		}
	}
}
