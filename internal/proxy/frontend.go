package proxy

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/h2"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpcomp"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/sock"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// Process holds what every frontend of one runtime shares.
type Process struct {
	ActConn atomic.Int64 // %ac: connections being processed by the whole process
	PID     int
	Stale   atomic.Bool // set when a reload replaced this runtime: connections move on (handover.go)
	// stopping: retired by a stop, not a reload; nothing takes over.
	stopping atomic.Bool
	// Captured counts the invalid messages captured for "show errors"
	// (counters.ErrorCapture); each capture's event number comes from it.
	Captured atomic.Uint64

	// Sessions being served (registered once per connection, not per
	// request), so a reload or a stop can wake those waiting for their
	// next request at once instead of waiting for keep-alive timeouts.
	idleMu   sync.Mutex
	sessions map[*session]struct{}

	h2conns h2Registry

	// ParkAfter: how long an idle keep-alive connection keeps its
	// goroutine before it is parked (park.go); 0: DefaultParkAfter, <0: never.
	ParkAfter time.Duration
	poll      *poller // parked connections; created at the first park
	parkOff   atomic.Bool

	// Vars are the runtime's proc variables (a reload starts from the
	// configuration's global set-var lines, as a new HAProxy process).
	Vars *acl.SharedVars
}

// Retire marks the runtime stale (a reload replaced it) and wakes every
// connection that waits between requests, which moves to its listener's
// successor (handover.go), or closes when there is none; busy ones move or
// close after their current request.
func (p *Process) Retire() {
	p.Stale.Store(true)
	p.h2conns.shutdown()
	p.idleMu.Lock()
	for s := range p.sessions {
		s.wake()
	}
	pl := p.poll
	p.idleMu.Unlock()
	// Parked connections move now (no park succeeds once Stale is set).
	if pl != nil {
		for _, r := range pl.close() {
			r.pollClosed()
		}
	}
}

// register and unregister track the sessions Retire may have to wake.
func (p *Process) register(s *session) {
	p.idleMu.Lock()
	if p.sessions == nil {
		p.sessions = map[*session]struct{}{}
	}
	p.sessions[s] = struct{}{}
	p.idleMu.Unlock()
}

func (p *Process) unregister(s *session) {
	p.idleMu.Lock()
	delete(p.sessions, s)
	p.idleMu.Unlock()
}

// Frontend is the compiled runtime of a frontend (or the frontend half of a listen).
type Frontend struct {
	Stick    *StickTables // nil without stick tables
	Name     string
	ID       int
	Proc     *Process
	Counters *counters.Proxy
	MaxConn  int64 // 0: unlimited

	Timeouts   config.Timeouts
	Limits     http1.Limits
	ConnMode   config.ConnMode
	ReqRules   []*Rule
	RespRules  []*Rule
	AfterRules []*Rule // http-after-response
	// ContentRules: tcp-request content rules, run on every request
	// before monitor-uri and the http-request rules (contentrules.go).
	ContentRules []ContentRule
	// SessionRules: tcp-request session rules, run once per connection
	// after its handshakes (connstick.go).
	SessionRules []ContentRule
	Routes       []Route
	Default      *Backend
	ForwardFor   *ForwardFor
	OriginalTo   *OriginalTo // option originalto
	Errors       *ErrorPages
	// Comp is "compression"; nil without it. CompLevel is the level
	// compressors start with (tune.comp.maxlevel's default, 1).
	Comp        *httpcomp.Settings
	CompLevel   int
	CompLimits  *CompLimits // maxcomprate, maxcompcpuusage (comprate.go); nil: none, uncounted
	Stats       Service     // "stats enable" on this frontend; nil otherwise
	StatsPrefix string
	// ACMEChallenge answers the HTTP-01 challenges of pending ACME orders
	// (/.well-known/acme-challenge/<token>) before any rule; nil without
	// an acme section. It returns the key authorization and whether the
	// path is a pending token's.
	ACMEChallenge func(path string) (string, bool)
	// MonitorURI ("monitor-uri") is answered before any rule: 200, or 503
	// when one of MonitorFail matches. Not logged.
	MonitorURI  string
	MonitorFail []*acl.Cond
	// UsableServers answers nbsrv(<backend>) for this frontend's rules.
	UsableServers func(backend string) int
	// Proxies answers the fe_*, be_*, srv_* and queue fetches.
	Proxies acl.ProxyInfo

	Log         *logging.Logger // nil: no access log
	LogFormat   *logging.Format
	LogFormatSD *logging.Format // rfc5424 structured data; nil: none
	DontLogNull bool
	// LogASAP, LogSeparateErrors, DontLogNormal: "option logasap",
	// "option log-separate-errors", "option dontlog-normal".
	LogASAP, LogSeparateErrors, DontLogNormal bool
	// ContStats ("option contstats"): byte counters follow a transfer.
	ContStats bool
	// NoDelay ("option http-no-delay"): as Backend.NoDelay; either side's
	// option applies.
	NoDelay bool
	// CaseAdjust: header names as HTTP/1 clients get them ("option
	// h1-case-adjust-bogus-client"); nil: unchanged.
	CaseAdjust map[string]string
	// UseProxyHeader ("option http-use-proxy-header"): proxied requests
	// authenticate with Proxy-Authorization and get 407 (auth.go).
	UseProxyHeader bool
	// IgnoreProbes ("option http-ignore-probes"): a connection that ends
	// before its first byte gets no answer, no log and no error count.
	IgnoreProbes bool
	// BufferRequest ("option http-buffer-request"): the request body is
	// waited for before the frontend's http-request rules.
	BufferRequest bool
	Captures      []*config.Capture
	// CaptureCookie: "capture cookie"; nil when none.
	CaptureCookie *config.CookieCapture
	// H2 configures HTTP/2 on binds that negotiate or impose it (limits
	// from tune.h2.*, timeout client, the frontend's h2 counters).
	H2         *h2.Config
	RequestIDs RequestIDs
	// Sanitize removes identity headers a client must not set, before any
	// rule runs (frontends that authenticate); nil when not needed.
	Sanitize func(h *httpmsg.Headers)
	// Outbound removes what must never leave the edge (its own cookies)
	// from the request head after every rule, as it is forwarded; nil when
	// not needed.
	Outbound func(h *httpmsg.Headers)
	// Inbound removes from a server's response what only the edge may set
	// (its own cookies), before any response rule sees it.
	Inbound func(h *httpmsg.Headers)
	// SanitizeTrailers removes from the client's request trailers the
	// identity fields a client must not send the mesh there either (some
	// servers merge trailers into headers); nil when not needed. The
	// forwarding headers the head loses are always removed.
	SanitizeTrailers func(h *httpmsg.Headers)

	// Self is a listen's own backend (nil for a frontend): HAProxy's
	// stream starts on it, so the bytes of requests answered before any
	// routing (denials, the stats page) count on its BACKEND row too.
	Self *Backend
}

