package identity

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/identity/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// countingStore counts the store's round trips by operation.
type countingStore struct {
	store.Store
	gets atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, id, replica string, now time.Time) (*store.Record, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, id, replica, now)
}

// storeProvider is a provider in store mode on srv, called replica.
func storeProvider(t *testing.T, op *fakeOP, srv *testenv.Redis, replica string) (*Provider, *countingStore) {
	t.Helper()
	p := newTestProvider(t, op, func(c *config.OIDC) {
		c.SessionStore = &config.SessionStore{Kind: "redis", Addrs: []string{srv.Addr}}
	})
	p.ss.replica = replica
	cs := &countingStore{Store: p.ss.st}
	p.ss.st = cs
	t.Cleanup(p.Stop)
	return p, cs
}

// dump is every key and value in the server, as text.
func dump(t *testing.T, srv *testenv.Redis) string {
	t.Helper()
	var b strings.Builder
	r, _ := store.NewRedis(store.RedisOptions{Addrs: []string{srv.Addr}, Timeout: 5 * time.Second})
	defer r.Close()
	c := r.Client()
	ks, err := c.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		fmt.Fprintf(&b, "%s: ", k)
		switch c.Type(context.Background(), k).Val() {
		case "hash":
			fmt.Fprint(&b, c.HGetAll(context.Background(), k).Val())
		case "zset":
			fmt.Fprint(&b, c.ZRange(context.Background(), k, 0, -1).Val())
		default:
			fmt.Fprint(&b, c.Get(context.Background(), k).Val())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// In store mode the cookie holds a ticket; the store holds the session
// sealed with the ticket's secret: no token can be read from a dump.
func TestStoreLoginKeepsTokensOutOfTheStore(t *testing.T) {
	srv := testenv.StartRedis(t)
	op := newFakeOP(t)
	op.sid = "op-sid-1"
	p, _ := storeProvider(t, op, srv, "r1")
	cookies := login(t, p, "/")
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v, want one ticket", cookies)
	}
	name, v, _ := strings.Cut(cookies[0], "=")
	if name != p.CookieName() {
		t.Fatalf("cookie %s", name)
	}
	tk, ok := parseTicket(v)
	if !ok {
		t.Fatalf("cookie value %q is not a ticket", v)
	}
	id, rep := p.Authenticate(browserReq("/", cookies...), true)
	if id == nil || id.Subject != "alice" || id.String("email") != "alice@example.com" {
		t.Fatalf("session refused: %v %+v", id, rep)
	}
	d := dump(t, srv)
	if !strings.Contains(d, "s:"+tk.id) {
		t.Fatalf("session %s not in the store:\n%s", tk.id, d)
	}
	op.mu.Lock()
	var secrets []string
	for rt := range op.live {
		secrets = append(secrets, rt)
	}
	for at := range op.tokens {
		secrets = append(secrets, at)
	}
	op.mu.Unlock()
	secrets = append(secrets, tk.secret)
	for _, s := range secrets {
		if strings.Contains(d, s) {
			t.Fatalf("the store dump holds a token or the ticket's secret %q:\n%s", s, d)
		}
	}
	// The ID token (its payload, base64) is not there either.
	if strings.Contains(d, "eyJ") {
		t.Fatalf("the store dump holds a JWT:\n%s", d)
	}
	l, err := p.Sessions(t.Context(), "")
	if err != nil || len(l) != 1 || l[0].Sub != "alice" || l[0].Sid != "op-sid-1" || l[0].Email != "alice@example.com" || l[0].Replica != "r1" {
		t.Fatalf("Sessions = %+v, %v", l, err)
	}
	// A ticket whose secret was changed opens nothing.
	bad := tk.id + "." + flip(tk.secret, 3)
	if id, rep := p.Authenticate(browserReq("/", p.CookieName()+"="+bad), true); id != nil || rep == nil || rep.Status != 302 {
		t.Fatalf("forged ticket: %v %+v, want a login redirect", id, rep)
	}
}

// A session verified within the last second costs no store round trip;
// after that, one.
func TestStoreRoundTrips(t *testing.T) {
	srv := testenv.StartRedis(t)
	op := newFakeOP(t)
	p, cs := storeProvider(t, op, srv, "r1")
	clk := offsetClock(p)
	cookies := login(t, p, "/")
	before := cs.gets.Load()
	for i := range 3 {
		if id, rep := p.Authenticate(browserReq("/", cookies...), true); id == nil {
			t.Fatalf("request %d refused: %+v", i, rep)
		}
	}
	if n := cs.gets.Load() - before; n != 1 {
		t.Fatalf("%d store reads for 3 requests within a second, want 1", n)
	}
	clk.Store(int64(storeCacheFor + 100*time.Millisecond))
	if id, _ := p.Authenticate(browserReq("/", cookies...), true); id == nil {
		t.Fatal("refused after a second")
	}
	if n := cs.gets.Load() - before; n != 2 {
		t.Fatalf("%d store reads, want 2 (one more after the second)", n)
	}
}

// Sign-out ends the session in the store: a cookie copied before is
// refused on this replica at once and on another within a second.
func TestStoreSignOutEndsSession(t *testing.T) {
	srv := testenv.StartRedis(t)
	op := newFakeOP(t)
	p1, _ := storeProvider(t, op, srv, "r1")
	p2, _ := storeProvider(t, op, srv, "r2")
	cookies := login(t, p1, "/")
	for _, p := range []*Provider{p1, p2} {
		if id, rep := p.Authenticate(browserReq("/", cookies...), true); id == nil {
			t.Fatalf("%s: session refused before sign-out: %+v", p.ss.replica, rep)
		}
	}
	_, rep := p1.Authenticate(browserReq("/oauth2/sign_out", cookies...), true)
	if rep == nil || rep.Status != 302 {
		t.Fatalf("sign-out: %+v", rep)
	}
	if loc, _ := rep.Header.Get("Location"); !strings.Contains(loc, "id_token_hint=") {
		t.Errorf("sign-out without id_token_hint: %s", loc)
	}
	if id, _ := p1.Authenticate(browserReq("/", cookies...), true); id != nil {
		t.Fatal("copied cookie accepted after sign-out on the same replica")
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		id, _ := p2.Authenticate(browserReq("/", cookies...), true)
		return id == nil
	}, "copied cookie still accepted by the other replica")
}

