package identity

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/identity/store"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// Store mode ("session-store"): the cookie holds a ticket, "<id>.<secret>",
// and the store the session sealed with a key derived from the secret, so
// neither a dump of the store nor the id alone opens a session. A session
// verified in the store is served from the replica's cache for at most
// storeCacheFor: a session ended anywhere (sign-out, runtime API,
// back-channel logout) is refused everywhere within that time, and a busy
// session costs one store round trip a second per replica.

// storeCacheFor bounds how long a replica trusts a session it verified.
const storeCacheFor = time.Second

// storeTimeout bounds one store operation made while a request waits.
const storeTimeout = 2 * time.Second

// storePoll is how often a request waiting for another replica's refresh
// looks at the store.
const storePoll = 50 * time.Millisecond

// ErrNoStore: the operation needs a session store and the section has none
// (its sessions live in the browsers' cookies).
var ErrNoStore = errors.New("sessions are kept in cookies (no session-store)")

// errStoreDown marks a failed store operation: the request fails closed.
var errStoreDown = errors.New("session store unreachable")

// storeState is the store and its failure bookkeeping.
type storeState struct {
	st      store.Store
	replica string
	lastLog atomic.Int64 // unix ns of the last failure logged
	down    atomic.Bool  // a failure was logged and no success since
	flights storeFlights

	// The session count for the stats, read in the background at most
	// once a second: a stats page never waits on the store.
	count    atomic.Int64 // -1: unknown
	countAt  atomic.Int64 // unix ns of the last read started
	counting atomic.Bool
}

// active is the stats' session gauge: the last count read, and a new read
// started when that one is over a second old.
func (ss *storeState) active() (int64, bool) {
	now := time.Now().UnixNano()
	if now-ss.countAt.Load() >= int64(time.Second) && ss.counting.CompareAndSwap(false, true) {
		ss.countAt.Store(now)
		go func() {
			defer ss.counting.Store(false)
			ctx, cancel := storeCtx()
			defer cancel()
			n, err := ss.st.Count(ctx)
			if err != nil {
				n = -1
			}
			ss.count.Store(n)
		}()
	}
	n := ss.count.Load()
	return n, n >= 0
}

// newStore builds the store of c (nil: cookie mode).
func newStore(c *config.SessionStore, section string) (store.Store, error) {
	if c == nil {
		return nil, nil
	}
	o, err := StoreOptions(c)
	if err != nil {
		return nil, err
	}
	if o.Prefix == "" {
		o.Prefix = "gatehouse:" + section + ":"
	}
	return store.NewRedis(o)
}

// StoreOptions are the client options of a session-store line (secrets
// read, CA loaded), with c's prefix ("" when it has none). The ACME locks
// connect with them too.
func StoreOptions(c *config.SessionStore) (store.RedisOptions, error) {
	o := store.RedisOptions{Addrs: c.Addrs, Master: c.Master, Cluster: c.Cluster, Username: c.User, DB: c.DB,
		Prefix: c.Prefix, Timeout: time.Second}
	if c.Password.Kind != "" {
		pw, err := LoadSecret(c.Password)
		if err != nil {
			return o, fmt.Errorf("session-store password: %v", err)
		}
		o.Password = string(pw)
	}
	if c.TLS {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return o, fmt.Errorf("session-store ca-file: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return o, fmt.Errorf("session-store ca-file %s: no certificate", c.CAFile)
			}
			o.TLS.RootCAs = pool
		}
	}
	return o, nil
}

// ticket is what the cookie holds in store mode.
type ticket struct{ id, secret string }

func newTicket() ticket {
	var id [16]byte
	var sec [32]byte
	_, _ = rand.Read(id[:])
	_, _ = rand.Read(sec[:])
	return ticket{base64.RawURLEncoding.EncodeToString(id[:]), base64.RawURLEncoding.EncodeToString(sec[:])}
}

func (t ticket) String() string { return t.id + "." + t.secret }

