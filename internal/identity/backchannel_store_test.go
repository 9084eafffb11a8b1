package identity

import (
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// storeBackchannelProvider is a store-mode replica with the endpoint.
func storeBackchannelProvider(t *testing.T, op *fakeOP, srv *testenv.Redis, replica string) *Provider {
	t.Helper()
	p := newTestProvider(t, op, func(c *config.OIDC) {
		c.SessionStore = &config.SessionStore{Kind: "redis", Addrs: []string{srv.Addr}}
		c.BackchannelLogoutPath = bcPath
	})
	p.ss.replica = replica
	// The second sweep runs when a test says (a timer would outlive it).
	p.later = func(func()) {}
	t.Cleanup(p.Stop)
	return p
}

// TestStoreBackchannelEndsSessionsEverywhere: a logout taken by one replica
// ends the sessions in the store, so another replica refuses them once its
// one-second trust has passed; the token cannot be replayed at the other
// replica; the sid, sid+sub and sub rules hold as in cookie mode.
func TestStoreBackchannelEndsSessionsEverywhere(t *testing.T) {
	srv := testenv.StartRedis(t)
	op := newFakeOP(t)
	a := storeBackchannelProvider(t, op, srv, "a")
	b := storeBackchannelProvider(t, op, srv, "b")
	clk := offsetClock(b)

	op.sid = "s1"
	s1 := login(t, a, "/")
	op.sid = "s2"
	s2 := login(t, a, "/")
	op.sid = ""
	nosid := login(t, a, "/")
	op.sub, op.sid = "bob", "s3"
	bob := login(t, a, "/")
	op.sub = "alice"
	for _, c := range [][]string{s1, s2, nosid, bob} {
		if !sessionOK(b, c) { // b trusts them for a second now
			t.Fatal("a stored session is refused by the other replica")
		}
	}

	tok := signLogout(t, logoutClaimsFor(op, "s1", "alice"), jose.ES256, op.key, op.kid, "logout+jwt")
	if rep := postLogout(a, "application/x-www-form-urlencoded", logoutForm(tok)); rep == nil || rep.Status != 200 {
		t.Fatalf("logout at a: %+v", rep)
	}
	if sessionOK(a, s1) {
		t.Error("the replica that took the logout still serves the session")
	}
	clk.Store(int64(storeCacheFor + 100*time.Millisecond))
	if sessionOK(b, s1) || sessionOK(b, nosid) {
		t.Error("the other replica serves a session of the ended sid (or the sub's session without a sid) past its one-second trust")
	}
	if !sessionOK(b, s2) || !sessionOK(b, bob) {
		t.Error("a logout of one sid ended another sid's or another user's session")
	}
	if desc := logoutError400(t, "replay at the other replica", postLogout(b, "application/x-www-form-urlencoded", logoutForm(tok))); !strings.Contains(desc, "already used") {
		t.Errorf("replay at the other replica: %q", desc)
	}

	// sub alone: every session of alice, at once in the store.
	if rep := postLogout(b, "application/x-www-form-urlencoded", logoutForm(op.logoutToken(nil))); rep == nil || rep.Status != 200 {
		t.Fatalf("sub logout at b: %+v", rep)
	}
	clk.Store(int64(2*storeCacheFor + 200*time.Millisecond))
	if sessionOK(b, s2) {
		t.Error("a sub logout left a session of the sub")
	}
	if !sessionOK(b, bob) {
		t.Error("a sub logout of alice ended bob's session")
	}
	if l, err := a.Sessions(t.Context(), "alice"); err != nil || len(l) != 0 {
		t.Errorf("alice's sessions left in the store: %v %v", l, err)
	}
}

// TestStoreBackchannelStoreDown: with the store unreachable the logout is
// answered 503 and its token is not spent, so the provider's retry, once
// the store is back, ends the session.
func TestStoreBackchannelStoreDown(t *testing.T) {
	srv := testenv.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	op := newFakeOP(t)
	p := storeBackchannelProvider(t, op, srv, "a")
	op.sid = "s1"
	cookies := login(t, p, "/")
	tok := signLogout(t, logoutClaimsFor(op, "s1", "alice"), jose.ES256, op.key, op.kid, "logout+jwt")
	srv.Kill()
	if rep := postLogout(p, "application/x-www-form-urlencoded", logoutForm(tok)); rep == nil || rep.Status != 503 {
		t.Fatalf("logout with the store down: %+v, want 503", rep)
	}
	srv.Restart()
	testenv.Eventually(t, 20*time.Second, func() bool {
		rep := postLogout(p, "application/x-www-form-urlencoded", logoutForm(tok))
		return rep != nil && rep.Status == 200
	}, "the provider's retry of the same token was not taken once the store returned")
	clk := offsetClock(p)
	clk.Store(int64(storeCacheFor + 100*time.Millisecond))
	if sessionOK(p, cookies) {
		t.Error("the session survived the retried logout")
	}
}

// TestStoreBackchannelSweepsRefreshInFlight: a refresh that read the
// session before a logout deleted it writes the renewed session back; the
// logout's second sweep ends it, and spares a session started after the
// logout.
func TestStoreBackchannelSweepsRefreshInFlight(t *testing.T) {
	srv := testenv.StartRedis(t)
	op := newFakeOP(t)
	op.ttl = 10 * time.Minute
	a := storeBackchannelProvider(t, op, srv, "a")
	b := storeBackchannelProvider(t, op, srv, "b")
	sweeps := make(chan func(), 1)
	b.later = func(f func()) { sweeps <- f }
	op.sid = "s1"
	cookies := login(t, a, "/")
	offsetClock(a).Store(int64(10*time.Minute + time.Second)) // the access token has expired: the request refreshes
	release := holdRefreshes(t, op)
	refreshing := authAsync(a, browserReq("/", cookies...))
	awaitHeld(t, op)

	if rep := postLogout(b, "application/x-www-form-urlencoded", logoutForm(signLogout(t, logoutClaimsFor(op, "s1", "alice"), jose.ES256, op.key, op.kid, "logout+jwt"))); rep == nil || rep.Status != 200 {
		t.Fatalf("logout: %+v", rep)
	}
	time.Sleep(2 * time.Millisecond) // a login after the logout's millisecond
	op.sid = "s2"
	later := login(t, b, "/")
	op.sid = "s1" // the refreshed ID token names the provider session it renews
	release()
	await(t, refreshing, "the request that was refreshing")
	if l, err := b.Sessions(t.Context(), "alice"); err != nil || len(l) != 2 {
		t.Fatalf("before the sweep: %d sessions (%v), want the refreshed one written back and the later login", len(l), err)
	}
	var sweep func()
	select {
	case sweep = <-sweeps:
	case <-time.After(20 * time.Second):
		t.Fatal("the logout scheduled no second sweep")
	}
	sweep()
	l, err := b.Sessions(t.Context(), "alice")
	if err != nil || len(l) != 1 || l[0].Sid != "s2" {
		t.Fatalf("after the sweep: %+v %v, want the later login alone", l, err)
	}
	clk := offsetClock(b)
	clk.Store(int64(storeCacheFor + 100*time.Millisecond))
	if sessionOK(b, cookies) {
		t.Error("the session written back by the refresh passes after the sweep")
	}
	if !sessionOK(b, later) {
		t.Error("the sweep ended a login made after the logout")
	}
}
