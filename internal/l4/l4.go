// Package l4 is mode tcp: accept (with an optional PROXY header), evaluate
// tcp-request rules on peeked bytes (a TLS ClientHello, up to
// inspect-delay), choose a backend and a server, replay the peeked bytes
// and splice both directions in the kernel until both sides are done.
// One tcplog line per connection carries the termination state.
package l4

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/proxyproto"
	"github.com/gatehouse/gatehouse/internal/sock"
	"github.com/gatehouse/gatehouse/internal/stick"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// DefaultBufSize bounds the inspected payload, as HAProxy's request buffer
// (tune.bufsize minus tune.maxrewrite) does.
const DefaultBufSize = 16384 - 1024

// DefaultHeaderTimeout bounds the wait for a PROXY header when "timeout
// client" is unset.
const DefaultHeaderTimeout = 5 * time.Second

// Handler serves a connection handed over in-process (an L7 frontend).
type Handler interface {
	ServeConn(c net.Conn)
}

// Frontend is the compiled runtime of a mode tcp frontend (or listen).
type Frontend struct {
	Name     string
	ID       int
	Counters *counters.Proxy
	ActConn  *atomic.Int64 // the process-wide %ac
	PID      int
	MaxConn  int64 // 0: unlimited

	Timeouts     config.Timeouts
	InspectDelay time.Duration
	BufSize      int // inspection buffer; 0: DefaultBufSize

	ConnRules    []Rule // tcp-request connection
	SessionRules []Rule // tcp-request session
	ContentRules []Rule // tcp-request content
	Routes       []Route
	Default      *Backend // default_backend, or the listen's own backend

	Log         *logging.Logger // nil: no traffic log
	LogFormat   *logging.Format
	LogAtAccept bool // no "option tcplog": one "Connect from" line at accept
	DontLogNull bool
	// "option logasap", "option log-separate-errors", "option
	// dontlog-normal".
	LogASAP, LogSeparateErrors, DontLogNormal bool
	UniqueID                                  *logging.Format // unique-id-format, nil when unset
	SNI                                       *acl.Expr       // req.ssl_sni (SNIExpr), for proxy-v2-options authority
	ProcVars                                  *acl.SharedVars // the runtime's proc variables
	Splice                                    Splice
	Streams                                   Streams     // the sessions in progress, for "show sess"
	Stick                                     *StickStage // nil when no proxy has a stick table
}

// Splice says which directions of a tunnel move with splice(2) instead of
// being copied ("option splice-request", "splice-response"); a direction
// is spliced when the frontend or the backend asks for it, as in HAProxy.
type Splice struct {
	Request, Response bool
}

// Rule is one tcp-request rule.
type Rule struct {
	Reject bool
	Drop   bool      // silent-drop: a reject the client is not told of
	Cond   *acl.Cond // nil: unconditional
	Var    *VarRule  // set-var, set-var-fmt, unset-var: the rule does not decide
	Track  *Track    // track-sc0..2 (stick.go): nor does it
	SC     *SCAction // sc-inc-gpc0/1, sc-set-gpt0, sc-inc-gpc, sc-set-gpt, sc-add-gpc (stick.go): nor does it
	// Close (tcp-response close) accepts and closes the server connection.
	Close bool
	// LogLevel (set-log-level) sets the session's log level: a
	// logging.Level plus one, or -1 for silent; the rule does not decide.
	LogLevel int8
}

// Route is one use_backend rule.
type Route struct {
	Cond    *acl.Cond
	Backend *Backend
	// Dynamic names the backend per connection (use_backend %[...]);
	// Lookup finds a mode tcp backend by name. An unknown name stops the
	// rules and takes the default backend, as in HAProxy.
	Dynamic *logging.Format
	Lookup  func(name string) *Backend
}