// Sessions end by sub and by sid (back-channel logout, runtime API) on
// every replica.
func TestStoreEndSessions(t *testing.T) {
	srv := testenv.StartRedis(t)
	op := newFakeOP(t)
	p, _ := storeProvider(t, op, srv, "r1")
	op.sid = "sid-A"
	a1 := login(t, p, "/")
	a2 := login(t, p, "/")
	op.sid = "sid-B"
	b := login(t, p, "/")
	l, err := p.Sessions(t.Context(), "alice")
	if err != nil || len(l) != 3 {
		t.Fatalf("Sessions(alice) = %d, %v; want 3", len(l), err)
	}
	// The stats' gauge counts them (read in the background).
	testenv.Eventually(t, 10*time.Second, func() bool {
		kind, n, ok := p.ActiveSessions()
		return kind == "redis" && n == 3 && ok
	}, "ActiveSessions never reported the 3 sessions")
	if n, err := p.EndSessions(t.Context(), store.BySid, "sid-A"); n != 2 || err != nil {
		t.Fatalf("EndSessions sid-A = %d, %v; want 2", n, err)
	}
	if id, _ := p.Authenticate(browserReq("/", b...), true); id == nil {
		t.Fatal("session of another sid ended too")
	}
	for _, c := range [][]string{a1, a2} {
		testenv.Eventually(t, 10*time.Second, func() bool {
			id, _ := p.Authenticate(browserReq("/", c...), true)
			return id == nil
		}, "session of the ended sid still accepted")
	}
	if n, err := p.EndSessions(t.Context(), store.BySub, "alice"); n != 1 || err != nil {
		t.Fatalf("EndSessions sub alice = %d, %v; want 1", n, err)
	}
	// Cookie mode has no store to end sessions in.
	pc := newTestProvider(t, op, nil)
	if _, err := pc.EndSessions(t.Context(), store.BySub, "alice"); err != ErrNoStore {
		t.Fatalf("cookie mode EndSessions: %v, want ErrNoStore", err)
	}
}

// Requests due for a refresh, on three replicas at once, redeem the
// refresh token once (the provider rotates refresh tokens and revokes the
// grant on reuse); every one of them goes on with the renewed session.
func TestStoreRefreshOnceAcrossReplicas(t *testing.T) {
	srv := testenv.StartRedis(t)
	op := newFakeOP(t)
	op.rotate = true
	op.ttl = 10 * time.Minute
	var ps []*Provider
	for i := range 3 {
		p, _ := storeProvider(t, op, srv, fmt.Sprintf("r%d", i+1))
		offsetClock(p).Store(0)
		ps = append(ps, p)
	}
	cookies := login(t, ps[0], "/")
	op.mu.Lock()
	op.ttl = time.Hour
	op.mu.Unlock()
	for _, p := range ps {
		offsetClock(p).Store(int64(10*time.Minute + time.Second)) // the access token has expired
	}
	release := holdRefreshes(t, op)
	var chans []<-chan authResult
	for i := range 9 {
		chans = append(chans, authAsync(ps[i%3], browserReq("/page", cookies...)))
	}
	awaitHeld(t, op)
	release()
	for i, ch := range chans {
		r := await(t, ch, "concurrent request")
		if r.id == nil || r.id.Subject != "alice" {
			t.Fatalf("request %d: want the renewed identity, got %v %+v", i, r.id, r.rep)
		}
	}
	if c := op.refreshCount(); c != 1 {
		t.Fatalf("%d refresh_token grants for one session on three replicas, want 1", c)
	}
	op.mu.Lock()
	revoked := op.revoked
	op.mu.Unlock()
	if revoked {
		t.Fatal("the provider revoked the grant")
	}
	// The renewed session is in the store: a later request on any replica
	// uses it without another refresh.
	for _, p := range ps {
		offsetClock(p).Store(int64(10*time.Minute + 5*time.Second))
		if id, rep := p.Authenticate(browserReq("/", cookies...), true); id == nil {
			t.Fatalf("%s: renewed session refused: %+v", p.ss.replica, rep)
		}
	}
	if c := op.refreshCount(); c != 1 {
		t.Fatalf("%d refresh_token grants after the refresh, want 1", c)
	}
}