// parseTicket accepts exactly what newTicket makes.
func parseTicket(v string) (ticket, bool) {
	id, sec, ok := strings.Cut(v, ".")
	if !ok || len(id) != 22 || len(sec) != 43 {
		return ticket{}, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(id); err != nil {
		return ticket{}, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(sec); err != nil {
		return ticket{}, false
	}
	return ticket{id, sec}, true
}

// ring is the per-session key; the id is the additional data, so a sealed
// session moved under another id does not open.
func (t ticket) ring(section string) (*keyring, error) {
	sec, _ := base64.RawURLEncoding.DecodeString(t.secret)
	return newKeyring([][]byte{sec}, "store session "+section)
}

// record seals s for the store under t.
func (p *Provider) record(t ticket, s *session, created time.Time) (*store.Record, error) {
	kr, err := t.ring(p.name)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	now := p.now()
	return &store.Record{Meta: store.Meta{
		ID: t.id, Sub: s.Sub, Sid: s.Sid, Email: claimString(s.Claims["email"]),
		Created: created, LastSeen: now, Replica: p.ss.replica, Expires: time.Unix(s.Exp, 0),
	}, Sealed: []byte(kr.seal(plain, []byte(t.id)))}, nil
}

// openRecord opens a stored session with the ticket's secret.
func (p *Provider) openRecord(t ticket, rec *store.Record, now time.Time) (*session, error) {
	kr, err := t.ring(p.name)
	if err != nil {
		return nil, err
	}
	plain, err := kr.open(string(rec.Sealed), []byte(t.id))
	if err != nil {
		return nil, err
	}
	var s session
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, err
	}
	if s.Sub == "" || now.Unix() >= s.Exp {
		return nil, errors.New("session ended")
	}
	return &s, nil
}

// storeFailed counts a store failure and logs it, at most once a second.
func (p *Provider) storeFailed(op string, err error) {
	p.Counters.StoreErrors.Add(1)
	now := time.Now().UnixNano()
	last := p.ss.lastLog.Load()
	if now-last >= int64(time.Second) && p.ss.lastLog.CompareAndSwap(last, now) {
		p.ss.down.Store(true)
		p.event(logging.LevelWarning, "oidc '%s': session store unreachable (%s): %v; requests that need a session get 503", p.name, op, err)
	}
}

// storeOK notes a store success, logging the recovery once.
func (p *Provider) storeOK() {
	if p.ss.down.Load() && p.ss.down.CompareAndSwap(true, false) {
		p.event(logging.LevelWarning, "oidc '%s': session store reachable again", p.name)
	}
}

func (p *Provider) storeUnavailable() *Reply {
	p.Counters.Unavailable.Add(1)
	return &Reply{Status: 503, Header: httpmsg.Headers{
		{Name: "Retry-After", Value: "5"},
		{Name: "Content-Type", Value: "text/plain; charset=utf-8"},
		{Name: "Cache-Control", Value: "no-store"},
	}, Body: []byte("The session store is not reachable.\n")}
}

func storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), storeTimeout)
}

// storeSession writes a new session and returns the cookie with its
// ticket (login).
func (p *Provider) storeSession(h httpmsg.Headers, s *session, tls bool) ([]string, error) {
	t := newTicket()
	rec, err := p.record(t, s, p.now())
	if err != nil {
		return nil, err
	}
	ctx, cancel := storeCtx()
	defer cancel()
	if err := p.ss.st.Put(ctx, rec); err != nil {
		p.storeFailed("login", err)
		return nil, errStoreDown
	}
	p.storeOK()
	// A session this browser had before is replaced: end it rather than
	// leave it to expire (best effort; it is no longer the cookie's).
	if v, ok := cookieValue(h, p.cookie); ok {
		if old, ok := parseTicket(v); ok {
			_, _ = p.ss.st.Delete(ctx, old.id)
		}
	}
	return p.sessionSetCookies(h, t.String(), s.Exp, tls), nil
}

// storedAuth is Authenticate's session path in store mode: the identity,
// or a reply (503 when the store fails), or neither (no valid session).
func (p *Provider) storedAuth(d *discovered, req *httpmsg.Request, now time.Time) (*Identity, *Reply) {
	v, ok := cookieValue(req.Header, p.cookie)
	if !ok || v == "" {
		return nil, nil
	}
	h := p.sessions.hash(v)
	if id := p.sessions.get(h, now, v); id != nil {
		return id, nil
	}
	t, ok := parseTicket(v)
	if !ok {
		return nil, nil
	}
	s, _, rep := p.loadStored(t, now)
	if s == nil {
		return nil, rep
	}
	if s.needsRefresh(now, p.refreshIn) {
		if s, rep = p.refreshStored(d, t, s, now); s == nil {
			return nil, rep
		}
	}
	id := s.identity(p.name)
	until := now.Add(storeCacheFor)
	if c := s.cacheUntil(p.refreshIn); c.Before(until) {
		until = c
	}
	p.sessions.put(h, id, until, v)
	return id, nil
}