// Route is a compiled use_backend rule.
type Route struct {
	Cond    *acl.Cond
	Backend *Backend
	// Dynamic names the backend per request (use_backend %[...]); Lookup
	// finds it by name. An unknown name stops the rules and takes the
	// default backend, as in HAProxy.
	Dynamic *logging.Format
	Lookup  func(name string) *Backend
}

// Listener serves connections accepted on one bind line of a frontend.
type Listener struct {
	FE   *Frontend
	Bind *config.Bind
	// ID is the listener's number in its frontend, from 1 in the order of
	// the bind lines (so_id).
	ID  int
	TLS *tls.Config // nil for plain TCP
	// ClientVerify reports client-certificate errors a bind ignores
	// (ca-ignore-err, crt-ignore-err) to ssl_c_verify and friends.
	ClientVerify *tlsconf.ClientVerifier
	// Counters are the listener's own ("option socket-stats"); nil
	// without (listenerstats.go).
	Counters *counters.Proxy

	sock atomic.Pointer[Socket] // the socket it serves (handover.go)
}

// ServeConn runs one client connection to completion: TLS handshake, then
// requests in order until either side closes. The connection is never
// parked: the caller (an in-process hand-off) expects it to have ended.
func (l *Listener) ServeConn(c net.Conn) { l.serveConn(c, nil) }

// ServeConnDetached serves c like ServeConn but may return while c lives
// on parked between keep-alive requests (park.go); done runs exactly once,
// on any goroutine, when the connection has really ended.
func (l *Listener) ServeConnDetached(c net.Conn, done func()) {
	if done == nil {
		done = func() {}
	}
	l.serveConn(c, done)
}

func (l *Listener) serveConn(c net.Conn, done func()) {
	fe := l.FE
	now := time.Now()
	fe.Counters.OpenSession(now)
	fe.Counters.ConnTot.Add(1)
	if lc := l.Counters; lc != nil {
		lc.OpenSession(now)
		lc.ConnTot.Add(1)
	}
	fe.Proc.ActConn.Add(1)
	tc, isTCP := c.(*net.TCPConn)
	if isTCP {
		_ = tc.SetNoDelay(true)
		if l.TLS != nil {
			c = sock.Wrap(tc) // plain ones get theirs at their second request (session.wire)
		}
	}
	c, tracked := takeTracking(c)
	s := getSession()
	s.fe = fe
	s.lst = l
	if tracked != nil {
		s.stick = *tracked
	}
	if fe.Stick != nil {
		s.stick.Tables, s.stick.Current = fe.Stick.All, fe.Stick.Own
	}
	s.raw = c
	s.conn = c
	s.accept = now
	s.src = addrPort(c.RemoteAddr())
	s.dst = addrPort(c.LocalAddr())
	if l.TLS != nil {
		if !s.handshake(l.TLS) {
			putSession(s)
			l.end(done)
			return
		}
	} else if isTCP && done != nil {
		s.parkAfter = fe.Proc.parkAfter()
	}
	if rej, drop := s.sessionRules(); rej { // connstick.go
		// A silent-drop counts as a denied request, as HAProxy's action.
		c := func(pc *counters.Proxy) {
			if drop {
				pc.DenyReq.Add(1)
			} else {
				pc.DenySess.Add(1)
			}
		}
		c(fe.Counters)
		if l.Counters != nil {
			c(l.Counters)
		}
		s.conn.Close()
		putSession(s)
		l.end(done)
		return
	}
	// Accepted by the connection and session rules, handshakes done:
	// HAProxy's session_count_new counts a session on what they track.
	s.stick.CountSession()
	if fe.H2 != nil && (s.alpn == "h2" || (l.Bind != nil && l.Bind.Proto == "h2")) {
		// HTTP/2 connections park as a whole while idle (h2serve.go).
		// One accepted before a reload starts on the new runtime.
		s.follow()
		if done != nil {
			// A detached connection's read loop runs on a fresh goroutine:
			// the accept path (handshakes, rules) grew this one's stack to
			// 8 KiB, which a goroutine keeps until a collection shrinks it,
			// and the collector's goal counts stacks (bench/run.sh idle_h2).
			go s.serveH2Until(done)
			return
		}
		s.serveH2Until(nil)
		return
	}
	l.run(s, done)
}

