package identity

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// offsetClock makes p's clock run ahead of the real one by the returned
// value (nanoseconds). The provider's tokens expire in real time, so a test
// moves the edge's clock past their expiry instead of waiting.
func offsetClock(p *Provider) *atomic.Int64 {
	var off atomic.Int64
	p.now = func() time.Time { return time.Now().Add(time.Duration(off.Load())) }
	p.ready.Load().bearer.now = p.now
	return &off
}

type authResult struct {
	id  *Identity
	rep *Reply
}

// authAsync runs Authenticate in a goroutine.
func authAsync(p *Provider, req *httpmsg.Request) <-chan authResult {
	ch := make(chan authResult, 1)
	go func() {
		id, rep := p.Authenticate(req, true)
		ch <- authResult{id, rep}
	}()
	return ch
}

func await(t *testing.T, ch <-chan authResult, what string) authResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no answer within 20s", what)
	}
	return authResult{}
}

// holdRefreshes makes the provider's refresh grants wait until the returned
// function is called (also at cleanup).
func holdRefreshes(t *testing.T, op *fakeOP) (release func()) {
	hold := make(chan struct{})
	op.mu.Lock()
	op.hold, op.held = hold, make(chan struct{}, 64)
	op.mu.Unlock()
	var once atomic.Bool
	release = func() {
		if once.CompareAndSwap(false, true) {
			close(hold)
		}
	}
	t.Cleanup(release)
	return release
}

func awaitHeld(t *testing.T, op *fakeOP) {
	t.Helper()
	select {
	case <-op.held:
	case <-time.After(20 * time.Second):
		t.Fatal("no refresh reached the provider within 20s")
	}
}

// Requests that all carry a session whose access token has expired redeem
// its refresh token once. The provider rotates refresh tokens and revokes
// the grant when one is redeemed twice: before, eight requests made eight
// redemptions, seven refused, and the grant was gone.
func TestRefreshSingleFlight(t *testing.T) {
	op := newFakeOP(t)
	op.rotate = true
	op.ttl = 10 * time.Minute
	p := newTestProvider(t, op, nil)
	clk := offsetClock(p)
	cookies := login(t, p, "/")
	op.mu.Lock()
	op.ttl = time.Hour // the renewed session is far from due at the moved clock
	op.mu.Unlock()
	clk.Store(int64(10*time.Minute + time.Second)) // the access token has expired

	release := holdRefreshes(t, op)
	const n = 8
	var chans []<-chan authResult
	for i := 0; i < n; i++ {
		chans = append(chans, authAsync(p, browserReq("/page", cookies...)))
	}
	awaitHeld(t, op)
	release()
	var renewed []string
	for i, ch := range chans {
		r := await(t, ch, "concurrent request")
		if r.rep == nil || r.rep.Status != 307 {
			t.Fatalf("request %d: want 307 with the renewed session, got id=%v reply=%+v", i, r.id, r.rep)
		}
		got := cookiePairs(r.rep.Header)
		if len(got) == 0 {
			t.Fatalf("request %d: 307 without the renewed session cookie: %v", i, r.rep.Header)
		}
		if renewed == nil {
			renewed = got
		} else if !slices.Equal(got, renewed) {
			t.Errorf("request %d got another session than request 0", i)
		}
	}
	if c := op.refreshCount(); c != 1 {
		t.Fatalf("%d refresh_token grants for one session, want 1", c)
	}
	// A request still carrying the old cookie (sent before the browser saw
	// the new one) gets the same result, without another redemption.
	r := await(t, authAsync(p, browserReq("/late", cookies...)), "late request")
	if r.rep == nil || r.rep.Status != 307 || !slices.Equal(cookiePairs(r.rep.Header), renewed) || op.refreshCount() != 1 {
		t.Fatalf("late request: %+v, %d redemptions", r.rep, op.refreshCount())
	}
	if id, rep := p.Authenticate(browserReq("/", renewed...), true); id == nil {
		t.Fatalf("renewed session refused: %+v", rep)
	}
	op.mu.Lock()
	revoked := op.revoked
	op.mu.Unlock()
	if revoked {
		t.Fatal("the provider revoked the grant")
	}
}

// While one request refreshes, another whose access token is still valid
// goes on at once; one whose token has expired waits, and gets 503 when the
// refresh takes longer than the wait allows.
func TestRefreshWhileInFlight(t *testing.T) {
	op := newFakeOP(t)
	op.rotate = true
	op.ttl = 10 * time.Minute
	p := newTestProvider(t, op, nil)
	clk := offsetClock(p)
	cookies := login(t, p, "/")

	clk.Store(int64(9*time.Minute + 30*time.Second)) // due, still valid
	release := holdRefreshes(t, op)
	leader := authAsync(p, browserReq("/a", cookies...))
	awaitHeld(t, op)
	req := browserReq("/b", append(cookies, "app=1")...)
	r := await(t, authAsync(p, req), "request during the refresh")
	if r.id == nil || r.id.Subject != "alice" {
		t.Fatalf("a request with a still-valid token did not go on: %+v", r.rep)
	}
	if c, _ := req.Header.Get("Cookie"); c != "app=1" {
		t.Errorf("session cookie reaches the mesh: %q", c)
	}
	release()
	if r := await(t, leader, "refreshing request"); r.rep == nil || r.rep.Status != 307 {
		t.Fatalf("refreshing request: %+v", r.rep)
	}
	if c := op.refreshCount(); c != 1 {
		t.Fatalf("%d redemptions, want 1", c)
	}

	// A fresh session; its token expired; the refresh hangs.
	op2 := newFakeOP(t)
	op2.rotate = true
	op2.ttl = 10 * time.Minute
	p2 := newTestProvider(t, op2, nil)
	clk2 := offsetClock(p2)
	p2.refreshWait = 200 * time.Millisecond
	cookies2 := login(t, p2, "/")
	clk2.Store(int64(10*time.Minute + time.Second))
	release2 := holdRefreshes(t, op2)
	leader2 := authAsync(p2, browserReq("/a", cookies2...))
	awaitHeld(t, op2)
	r = await(t, authAsync(p2, browserReq("/b", cookies2...)), "waiting request")
	if r.rep == nil || r.rep.Status != 503 {
		t.Fatalf("request past the wait: want 503, got id=%v %+v", r.id, r.rep)
	}
	release2()
	if r := await(t, leader2, "refreshing request"); r.rep == nil || r.rep.Status != 307 {
		t.Fatalf("refreshing request: %+v", r.rep)
	}
	if c := op2.refreshCount(); c != 1 {
		t.Fatalf("%d redemptions, want 1", c)
	}
}