// loadStored reads and opens the session of t: nil and a 503 when the store
// fails, nil and no reply when there is no such session.
func (p *Provider) loadStored(t ticket, now time.Time) (*session, *store.Record, *Reply) {
	ctx, cancel := storeCtx()
	rec, err := p.ss.st.Get(ctx, t.id, p.ss.replica, now)
	cancel()
	if errors.Is(err, store.ErrNotFound) {
		p.storeOK()
		return nil, nil, nil
	}
	if err != nil {
		p.storeFailed("read", err)
		return nil, nil, p.storeUnavailable()
	}
	p.storeOK()
	s, err := p.openRecord(t, rec, now)
	if err != nil {
		return nil, nil, nil // a ticket whose secret does not open the session: no session
	}
	return s, rec, nil
}

// storeFlight is one process's refresh of one stored session.
type storeFlight struct {
	done chan struct{}
	s    *session
	rep  *Reply
}

type storeFlights struct {
	mu sync.Mutex
	m  map[string]*storeFlight
	// failed holds, per session, when a refresh that failed while the
	// access token was still valid may be tried again (refreshRetry): a
	// provider that is down is not asked again on every store read.
	failed map[string]time.Time
}

// retryLater notes a failed refresh of session id, to try again at.
func (g *storeFlights) retryLater(id string, now, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed == nil {
		g.failed = make(map[string]time.Time)
	}
	if len(g.failed) >= 10000 {
		for k, t := range g.failed {
			if now.After(t) {
				delete(g.failed, k)
			}
		}
		if len(g.failed) >= 10000 {
			return
		}
	}
	g.failed[id] = at
}

// waitRetry reports whether a refresh of id failed a moment ago.
func (g *storeFlights) waitRetry(id string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.failed[id]
	if ok && !now.Before(at) {
		delete(g.failed, id)
		return false
	}
	return ok
}

func (g *storeFlights) join(id string) (*storeFlight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.m[id]; f != nil {
		return f, false
	}
	if g.m == nil {
		g.m = make(map[string]*storeFlight)
	}
	f := &storeFlight{done: make(chan struct{})}
	g.m[id] = f
	return f, true
}

func (g *storeFlights) land(id string, f *storeFlight, s *session, rep *Reply) {
	g.mu.Lock()
	delete(g.m, id)
	g.mu.Unlock()
	f.s, f.rep = s, rep
	close(f.done)
}

// refreshStored renews a stored session that is due, once for all
// replicas: in this process one request leads; across replicas the one
// that takes the store's lock redeems the refresh token and writes the
// result under the same ticket, and the others read it from the store. A
// request whose access token is still valid does not wait for another's
// refresh.
func (p *Provider) refreshStored(d *discovered, t ticket, s *session, now time.Time) (*session, *Reply) {
	valid := now.Unix() < s.AccessExp
	if d == nil {
		if valid {
			return s, nil
		}
		return nil, p.unavailable()
	}
	if valid && p.ss.flights.waitRetry(t.id, now) {
		return s, nil
	}
	f, lead := p.ss.flights.join(t.id)
	if !lead {
		if valid {
			return s, nil
		}
		timer := time.NewTimer(p.refreshWait)
		defer timer.Stop()
		select {
		case <-f.done:
			return f.s, f.rep
		case <-timer.C:
			p.logf("oidc '%s': gave up waiting %s for the refresh of %s's session", p.name, p.refreshWait, s.Sub)
			return nil, p.unavailable()
		}
	}
	ns, rep := p.refreshAcross(d, t, s, valid)
	p.ss.flights.land(t.id, f, ns, rep)
	return ns, rep
}

// refreshed reports whether cur is a later state of s than s itself.
func storedRefreshed(cur, s *session) bool {
	return cur.Refresh != s.Refresh || cur.AccessExp != s.AccessExp
}

// refreshAcross takes the store's lock for the session, or waits for the
// replica that holds it.
func (p *Provider) refreshAcross(d *discovered, t ticket, s *session, valid bool) (*session, *Reply) {
	owner := randomString()
	deadline := time.Now().Add(p.refreshWait)
	for {
		ctx, cancel := storeCtx()
		got, err := p.ss.st.Lock(ctx, t.id, owner, callTimeout+5*time.Second)
		cancel()
		if err != nil {
			p.storeFailed("refresh lock", err)
			return nil, p.storeUnavailable()
		}
		if got {
			return p.redeemStored(d, t, s, owner, valid)
		}
		if valid {
			// Another replica is refreshing; the token this one has
			// still works.
			return s, nil
		}
		timer := time.NewTimer(storePoll)
		<-timer.C
		cur, _, rep := p.loadStored(t, p.now())
		if cur == nil {
			return nil, rep
		}
		if storedRefreshed(cur, s) {
			return cur, nil
		}
		if time.Now().After(deadline) {
			p.logf("oidc '%s': gave up waiting %s for another replica's refresh of %s's session", p.name, p.refreshWait, s.Sub)
			return nil, p.unavailable()
		}
	}
}