// lockedLog collects log lines.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) logf(f string, a ...any) {
	l.mu.Lock()
	fmt.Fprintf(&l.b, f+"\n", a...)
	l.mu.Unlock()
}

func (l *lockedLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// With the store down, session requests get 503 (never a pass, never a
// login loop), bearer requests are served, the failure is counted and
// logged at most once a second; when the store returns (with its data),
// the session works again without anything restarted.
func TestStoreDownFailsClosed(t *testing.T) {
	srv := testenv.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	op := newFakeOP(t)
	p, _ := storeProvider(t, op, srv, "r1")
	var log lockedLog
	p.logf = log.logf
	clk := offsetClock(p)
	cookies := login(t, p, "/")
	if id, _ := p.Authenticate(browserReq("/", cookies...), true); id == nil {
		t.Fatal("session refused")
	}
	srv.Kill()
	clk.Store(int64(storeCacheFor + 100*time.Millisecond)) // past the replica's cache
	begin := time.Now()
	n := 0
	for time.Since(begin) < 1500*time.Millisecond {
		id, rep := p.Authenticate(browserReq("/", cookies...), true)
		if id != nil || rep == nil || rep.Status != 503 {
			t.Fatalf("with the store down: %v %+v, want 503", id, rep)
		}
		n++
	}
	if id, rep := p.Authenticate(apiReq(op.accessJWT(nil)), true); id == nil {
		t.Fatalf("bearer request refused with the store down: %+v", rep)
	}
	if got := p.Counters.StoreErrors.Load(); got < uint64(n) {
		t.Fatalf("StoreErrors = %d after %d failed requests", got, n)
	}
	if logged := log.count("session store unreachable"); logged < 1 || logged > 2 {
		t.Fatalf("%d failure lines for %d failures over 1.5s, want 1 or 2", logged, n)
	}
	srv.Restart()
	back := time.Now()
	testenv.Eventually(t, 20*time.Second, func() bool {
		id, _ := p.Authenticate(browserReq("/", cookies...), true)
		return id != nil
	}, "session not served again after the store returned")
	if d := time.Since(back); d > 5*time.Second {
		t.Errorf("served again %v after the store returned, want within 5s", d)
	}
	if log.count("session store reachable again") != 1 {
		t.Errorf("recovery not logged once:\n%s", log.b.String())
	}
}

// A new login replaces the browser's previous stored session: it ends
// rather than lingering in the store until it expires.
func TestStoreReloginEndsPreviousSession(t *testing.T) {
	srv := testenv.StartRedis(t)
	op := newFakeOP(t)
	p, _ := storeProvider(t, op, srv, "r1")
	first := login(t, p, "/")
	second := login(t, p, "/", first...)
	if l, err := p.Sessions(t.Context(), ""); err != nil || len(l) != 1 {
		t.Fatalf("sessions after a second login = %+v, %v; want only the new one", l, err)
	}
	if id, _ := p.Authenticate(browserReq("/", first...), true); id != nil {
		t.Fatal("the replaced session still works")
	}
	if id, rep := p.Authenticate(browserReq("/", second...), true); id == nil {
		t.Fatalf("the new session refused: %+v", rep)
	}
}

// A refresh the provider refuses while the access token is still valid is
// not tried again on every store read: the session goes on with its token
// and the provider is asked again after refreshRetry.
func TestStoreFailedRefreshWaitsBeforeRetrying(t *testing.T) {
	srv := testenv.StartRedis(t)
	op := newFakeOP(t)
	op.rotate = true
	op.ttl = 10 * time.Minute
	p, _ := storeProvider(t, op, srv, "r1")
	clk := offsetClock(p)
	cookies := login(t, p, "/")
	op.mu.Lock()
	op.revoked = true // every refresh is refused
	op.mu.Unlock()
	at := 9*time.Minute + 30*time.Second // due (refresh-before 1m), still valid
	for i := range 4 {
		clk.Store(int64(at + time.Duration(i)*(storeCacheFor+100*time.Millisecond)))
		if id, rep := p.Authenticate(browserReq("/", cookies...), true); id == nil {
			t.Fatalf("request %d: session with a valid token refused: %+v", i, rep)
		}
	}
	if c := op.refreshCount(); c != 1 {
		t.Fatalf("%d refresh attempts within %v, want 1", c, refreshRetry)
	}
	clk.Store(int64(at + refreshRetry + time.Second))
	p.Authenticate(browserReq("/", cookies...), true)
	if c := op.refreshCount(); c != 2 {
		t.Fatalf("%d refresh attempts after %v, want 2", c, refreshRetry)
	}
}