// An access token that lives less than refresh-before is refreshed at half
// its life: before, it was due the moment it arrived, and every request
// refreshed and redirected again, forever.
func TestShortAccessTokenDoesNotLoop(t *testing.T) {
	op := newFakeOP(t)
	op.ttl = 30 * time.Second // refresh-before is 1m
	p := newTestProvider(t, op, nil)
	clk := offsetClock(p)
	cookies := login(t, p, "/")
	if id, rep := p.Authenticate(browserReq("/", cookies...), true); id == nil {
		t.Fatalf("a fresh session was refused or refreshed at once: %+v", rep)
	}
	clk.Store(int64(20 * time.Second)) // past half of its life
	_, rep := p.Authenticate(browserReq("/", cookies...), true)
	if rep == nil || rep.Status != 307 {
		t.Fatalf("no refresh at 20s of 30: %+v", rep)
	}
	if id, rep := p.Authenticate(browserReq("/", cookiePairs(rep.Header)...), true); id == nil {
		t.Fatalf("the refreshed session is refreshed again at once: %+v", rep)
	}
	if c := op.refreshCount(); c != 1 {
		t.Errorf("%d redemptions, want 1", c)
	}
}

// Finished refreshes are kept for late requests within a byte budget and
// until their time is up; a failure answers only requests whose access
// token is still valid (they go on), so one whose token expired tries again.
func TestRefreshFlightsKeep(t *testing.T) {
	var g refreshFlights
	now := time.Now()
	k := func(i int) refreshKey { return keyOf(&session{Refresh: "rt", AccessExp: int64(i)}) }
	fly := func(i int, sealed string, err error, keep time.Time) {
		t.Helper()
		f, lead := g.join(k(i), now, false)
		if !lead {
			t.Fatalf("flight %d: not the leader", i)
		}
		g.land(k(i), f, sealed, 1, err, keep, now)
	}
	fly(1, "sealed", nil, now.Add(time.Minute))
	for _, valid := range []bool{false, true} {
		if f, lead := g.join(k(1), now, valid); lead || f.sealed != "sealed" {
			t.Fatalf("valid=%v: a finished refresh is not kept", valid)
		}
	}
	if f, lead := g.join(k(1), now.Add(2*time.Minute), false); !lead {
		t.Fatal("a refresh past its keep time answers again")
	} else {
		g.land(k(1), f, "again", 1, nil, now, now) // kept until now: gone at the sweep
	}
	fly(2, "", errTooLarge, now.Add(refreshRetry))
	if f, lead := g.join(k(2), now, true); lead || f.err == nil {
		t.Fatal("a request with a valid token tries a refresh that just failed again")
	}
	fly(2, "", errTooLarge, now.Add(refreshRetry)) // expired token: flown again
	big := string(make([]byte, maxKeptBytes+1))
	fly(3, big, nil, now.Add(time.Minute))
	if _, lead := g.join(k(3), now, false); !lead {
		t.Fatal("a refresh beyond the byte budget is kept")
	}
	// The sweep drops what expired and gives its bytes back.
	g.mu.Lock()
	g.swept = time.Time{}
	g.mu.Unlock()
	now = now.Add(5 * time.Minute)
	fly(4, "x", nil, now.Add(time.Minute))
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.kept != 1 || len(g.m) != 2 { // k(4), and k(3) joined above, never landed
		t.Errorf("after the sweep: %d bytes in %d flights, want 1 in 2", g.kept, len(g.m))
	}
}

// A refresh that fails while the access token is still valid does not end
// the session early: the request goes on, and so do the session's requests
// for refreshRetry without calling the provider again. Once the token has
// expired, a request tries again, and a failure then is no session.
func TestRefreshFailureWithValidToken(t *testing.T) {
	op := newFakeOP(t)
	op.rotate = true
	op.ttl = 10 * time.Minute
	p := newTestProvider(t, op, nil)
	clk := offsetClock(p)
	cookies := login(t, p, "/")
	op.mu.Lock()
	op.revoked = true // every refresh is refused
	op.mu.Unlock()

	clk.Store(int64(9*time.Minute + 30*time.Second))
	for i := 0; i < 3; i++ {
		if id, rep := p.Authenticate(browserReq("/", cookies...), true); id == nil {
			t.Fatalf("request %d with a still-valid token after a failed refresh: %+v", i, rep)
		}
	}
	if c := op.refreshCount(); c != 1 {
		t.Fatalf("%d refresh attempts within %s, want 1", c, refreshRetry)
	}
	clk.Store(int64(10*time.Minute + time.Second))
	_, rep := p.Authenticate(browserReq("/", cookies...), true)
	if rep == nil || rep.Status != 302 || op.refreshCount() != 2 {
		t.Fatalf("expired token after failed refreshes: %d attempts, reply %+v; want a second attempt and a login", op.refreshCount(), rep)
	}
}