// redeemStored runs the refresh under the lock: the session may have been
// refreshed by the replica that held the lock before, or it is redeemed
// here and written back under the same ticket.
func (p *Provider) redeemStored(d *discovered, t ticket, s *session, owner string, valid bool) (*session, *Reply) {
	defer func() {
		ctx, cancel := storeCtx()
		_ = p.ss.st.Unlock(ctx, t.id, owner) // at worst the lock expires
		cancel()
	}()
	cur, curRec, rep := p.loadStored(t, p.now())
	if cur == nil {
		return nil, rep
	}
	if storedRefreshed(cur, s) {
		return cur, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	ns, err := p.renew(ctx, d, cur)
	cancel()
	if err != nil {
		p.logf("oidc '%s': refresh for %s failed: %v", p.name, s.Sub, err)
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && !valid {
			// The provider refused the grant: the session is over on
			// every replica.
			ctx, cancel := storeCtx()
			_, _ = p.ss.st.Delete(ctx, t.id)
			cancel()
		}
		if valid {
			now := p.now()
			p.ss.flights.retryLater(t.id, now, now.Add(refreshRetry))
			return s, nil
		}
		return nil, nil
	}
	rec, err := p.record(t, ns, curRec.Created)
	if err != nil {
		return nil, nil
	}
	ctx, cancel = storeCtx()
	defer cancel()
	if err := p.ss.st.Put(ctx, rec); err != nil {
		p.Counters.RefreshFailures.Add(1)
		p.storeFailed("refresh", err)
		return nil, p.storeUnavailable()
	}
	p.Counters.Refreshes.Add(1)
	return ns, nil
}

// endStored ends the session of the request's ticket (sign-out) and returns
// its ID token for id_token_hint; false when the store failed, so the
// session may still be alive.
func (p *Provider) endStored(h httpmsg.Headers) (string, bool) {
	v, ok := cookieValue(h, p.cookie)
	if !ok {
		return "", true
	}
	p.sessions.remove(p.sessions.hash(v))
	t, ok := parseTicket(v)
	if !ok {
		return "", true
	}
	s, _, rep := p.loadStored(t, p.now())
	if rep != nil {
		return "", false
	}
	ctx, cancel := storeCtx()
	defer cancel()
	if _, err := p.ss.st.Delete(ctx, t.id); err != nil {
		p.storeFailed("sign-out", err)
		return "", false
	}
	if s == nil {
		return "", true
	}
	return s.IDToken, true
}

// HasStore reports whether the section keeps its sessions in a store.
func (p *Provider) HasStore() bool { return p.ss != nil }

// Sessions lists the stored sessions, all or those of subject sub (the
// runtime API's "show identity sessions"). ErrNoStore in cookie mode.
func (p *Provider) Sessions(ctx context.Context, sub string) ([]store.Meta, error) {
	if p.ss == nil {
		return nil, ErrNoStore
	}
	l, err := p.ss.st.List(ctx, store.BySub, sub)
	if err != nil {
		p.storeFailed("list", err)
	}
	return l, err
}

// EndSession ends the stored session id; false when there was none. Every
// replica refuses it within storeCacheFor.
func (p *Provider) EndSession(ctx context.Context, id string) (bool, error) {
	if p.ss == nil {
		return false, ErrNoStore
	}
	ok, err := p.ss.st.Delete(ctx, id)
	if err != nil {
		p.storeFailed("end session", err)
	}
	return ok, err
}

// EndSessions ends every stored session of a subject (by store.BySub) or
// of a provider session (store.BySid: back-channel logout) and returns how
// many ended. Every replica refuses them within storeCacheFor.
func (p *Provider) EndSessions(ctx context.Context, by store.Index, value string) (int, error) {
	if p.ss == nil {
		return 0, ErrNoStore
	}
	n, err := p.ss.st.DeleteBy(ctx, by, value)
	if err != nil {
		p.storeFailed("end sessions", err)
	}
	return n, err
}
