package identity

import (
	"context"
	"crypto/sha256"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Providers that rotate refresh tokens (Ory Hydra, Okta, Auth0, Keycloak,
// node's oidc-provider) take a refresh token redeemed twice for a stolen
// one and revoke the whole grant. A browser sends several requests at once,
// all with the same cookie, so the edge redeems a session's refresh token
// once: one request flies the refresh, the others go on while the access
// token is still valid, or wait for that refresh and answer with its
// result. A finished refresh is kept a while for requests that still carry
// the old cookie (sent before the browser saw the new one).
//
// Sessions are cookies, so this is per process: replicas behind a balancer
// that spreads one browser's requests can still race each other (see
// docs/identity.md).

// refreshGrace is how long a finished refresh keeps answering for the old
// cookie: past the later of its end and the old access token's expiry.
const refreshGrace = time.Minute

// refreshRetry is how long after a failed refresh the session's requests
// whose access token is still valid go on without trying again: a provider
// that is down would otherwise hold each of them for the call's timeout.
const refreshRetry = 5 * time.Second

// maxKeptBytes bounds the sealed sessions of the finished refreshes kept
// for late requests (a session may take 30 kB of cookies); beyond it,
// results are not kept. Flights in progress are always shared.
const maxKeptBytes = 32 << 20

// refreshKey names one refresh of one session: the refresh token and the
// access token expiry it renews. The expiry is part of it because a provider
// that does not rotate hands the same refresh token back, and the next
// refresh of that session must not be answered with this one's result.
type refreshKey [sha256.Size]byte

func keyOf(s *session) refreshKey {
	b := make([]byte, 0, len(s.Refresh)+24)
	b = append(b, s.Refresh...)
	b = append(b, 0)
	b = strconv.AppendInt(b, s.AccessExp, 10)
	return sha256.Sum256(b)
}

// flight is one refresh. Its result fields are written before done closes.
type flight struct {
	done   chan struct{}
	sealed string // the renewed session, sealed
	exp    int64  // its end (unix), for the cookies' Max-Age
	err    error
	keep   time.Time // the result answers later requests until then
	landed bool      // under refreshFlights.mu
}

// refreshFlights are the refreshes in progress, and the recent results.
type refreshFlights struct {
	mu    sync.Mutex
	m     map[refreshKey]*flight
	kept  int // bytes of sealed sessions in m
	swept time.Time
}

// join returns the flight for key and whether the caller must fly it. A
// recent failure answers only callers whose access token is still valid:
// one that has expired tries again rather than lose its session.
func (g *refreshFlights) join(key refreshKey, now time.Time, valid bool) (*flight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.m[key]; f != nil {
		if !f.landed || (now.Before(f.keep) && (f.err == nil || valid)) {
			return f, false
		}
		g.kept -= len(f.sealed) // replaced below
	}
	if g.m == nil {
		g.m = make(map[refreshKey]*flight)
	}
	f := &flight{done: make(chan struct{})}
	g.m[key] = f
	return f, true
}

// land records the result of the flight f flown for key and wakes its
// waiters; the result stays until keep (a success only within the budget).
func (g *refreshFlights) land(key refreshKey, f *flight, sealed string, exp int64, err error, keep, now time.Time) {
	g.mu.Lock()
	f.sealed, f.exp, f.err, f.keep, f.landed = sealed, exp, err, keep, true
	if now.Sub(g.swept) >= refreshGrace {
		g.swept = now
		for k, x := range g.m {
			if x.landed && x != f && !now.Before(x.keep) {
				g.kept -= len(x.sealed)
				delete(g.m, k)
			}
		}
	}
	if g.kept+len(sealed) > maxKeptBytes {
		delete(g.m, key)
	} else {
		g.kept += len(sealed)
	}
	g.mu.Unlock()
	close(f.done)
}

// refreshDue handles a session whose access token is due for a refresh. It
// returns the identity to go on with, or the reply (307 with the renewed
// session), or neither when the refresh failed (no session).
func (p *Provider) refreshDue(d *discovered, s *session, req *httpmsg.Request, tls bool, now time.Time) (*Identity, *Reply) {
	valid := now.Unix() < s.AccessExp
	if d == nil {
		if valid {
			return s.identity(p.name), nil
		}
		return nil, p.unavailable()
	}
	key := keyOf(s)
	f, lead := p.flights.join(key, now, valid)
	if lead {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		ns, sealed, err := p.redeem(ctx, d, s)
		cancel()
		end := p.now()
		var exp int64
		keep := end.Add(refreshRetry)
		if err == nil {
			exp = ns.Exp
			keep = end.Add(refreshGrace)
			if k := time.Unix(s.AccessExp, 0).Add(refreshGrace); k.After(keep) {
				keep = k
			}
		} else {
			p.logf("oidc '%s': refresh for %s failed: %v", p.name, s.Sub, err)
		}
		p.flights.land(key, f, sealed, exp, err, keep, end)
	} else if valid {
		// Another request is refreshing (or has): this one goes on with
		// the token it has, which the refresh does not revoke.
		return s.identity(p.name), nil
	} else {
		select {
		case <-f.done:
		default:
			t := time.NewTimer(p.refreshWait)
			select {
			case <-f.done:
				t.Stop()
			case <-t.C:
				p.logf("oidc '%s': gave up waiting %s for the refresh of %s's session", p.name, p.refreshWait, s.Sub)
				return nil, p.unavailable()
			}
		}
	}
	if f.err != nil {
		if valid {
			// The token it has still works; a request after refreshRetry
			// tries again.
			return s.identity(p.name), nil
		}
		return nil, nil
	}
	return nil, p.refreshed(req, tls, f)
}

// redeem renews s with its refresh token and seals the new session.
func (p *Provider) redeem(ctx context.Context, d *discovered, s *session) (*session, string, error) {
	ns, err := p.renew(ctx, d, s)
	if err != nil {
		return nil, "", err
	}
	sealed, err := p.seal(ns)
	if err != nil {
		p.Counters.RefreshFailures.Add(1)
		return nil, "", err
	}
	p.Counters.Refreshes.Add(1)
	return ns, sealed, nil
}

// renew redeems s's refresh token at the provider for a new session (the
// caller counts the success once it is kept).
func (p *Provider) renew(ctx context.Context, d *discovered, s *session) (*session, error) {
	ctx = oidc.ClientContext(ctx, p.client)
	old := &oauth2.Token{RefreshToken: s.Refresh, Expiry: time.Unix(1, 0)}
	tok, err := d.oauth.TokenSource(ctx, old).Token()
	if err != nil {
		p.Counters.RefreshFailures.Add(1)
		return nil, err
	}
	ns, err := p.sessionFromToken(ctx, d, tok, "", s)
	if err != nil {
		p.Counters.RefreshFailures.Add(1)
		return nil, err
	}
	return ns, nil
}

// refreshed sends the browser back to the same URL (307 keeps the method
// and body) with the renewed session: every request that used the refresh
// gets the new cookie.
func (p *Provider) refreshed(req *httpmsg.Request, tls bool, f *flight) *Reply {
	h := httpmsg.Headers{{Name: "Location", Value: SafeRedirect(originTarget(req))}, {Name: "Cache-Control", Value: "no-store"}}
	for _, c := range p.sessionSetCookies(req.Header, f.sealed, f.exp, tls) {
		h = append(h, httpmsg.Header{Name: "Set-Cookie", Value: c})
	}
	return &Reply{Status: 307, Header: h}
}
