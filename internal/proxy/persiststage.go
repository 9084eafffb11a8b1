package proxy

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/persist"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// Persistence is a backend's cookie persistence stage: the "cookie" line,
// "option persist", force-/ignore-persist and use-server rules. The
// transaction calls it at three points (persistChoose once the backend is
// known, persistRoute after the backend's rules, persistResponse on the
// server's answer); pickServer honours the server it chose.
type Persistence struct {
	Cookie *persist.Cookie // nil: no persistence cookie
	// Always is "option persist": a down server named by the cookie or a
	// use-server rule still gets the request.
	Always     bool
	Rules      []PersistRule
	UseServers []UseServer
	// dyn is "cookie ... dynamic" and "dynamic-cookie-key": servers
	// without a cookie value get one from their address. The runtime API
	// changes both (SetDynamic, SetDynamicKey).
	dyn atomic.Pointer[dynConf]
}

// dynConf is the dynamic cookie setting.
type dynConf struct {
	on  bool
	key string
}

// SetDynamic turns dynamic cookies on or off, keeping the key.
func (p *Persistence) SetDynamic(on bool) {
	c := dynConf{on: on}
	if old := p.dyn.Load(); old != nil {
		c.key = old.key
	}
	p.dyn.Store(&c)
}

// SetDynamicKey sets the dynamic cookie key, keeping the on/off state.
func (p *Persistence) SetDynamicKey(key string) {
	c := dynConf{key: key}
	if old := p.dyn.Load(); old != nil {
		c.on = old.on
	}
	p.dyn.Store(&c)
}

// PersistRule is a compiled force-persist or ignore-persist rule.
type PersistRule struct {
	Force bool
	Cond  *acl.Cond
}

// UseServer is a compiled use-server rule: a server, or a format that
// names one per request.
type UseServer struct {
	Server *Server
	Name   *logging.Format
	Cond   *acl.Cond
}

// persistTxn is a transaction's persistence state.
type persistTxn struct {
	st persist.State
	// target is the server the cookie or a use-server rule chose (HAProxy's
	// SF_ASSIGNED target); nil: balancing chooses.
	target *Server
	// cookieCaptured, resCookieCaptured: %CC and %CS were taken before
	// the cookie stage changed the Cookie or Set-Cookie headers.
	cookieCaptured, resCookieCaptured bool
}

// dynCookie caches a server's dynamic cookie value for one address.
type dynCookie struct {
	addr  netip.AddrPort
	key   string
	value string
}

// CookieValue is the server's persistence cookie value: its "cookie", else
// with "cookie ... dynamic" the hash of the key and its current address,
// recomputed when DNS moves it, as HAProxy regenerates it.
func (p *Persistence) CookieValue(s *Server) string {
	if p == nil || s.Cookie != "" {
		return s.Cookie
	}
	c := p.dyn.Load()
	if c == nil || !c.on || c.key == "" {
		return ""
	}
	ap := s.Addr()
	if d := s.dyn.Load(); d != nil && d.addr == ap && d.key == c.key {
		return d.value
	}
	d := &dynCookie{addr: ap, key: c.key, value: persist.DynamicValue(c.key, ap)}
	s.dyn.Store(d)
	return d.value
}

// persistChoose applies force-persist and ignore-persist as soon as the
// backend is known (before its rules, as HAProxy): the first rule whose
// condition holds decides.
func (t *Txn) persistChoose(be *Backend) {
	p := be.Persist
	if p == nil {
		return
	}
	for _, r := range p.Rules {
		if r.Cond.Match(&t.acl) {
			if r.Force {
				t.persist.st.Force = true
			} else {
				t.persist.st.Ignore = true
			}
			return
		}
	}
}

// persistRoute runs the use-server rules, then reads the persistence
// cookie, after the backend's http-request rules (HAProxy's
// process_server_rules then http_process_request).
func (t *Txn) persistRoute(be *Backend) {
	p := be.Persist
	if p == nil {
		return
	}
	st := &t.persist.st
	if !st.Assigned {
		for _, r := range p.UseServers {
			if !r.Cond.Match(&t.acl) {
				continue
			}
			srv := r.Server
			if r.Name != nil {
				// A name that resolves to no server ends the rules: the
				// request is balanced.
				srv = be.serverNamed(t.evalFormat(r.Name))
				if srv == nil {
					break
				}
			}
			if srv.Reachable() || p.Always || st.Force {
				st.Assigned, st.Direct = true, true
				t.persist.target = srv
				break
			}
			// A down server: the next rule may name one that is up.
		}
	}
	t.persistCookies(be)
}

// persistCookies reads the request's persistence cookie (also for the log
// of a request denied by the rules, as HAProxy does).
func (t *Txn) persistCookies(be *Backend) {
	p := be.Persist
	if p == nil || p.Cookie == nil {
		return
	}
	t.captureRequestCookie()
	st := &t.persist.st
	now := time.Now().Unix()
	p.Cookie.Request(&t.Req.Header, st, now, func(value string) persist.Choice {
		down := false
		// The first server with this value that can take the request, in
		// declaration order: backups may share a value with actives.
		for _, s := range be.Servers {
			if p.CookieValue(s) != value {
				continue
			}
			if s.Reachable() || p.Always || st.Force {
				t.persist.target = s
				if s.Reachable() {
					return persist.ChoseUp
				}
				return persist.ChoseDown
			}
			down = true
		}
		if down {
			return persist.ServerDown
		}
		return persist.NoServer
	})
}

// persistResponse rewrites or inserts the persistence cookie in srv's
// answer, after the response rules.
func (t *Txn) persistResponse(srv *Server) {
	p := t.be.Persist
	if p == nil || p.Cookie == nil {
		return
	}
	t.captureResponseCookie()
	p.Cookie.Response(&t.Resp.Header, &t.persist.st, persist.Response{
		Now:    time.Now().Unix(),
		Server: true,
		Value:  p.CookieValue(srv),
		Method: t.Req.Method,
		Status: t.Resp.Status,
	})
}

// persistTarget is the server persistence assigned, unless it is the one
// to avoid.
func (t *Txn) persistTarget(exclude *upstream.Server) *Server {
	if s := t.persist.target; s != nil && t.persist.st.Assigned && s.Server != exclude {
		return s
	}
	return nil
}

// persistRedispatch drops the assignment when a retry is redispatched:
// the request is balanced again.
func (t *Txn) persistRedispatch() {
	t.persist.st.Assigned, t.persist.st.Direct = false, false
	t.persist.target = nil
}

// persistMoved notes that a redispatch moved the request off the server
// its cookie named (HAProxy's assign_server_and_queue: V becomes D).
func (t *Txn) persistMoved() {
	if t.persist.st.Req == persist.ReqValid {
		t.persist.st.Req = persist.ReqDown
	}
}

// persistFlags are the two cookie characters of %tsc for backend be ('-'
// when it has no cookie to log).
func (t *Txn) persistFlags(be *Backend) (byte, byte) {
	if be == nil || be.Persist == nil || be.Persist.Cookie == nil || !be.Persist.Cookie.Logged() {
		return '-', '-'
	}
	return t.persist.st.Flags()
}

// serverNamed finds a server of the backend by name.
func (b *Backend) serverNamed(name string) *Server {
	for _, s := range b.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}