// Backend is the compiled runtime of a mode tcp backend. Counters and Farm
// are shared with the stats view of the same section.
type Backend struct {
	Name       string
	Counters   *counters.Proxy
	Farm       *upstream.Farm
	Timeouts   config.Timeouts
	Retries    int
	Redispatch bool
	// RedispatchAfter: "option redispatch <interval>" (upstream.RedispatchTurn).
	RedispatchAfter int
	Rules           []Rule // the backend's tcp-request content rules
	Splice          Splice
	// Handoffs maps a server to the in-process frontend it stands for: a
	// connection routed there is handed over without a network hop.
	Handoffs map[*upstream.Server]Handler
	// Persist: use-server, force-persist, option persist; nil without.
	Persist *Persistence
	// StickOwn is the backend's stick table, the default of its rules'
	// src_* fetches; nil without.
	StickOwn *stick.Table
	// Stick is persistence by stick table (stickpersist.go); nil without.
	Stick *StickPersist
	// ResRules are the tcp-response content rules, ResInspectDelay their
	// "tcp-response inspect-delay" (tcpresponse.go).
	ResRules        []Rule
	ResInspectDelay time.Duration
	// RDPPersist is "persist rdp-cookie"'s cookie name, RDPBalance
	// "balance rdp-cookie"'s; "" without (rdp.go).
	RDPPersist, RDPBalance string
}

// Listener serves the connections of one bind line of a tcp frontend.
type Listener struct {
	FE       *Frontend
	BindName string      // for error logs: the bind's name or address
	TLS      *tls.Config // "bind ... ssl" in mode tcp: deciphered, then tunneled
	// ClientVerify reports ignored client-certificate errors (ssl_c_verify).
	ClientVerify *tlsconf.ClientVerifier
	AcceptProxy  bool
	// Counters are the listener's own ("option socket-stats"); nil without.
	Counters *counters.Proxy
	// Admitted, when set, is told once per connection whether the
	// tcp-request connection rules accepted it (a session for the rate
	// limits, maxsessrate and rate-limit sessions) or not.
	Admitted func(ok bool)
}

// session is one client connection.
type session struct {
	fe     *Frontend
	lst    *Listener
	raw    net.Conn     // the accepted connection
	logged bool         // the log line is out ("option logasap")
	tcp    *net.TCPConn // raw as a TCPConn (nil in tests with pipes)
	cli    net.Conn     // raw, or the TLS connection over it

	accept   time.Time
	th       time.Duration // PROXY header and TLS handshake
	src, dst netip.AddrPort
	hdr      *proxyproto.Header
	tls      *tls.ConnectionState
	payload  []byte // peeked bytes, replayed to the server
	cliEOF   bool   // the client shut its side during inspection
	txn      acl.Txn
	vars     acl.Vars       // txn, req and res variables; txn.Vars points here
	stick    stick.Stream   // track-sc counters; txn.Stick points here
	sessVars acl.SharedVars // sess variables
	// target is the server a use-server rule assigned; force: a
	// force-persist rule matched (no redispatch).
	target *upstream.Server
	force  bool
	drop   bool // a silent-drop rule decided (dropped)
	// logLevel: a set-log-level rule's choice, as Rule.LogLevel; 0: none.
	logLevel int8
	// abortMu guards aborted: abort closed both directions (their read
	// deadlines must then stay in the past).
	abortMu sync.Mutex
	aborted bool
	stores  stickStores // stick store rules' pending keys

	be       *Backend
	srv      *upstream.Server
	tw, tc   time.Duration
	assigned bool
	conn     bool // connected to the server
	retries  int
	redisp   bool
	bytesIn  int64 // client to server
	bytesOut int64 // server to client
	term     logging.TermState
	live     live // backend and server, for "show sess"
}

// ServeConn runs one client connection to completion.
func (l *Listener) ServeConn(c net.Conn) {
	fe := l.FE
	now := time.Now()
	if fe.MaxConn > 0 && fe.Counters.CurSess.Load() >= fe.MaxConn {
		fe.Counters.DenyConn.Add(1)
		c.Close()
		if l.Admitted != nil {
			l.Admitted(false)
		}
		return
	}
	fe.Counters.OpenSession(now)
	fe.Counters.ReqHistory.Tick(now)
	fe.Counters.ConnTot.Add(1)
	fe.ActConn.Add(1)
	if lc := l.Counters; lc != nil {
		lc.OpenSession(now)
		lc.ConnTot.Add(1)
		defer lc.CloseSession()
	}
	defer func() {
		fe.ActConn.Add(-1)
		fe.Counters.CloseSession()
	}()
	s := &session{fe: fe, lst: l, raw: c, cli: c, accept: now}
	s.tcp, _ = c.(*net.TCPConn)
	s.src = proxyproto.AddrPort(c.RemoteAddr())
	s.dst = proxyproto.AddrPort(c.LocalAddr())
	defer func() { s.raw.Close() }()
	s.run()
}