// serveH2Until serves s over HTTP/2 until its connection ends, or, when
// detached (done not nil), until it parks (h2serve.go).
func (s *session) serveH2Until(done func()) { s.serveH2(done) }

// run serves s until its connection ends or is parked. s may move to
// another listener meanwhile (a reload, handover.go): its own ends it.
func (l *Listener) run(s *session, done func()) {
	if !s.serve() {
		s.conn.Close()
		sock.Release(s.raw)
		lst := s.lst
		putSession(s)
		lst.end(done)
		return
	}
	l = s.lst
	r := &parked{
		conn:     tcpOf(s.raw),
		lst:      l,
		done:     done,
		lastDone: s.lastDone,
		pollSlot: pollSlot{deadline: monoAt(s.kaDeadline)},
		nreq:     int32(min(s.nreq, 1<<31-1)),
	}
	sock.Release(s.raw)
	putSession(s)
	err := l.FE.Proc.park(r)
	switch {
	case err == nil:
		// r belongs to the poller now.
	case errors.Is(err, errRetired):
		// Retired since the wait began: move it on, or close it.
		r.handover()
	default:
		// Parking is not possible (epoll failed): wait in a goroutine.
		l.resumeWith(r, 0)
	}
}

// end accounts for the end of a connection, exactly once per connection.
func (l *Listener) end(done func()) {
	l.FE.Proc.ActConn.Add(-1)
	l.FE.Counters.CloseSession()
	if l.Counters != nil {
		l.Counters.CloseSession()
	}
	if done != nil {
		done()
	}
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		// An IPv4 client on a dual-stack socket is logged and forwarded as
		// IPv4, as HAProxy shows it.
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// tcpOf is the TCP connection of a plain session (parked ones are).
func tcpOf(c net.Conn) *net.TCPConn {
	tc, _ := sock.Unwrap(c)
	return tc
}

// handshake completes the TLS handshake within timeout client (or
// http-request when shorter), as HAProxy bounds it.
func (s *session) handshake(conf *tls.Config) bool {
	var capc *tlsconf.CaptureConn
	var under net.Conn = s.raw
	size := tlsconf.CaptureSize()
	var kl *tlsconf.KeyLog
	if tlsconf.KeyLogOn() {
		kl = &tlsconf.KeyLog{}
		conf = tlsconf.WithKeyLog(conf, kl)
		capc = tlsconf.NewCaptureConn(s.raw)
	} else if size > 0 {
		capc = tlsconf.NewCaptureConn(s.raw)
	} else {
		capc = tlsconf.NewRandomsConn(s.raw) // ssl_fc_client_random, ssl_fc_server_random
	}
	under = capc
	tc := tls.Server(under, conf)
	d := s.fe.Timeouts.Client
	if hr := s.fe.Timeouts.HTTPRequest; hr > 0 && (d == 0 || hr < d) {
		d = hr
	}
	if d > 0 {
		_ = tc.SetDeadline(time.Now().Add(d))
	}
	start := time.Now()
	if err := tc.Handshake(); err != nil {
		s.countErrReq()
		tc.Close()
		return false
	}
	s.handshakeDur = time.Since(start)
	// The deadline bounded the handshake only: HTTP/1's timed reader and
	// writer arm their own from "none held", and HTTP/2 arms none, so one
	// left here ended every HTTP/2 connection (and an HTTP/1 one without
	// timeout client) that long after its handshake, streams in flight.
	_ = tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	s.tls = true
	s.sni = st.ServerName
	s.alpn = st.NegotiatedProtocol
	s.tlsVersion = tlsconf.VersionName(st.Version)
	s.cipher = tlsconf.CipherName(st.CipherSuite) // OpenSSL's names, as HAProxy logs them
	s.tlsState = &st
	s.hello = capc.Hello(size)
	if kl == nil { // the randoms only
		kl = &tlsconf.KeyLog{}
	}
	kl.ClientRandom, kl.ServerRandom = capc.Randoms()
	capc.Release()
	s.keylog = kl
	if s.lst != nil {
		s.verify = s.lst.ClientVerify.Result(&st)
	}
	s.conn = tc
	return true
}