func (s *session) run() {
	fe := s.fe
	s.txn.Src, s.txn.Dst = s.src, s.dst
	s.txn.ConnSrc, s.txn.ConnDst = s.src, s.dst
	s.txn.Frontend = fe.Name
	s.vars.Proc, s.vars.Sess = fe.ProcVars, &s.sessVars
	s.txn.Vars = &s.vars
	// The stream's and the connection's variables give back their
	// tune.vars bytes when it ends.
	defer s.sessVars.End()
	defer s.vars.Reset()
	if s.stickBegin() {
		defer s.stick.Release()
	}
	// tcp-request connection rules see the real connection addresses, even
	// with accept-proxy (configuration.txt, "accept-proxy"). A rejected
	// connection is not even a session: no log, as in HAProxy. No stream
	// exists yet: only proc and sess variables can be set.
	s.vars.NoStream = true
	rej := s.rejected(fe.ConnRules)
	s.vars.NoStream = false
	if s.lst.Admitted != nil {
		s.lst.Admitted(!rej)
	}
	if rej {
		if !s.dropped() {
			fe.Counters.DenyConn.Add(1)
			s.lstCount(func(c *counters.Proxy) { c.DenyConn.Add(1) })
		}
		return
	}
	if s.lst.AcceptProxy && !s.readProxy() {
		return
	}
	s.txn.Src, s.txn.Dst = s.src, s.dst
	s.txn.ConnSrc, s.txn.ConnDst = s.src, s.dst
	// Listed from here, with the client's address final.
	fe.Streams.add(s)
	defer fe.Streams.remove(s)
	if fe.LogAtAccept {
		s.log()
	}
	if s.lst.TLS != nil && !s.handshake() {
		return
	}
	// tcp-request session rules: the handshakes are done, no content
	// is read yet. A reject ends it unlogged, counted in dses.
	s.vars.NoStream = true // no stream yet either: proc and sess variables only
	rej = s.rejected(fe.SessionRules)
	s.vars.NoStream = false
	if rej {
		if !s.dropped() {
			fe.Counters.DenySess.Add(1)
			s.lstCount(func(c *counters.Proxy) { c.DenySess.Add(1) })
		}
		return
	}
	// The connection and session rules accepted it: HAProxy's
	// session_count_new counts a session on the entries they track
	// (sess_cnt, sess_rate), not on the content rules' ones.
	s.stick.CountSession()
	if !s.inspect() {
		s.finish()
		return
	}
	s.be = s.route()
	s.txn.Inspecting = false
	if s.be == nil {
		// No backend: HAProxy's frontend has no server to offer.
		s.term = logging.Term('S', 'C')
		fe.Counters.ErrConn.Add(1)
		s.finish()
		return
	}
	s.txn.Backend = s.be.Name
	s.live.be.Store(s.be)
	beNow := time.Now()
	s.be.Counters.OpenSession(beNow)
	s.be.Counters.ReqHistory.Tick(beNow)
	s.stick.Current = s.be.StickOwn
	if s.rejected(s.be.Rules) {
		s.be.Counters.DenyReq.Add(1)
		s.term = logging.TermDenied
		s.dropped()
	} else {
		s.useServer()
		s.rdpPersist() // after use-server, before the stick rules, as HAProxy's analysers
		s.stickMatch()
		s.vars.ToResponse() // the request leaves: req variables end (HAProxy)
		s.forward()
	}
	// Closed before the log line, whose %bc HAProxy takes after the stream left.
	s.be.Counters.CloseSession()
	s.finish()
}

// rejected runs tcp-request rules with the final payload: the first
// matching accept or reject decides, none matching accepts; variable
// rules act and go on.
func (s *session) rejected(rules []Rule) bool {
	for i := range rules {
		r := &rules[i]
		if r.Cond.Match(&s.txn) {
			if r.Var != nil {
				s.runVar(r.Var)
				continue
			}
			if r.Track != nil {
				s.track(r.Track)
				continue
			}
			if r.SC != nil {
				s.sc(r.SC)
				continue
			}
			s.drop = r.Drop
			return r.Reject || r.Drop
		}
	}
	return false
}

// dropped ends a connection a silent-drop rule decided on without telling
// the client, counted as a denied request of the frontend, as HAProxy's
// action counts it whatever the rule set; false when no such rule decided.
func (s *session) dropped() bool {
	if !s.drop {
		return false
	}
	s.fe.Counters.DenyReq.Add(1)
	s.lstCount(func(c *counters.Proxy) { c.DenyReq.Add(1) })
	sock.SilentDrop(s.raw)
	return true
}

// readProxy reads the PROXY header (accept-proxy). A bad or missing header
// closes the connection with HAProxy's log line.
func (s *session) readProxy() bool {
	t0 := time.Now()
	d := s.fe.Timeouts.Client
	if d == 0 {
		d = DefaultHeaderTimeout
	}
	h, rest, err := proxyproto.ReadHeader(s.raw, d)
	if err != nil {
		s.fe.Counters.ErrReq.Add(1)
		s.lstCount(func(c *counters.Proxy) { c.ErrReq.Add(1) })
		s.logError(err.Error())
		return false
	}
	s.th += time.Since(t0)
	s.hdr = h
	if !h.Local {
		s.src, s.dst = h.Src, h.Dst
	}
	s.payload = append(s.payload, rest...)
	return true
}

// handshake deciphers "bind ... ssl" in mode tcp within timeout client.
func (s *session) handshake() bool {
	t0 := time.Now()
	var capc *tlsconf.CaptureConn
	under := s.prefixed()
	size := tlsconf.CaptureSize()
	conf := s.lst.TLS
	var kl *tlsconf.KeyLog
	if tlsconf.KeyLogOn() {
		kl = &tlsconf.KeyLog{}
		conf = tlsconf.WithKeyLog(conf, kl)
		capc = tlsconf.NewCaptureConn(under)
	} else if size > 0 {
		capc = tlsconf.NewCaptureConn(under)
	} else {
		capc = tlsconf.NewRandomsConn(under) // ssl_fc_client_random, ssl_fc_server_random
	}
	under = capc
	tc := tls.Server(under, conf)
	if d := s.fe.Timeouts.Client; d > 0 {
		_ = s.raw.SetDeadline(t0.Add(d))
	}
	if err := tc.Handshake(); err != nil {
		s.fe.Counters.ErrReq.Add(1)
		s.lstCount(func(c *counters.Proxy) { c.ErrReq.Add(1) })
		s.logError("SSL handshake failure")
		return false
	}
	_ = s.raw.SetDeadline(time.Time{})
	s.th += time.Since(t0)
	st := tc.ConnectionState()
	s.tls = &st
	s.txn.TLS, s.txn.SNI, s.txn.ALPN = true, st.ServerName, st.NegotiatedProtocol
	s.txn.TLSVersion = tlsconf.VersionName(st.Version)
	s.txn.TLSState = &st
	s.txn.Hello = capc.Hello(size)
	if kl == nil { // the randoms only
		kl = &tlsconf.KeyLog{}
	}
	kl.ClientRandom, kl.ServerRandom = capc.Randoms()
	capc.Release()
	s.txn.KeyLog = kl
	r := s.lst.ClientVerify.Result(&st)
	s.txn.ClientVerify, s.txn.ClientCrtErr, s.txn.ClientCAErr = r.Verify, r.CrtErr, r.CAErr
	s.cli = tc
	return true
}

// prefixed returns the client connection with the bytes read past a PROXY
// header replayed first.
func (s *session) prefixed() net.Conn {
	if len(s.payload) == 0 {
		return s.raw
	}
	p := s.payload
	s.payload = nil
	return proxyproto.NewConn(s.raw, nil, p)
}

// lstCount counts on the listener's own counters ("option socket-stats").
func (s *session) lstCount(f func(*counters.Proxy)) {
	if lc := s.lst.Counters; lc != nil {
		f(lc)
	}
}
