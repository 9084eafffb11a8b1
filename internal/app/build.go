// Package app builds Gatehouse's runtime graph from a configuration and
// swaps it atomically on reload.
package app

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/acme"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpcache"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/maps"
	"github.com/gatehouse/gatehouse/internal/peers"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/proxyproto"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/resolve"
	"github.com/gatehouse/gatehouse/internal/serverstate"
	"github.com/gatehouse/gatehouse/internal/stick"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
	"github.com/gatehouse/gatehouse/internal/upstream"
	"github.com/gatehouse/gatehouse/internal/userlist"
)

// Graph is one built runtime: everything a configuration describes, ready
// to serve. A reload builds a new Graph and swaps it in.
type Graph struct {
	Cfg  *config.Config
	Proc *proxy.Process
	// Rates are the process's rate limits and counters (rates.go).
	Rates     *ratelimit.Process
	Frontends []*proxy.Frontend
	Backends  []*proxy.Backend
	Binds     []*BindSpec
	QUICBinds []*QUICBindSpec // quic4@/quic6@ binds (quic.go)
	Sockets   []*APISocket    // runtime API sockets ("stats socket")
	Stores    []*tlsconf.Store
	Loggers   []*logging.Logger
	// SysLog sends to the global "log" targets (process events, identity
	// events); nil without any.
	SysLog  *logging.Logger
	Started time.Time
	Version string
	// ReleaseDate is the build's date ("show info" Release_date).
	// StickTables are the proxies' stick tables in configuration order.
	StickTables []*stick.Table
	// Maps are the pattern files, which the runtime API changes in place;
	// a reload reads them again.
	Maps        *maps.Registry
	ReleaseDate string
	// Warnings are start-time problems that do not stop the start, such
	// as a server-state file that cannot be read; the command prints them.
	Warnings []string

	idle *idleMeter // the stats' Idle_pct

	rings    []*logging.Ring // the "ring" sections (rings.go)
	programs []*graphProgram // the "program" sections (programs.go)

	proxies []*proxyRuntime  // for stats, in declaration order
	ident   *identityRuntime // oidc and identity-token sections, for stats

	// Features that run in the background (health checks, the runtime API
	// socket, certificate watchers) register here: start runs when the
	// graph goes live (never for -c), stop when it retires.
	starters []func()
	stoppers []func()
	// retirers run as soon as a reload replaces the graph, before its
	// connections have drained: work that must not overlap with the new
	// graph's (health checks probing the same servers twice).
	retirers []func()

	resolvers []*resolve.Resolvers // one per "resolvers" section (resolvers.go)
	// peers: one per enabled "peers" section; shared: the tables they
	// share; peerListeners: sockets taken over from the graph a reload
	// replaced (peers.go).
	peers         []*peers.Section
	shared        map[*stick.Table]bool
	peerListeners map[*peers.Section]net.Listener
	caches        []*httpcache.Cache // one per "cache" section (cache.go)
	acme          []*acme.Manager    // one per "acme" section (acme.go)
}

// start runs the graph's background features once it serves traffic.
func (g *Graph) start() {
	for _, f := range g.starters {
		f()
	}
}

// BindSpec is one address to listen on and what serves it.
type BindSpec struct {
	// Slots is the frontend's maxconn semaphore, shared by its binds; nil
	// when unlimited. Accepting pauses while it is full, as HAProxy's
	// listeners do, instead of accepting and dropping.
	Slots chan struct{}
	// BindSlots is this socket's own maxconn ("bind ... maxconn"); nil
	// when it has none (the frontend's applies).
	BindSlots chan struct{}
	Addr      string
	Pos       config.Pos // the bind line
	Frontend  string
	Handler   ConnHandler
	// L7 is the http listener behind Handler; nil in mode tcp. A reload
	// hands its connections over to the next one (proxy.Socket).
	L7 *proxy.Listener
	// KeepAlive is the frontend's "option clitcpka": SO_KEEPALIVE on each
	// accepted connection.
	KeepAlive bool
	// NoLinger is the frontend's "option nolinger": SO_LINGER 0 on each
	// accepted connection, so closing it sends a reset.
	NoLinger bool
	// Sock is how the socket is made (bind v4v6/v6only); a reload that
	// changes it opens the address again.
	Sock SockOpts
	// Gate is what the accept loop checks and counts for the rate limits
	// (rates.go); nil: neither.
	Gate *ratelimit.Gate
}

// proxyRuntime pairs a config section with its built halves.
type proxyRuntime struct {
	cfg *config.Proxy
	id  int
	fe  *proxy.Frontend
	be  *proxy.Backend
	tcp *l4.Frontend // mode tcp: the frontend that serves (fe is its stats view)
	// listeners: one per bound address with "option socket-stats".
	listeners []listenerStat
}

// builder carries the state of one Build.
type builder struct {
	cfg *config.Config
	// acmeHTTP01 answers the acme sections' HTTP-01 challenges on the
	// HTTP frontends; nil without one.
	acmeHTTP01 func(path string) (string, bool)
	g          *Graph
	backends   map[string]*proxy.Backend
	stopped    map[*proxy.Backend]*config.Proxy // stand-ins for disabled proxies
	errs       []error
	sys        *logging.Logger
	stderr     *slog.Logger // the process's stderr in HAProxy's format (health.go's stderrLog)
	ident      *identityRuntime
	// addrFailed: a server's init-addr found no address (resolvers.go).
	addrFailed  bool
	version     string
	states      map[string]*serverstate.File // server-state files read, by path (serverstate.go)
	stickTables map[string]*stick.Table      // by proxy name (stick.go)
	maps        *maps.Registry               // the pattern files (map converters, ACL -f), shared by name
	aclSets     map[*config.Proxy]*acl.Set   // each proxy's ACLs, compiled once (aclSet)
	userlists   map[string]*userlist.List    // the userlists http_auth names (userlist.go)
}

// aclSet compiles a proxy's ACLs once, however many of its parts use them
// (a listen's frontend and backend, its stats page, tcp rules), so that
// each ACL loads its files once, as in HAProxy (show acl).
func (b *builder) aclSet(p *config.Proxy) (*acl.Set, error) {
	if s := b.aclSets[p]; s != nil {
		return s, nil
	}
	s, err := acl.NewSetEnv(p.ACLs, &acl.Env{Maps: b.maps, Userlists: b.userlists})
	if err != nil {
		return nil, err
	}
	if b.aclSets == nil {
		b.aclSets = make(map[*config.Proxy]*acl.Set)
	}
	b.aclSets[p] = s
	return s, nil
}

// Build compiles cfg into a Graph without binding any socket (so -c can
// use it). Resolution of server host names happens here.
func Build(cfg *config.Config, version string) (*Graph, error) {
	b := &builder{
		cfg: cfg,
		g: &Graph{Cfg: cfg, Proc: &proxy.Process{PID: os.Getpid()}, Started: time.Now(), Version: version,
			ReleaseDate: releaseDate(), idle: newIdleMeter(time.Now())},
		backends: map[string]*proxy.Backend{},
		stopped:  map[*proxy.Backend]*config.Proxy{},
		version:  version,
		maps:     maps.NewRegistry(),
	}
	b.g.Maps = b.maps
	b.g.Rates = newRates(cfg)
	var tables []string
	for _, p := range cfg.Proxies {
		if p.StickTable != nil {
			tables = append(tables, p.Name)
		}
	}
	for _, ps := range cfg.Peers {
		for _, st := range ps.Tables {
			tables = append(tables, st.Name)
		}
	}
	b.maps.SetTables(tables)
	if errs := notYetWired(cfg); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	b.buildRings() // rings.go: before the loggers that write into them
	sys, err := b.logger(cfg.Global.Logs, "")
	if err != nil {
		return nil, err
	}
	b.sys = sys
	b.g.SysLog = sys
	if err := b.buildLogForwards(); err != nil { // logforward.go
		return nil, err
	}
	b.buildPrograms() // programs.go
	b.ident, err = newIdentityRuntime(&cfg.Identity, cfg.Global.Process.Node, func(lvl logging.Level, f string, a ...any) {
		if sys != nil {
			sys.Printf(lvl, f, a...)
		}
	}, b.printLevel())
	if err != nil {
		return nil, err
	}
	b.g.ident = b.ident
	b.g.starters = append(b.g.starters, b.ident.start)
	if err := b.buildStickTables(); err != nil {
		return nil, err
	}
	if err := b.buildPeers(); err != nil { // peers.go
		return nil, err
	}
	if err := b.buildProcVars(); err != nil { // vars.go
		return nil, err
	}
	if err := b.buildUserlists(); err != nil {
		return nil, err
	}
	b.buildCaches()
	if err := b.buildACME(); err != nil { // acme.go: before the listeners load certificates
		return nil, err
	}
	b.g.stoppers = append(b.g.stoppers, b.ident.stop)
	// Backends first: frontends refer to them.
	// HAProxy's iid numbers the proxies in order from 1, after its
	// internal GLOBAL frontend when a stats socket creates one.
	firstID := 1
	if len(cfg.Global.StatsSockets) > 0 {
		firstID = 2
	}
	ids := proxyIDs(cfg.Proxies, firstID)
	for i, p := range cfg.Proxies {
		if p.Disabled {
			b.stoppedBackend(p, ids[i])
			continue
		}
		pr := &proxyRuntime{cfg: p, id: ids[i]}
		b.g.proxies = append(b.g.proxies, pr)
		if p.Cap&config.CapBE != 0 {
			be, err := b.buildBackend(p, pr.id)
			if err != nil {
				b.errs = append(b.errs, err)
				continue
			}
			pr.be = be
			b.backends[p.Name] = be
			b.g.Backends = append(b.g.Backends, be)
		}
	}
	for _, pr := range b.g.proxies {
		p := pr.cfg
		if p.Cap&config.CapFE == 0 || p.Mode == config.ModeTCP {
			continue
		}
		fe, err := b.buildFrontend(p, pr)
		if err != nil {
			b.errs = append(b.errs, err)
			continue
		}
		pr.fe = fe
		b.g.Frontends = append(b.g.Frontends, fe)
	}
	b.buildTCPFrontends() // l4.go: after the http ones, for in-process handoffs
	if len(b.errs) == 0 {
		// Features built on top of the proxies, each in its own file.
		for _, ext := range []func() error{b.buildResolvers, b.buildTracks, b.buildHealth, b.buildRuntimeAPI} {
			if err := ext(); err != nil {
				b.errs = append(b.errs, err)
			}
		}
	}
	if b.addrFailed {
		b.errs = append(b.errs, errors.New("Failed to initialize server(s) addr."))
	}
	if len(b.errs) > 0 {
		b.g.Close()
		return nil, errors.Join(b.errs...)
	}
	return b.g, nil
}

// usableServers is nbsrv(): the backend's servers that can take new
// traffic now (a stopped or unknown backend has none).
// tlsLoadOptions are the global options for reading crt files.
func (b *builder) tlsLoadOptions() tlsconf.Options {
	return tlsconf.Options{SkipSelfIssuedCA: b.cfg.Global.SSLSkipSelfIssuedCA}
}

func (b *builder) usableServers(name string) int {
	be := b.backends[name]
	if be == nil || be.Farm == nil {
		return 0
	}
	return be.Farm.Live()
}

// proxyIDs numbers the proxies as HAProxy does (autoIDs): an explicit
// "id" is kept, the others count from first.
func proxyIDs(pxs []*config.Proxy, first int) []int {
	fixed := make([]int, len(pxs))
	for i, p := range pxs {
		fixed[i] = p.ID
	}
	return autoIDs(fixed, first)
}

// stoppedBackend stands in for a disabled proxy, which HAProxy creates
// stopped: nothing of it is bound, checked or counted, and a request a
// frontend routes to it is answered 503, as to a backend without servers.
func (b *builder) stoppedBackend(p *config.Proxy, id int) {
	if p.Cap&config.CapBE == 0 {
		return
	}
	stopped := &config.Proxy{Pos: p.Pos, Section: p.Section, Name: p.Name, Cap: config.CapBE, Mode: p.Mode,
		Timeouts: p.Timeouts, Retries: p.Retries, ConnMode: p.ConnMode, ErrorFiles: p.ErrorFiles, Disabled: true}
	be, err := b.buildBackend(stopped, id)
	if err != nil {
		b.errs = append(b.errs, err)
		return
	}
	b.backends[p.Name] = be
	b.stopped[be] = stopped
}

// Close releases what a Graph holds besides listeners: loggers, idle
// upstream connections, certificate watchers.
func (g *Graph) Close() {
	for _, f := range g.stoppers {
		f()
	}
	g.stoppers = nil
	for _, be := range g.Backends {
		for _, s := range be.Servers {
			s.Pool().Close()
			if s.H2 != nil {
				s.H2.CloseIdle()
			}
		}
	}
	for _, l := range g.Loggers {
		l.Close()
	}
}

// backendByName resolves a dynamic use_backend name; the map is complete
// and read-only once the graph is built.
func (b *builder) backendByName(name string) *proxy.Backend {
	be := b.backends[name]
	if be == nil || b.stopped[be] != nil {
		return nil
	}
	return be
}

func (b *builder) exprCompiler() logging.ExprCompiler {
	return func(src string, pos config.Pos) (logging.Sampler, error) {
		e, err := acl.CompileExprMaps(src, pos, b.maps)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}

func (b *builder) format(src string, pos config.Pos) (*logging.Format, error) {
	return logging.Compile(src, pos, b.exprCompiler())
}

// ruleFormat compiles the format of an http-request/http-response rule.
func (b *builder) ruleFormat(src string, pos config.Pos) (*logging.Format, error) {
	return logging.CompileHTTP(src, pos, b.exprCompiler())
}

// logger opens log targets with the syslog header's tag (a proxy's
// "log-tag", else the global one) and "log-send-hostname".
func (b *builder) logger(targets []*config.Log, tag string) (*logging.Logger, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	if tag == "" {
		tag = b.cfg.Global.LogTag
	}
	l, err := logging.NewLogger(targets, logging.Options{PID: b.g.Proc.PID, Tag: tag, Hostname: b.cfg.Global.LogSendHostname, Rings: b.ringMap(), MaxLen: maxLogLen(b.cfg)})
	if err != nil {
		return nil, err
	}
	b.g.Loggers = append(b.g.Loggers, l)
	return l, nil
}

// maxLogLen is the largest "len" of the configuration's "log" lines, a
// line without one counting as logging.DefaultLen (HAProxy's
// global.max_syslog_len, the size of the buffer messages are built in).
func maxLogLen(cfg *config.Config) int {
	n := 0
	add := func(logs []*config.Log) {
		for _, lg := range logs {
			n = max(n, cmp.Or(lg.Len, logging.DefaultLen))
		}
	}
	add(cfg.Global.Logs)
	for _, p := range cfg.Proxies {
		add(p.Logs)
	}
	for _, f := range cfg.LogForwards {
		add(f.Logs)
	}
	return n
}

func (b *builder) buildBackend(p *config.Proxy, id int) (*proxy.Backend, error) {
	be := &proxy.Backend{
		Name:          p.Name,
		ID:            id,
		Counters:      &counters.Proxy{},
		Timeouts:      p.Timeouts,
		Retries:       p.Retries,
		ConnMode:      p.ConnMode,
		BufferRequest: p.BufferRequest,
	}
	var err error
	if be.Errors, err = b.errorPages(p); err != nil {
		return nil, err
	}
	be.Redispatch = p.Redispatch
	be.RedispatchAfter = p.RedispatchAfter
	be.AbortOnClose = p.AbortOnClose
	be.Reuse = p.HTTPReuse
	// HAProxy ignores it for the hash algorithms (BE_LB_KIND_HI).
	be.MaxKAQueue = p.MaxKAQueue
	be.PreferLast = p.PreferLast && !slices.Contains([]string{"source", "uri", "url_param", "hdr", "hash", "rdp-cookie"}, p.Balance.Algo)
	if err := b.httpTCPResponse(p); err != nil { // tcpresponse.go
		return nil, err
	}
	if p.Balance.Algo == "hash" {
		if p.Mode != config.ModeHTTP {
			return nil, config.Errorf(p.Balance.Pos, "backend '%s': 'balance hash' is implemented for mode http backends only", p.Name)
		}
		e, err := acl.CompileExprMaps(p.Balance.Arg, p.Balance.Pos, b.maps)
		if err != nil {
			return nil, err
		}
		if err := e.Check(acl.CtxHTTPRequest); err != nil {
			return nil, err
		}
		be.HashExpr = e
	}
	be.PretendKeepAlive = p.PretendKeepAlive
	be.NoDelay = p.Sock.HTTPNoDelay
	be.CaseAdjust = b.caseAdjust(p.Sock.H1CaseServer)
	be.SendNameHeader = p.SendNameHeader
	be.AcceptInvalidResp = p.Sock.AcceptInvalidResp
	if p.Sock.CheckCache {
		be.CheckCache = true
		logf, err := b.healthLog(p)
		if err != nil {
			return nil, err
		}
		if logf != nil {
			be.Alert = func(msg string) { logf(logging.LevelAlert, msg) }
		}
	}
	ro, err := proxy.ParseRetryOn(p.RetryOn, p.Pos)
	if err != nil {
		return nil, err
	}
	be.RetryOn = ro
	if p.ForwardFor != nil && p.Cap&config.CapFE == 0 {
		be.ForwardFor = forwardFor(p.ForwardFor)
	}
	if o := p.OriginalTo; o != nil {
		be.OriginalTo = &proxy.OriginalTo{Header: o.Header, Except: o.Except}
	}
	var servers []*upstream.Server
	saved := b.stateFile(p)
	sids := serverIDs(p.Servers) // sockopts.go
	for i, cs := range p.Servers {
		line := saved.Lookup(p.Name, cs.Name)
		us, err := b.initServer(cs, sids[i], p.Name, line) // resolvers.go
		if err != nil {
			// Reported, and the backend still built so that no
			// "unknown backend" follows (HAProxy reports them all).
			b.errs = append(b.errs, err)
			b.addrFailed = true
			us = unresolved(cs, sids[i])
		}
		us.TCPKeepAlive = p.SrvTCPKA
		us.SSLConns = b.g.Rates.SSLConns                      // maxsslconn
		us.Sock = serverSockOpts(p, cs, b.cfg.Global.SockBuf) // sockopts.go
		if cs.Socks4 != "" {
			us.Socks4 = netip.MustParseAddrPort(cs.Socks4) // checked by cfgparse
		}
		if line != nil {
			b.g.starters = append(b.g.starters, func() { restoreServer(p, us, line, time.Now()) })
		}
		srv := &proxy.Server{Server: us, ALPN: strings.Join(cs.ALPN, ","), SendProxy: cs.SendProxy, Cookie: cs.Cookie}
		if cs.SendProxy == 2 {
			opts, unknown := proxyproto.ParseOptions(cs.ProxyV2Opts)
			if len(unknown) > 0 {
				return nil, config.Errorf(cs.Pos, "server '%s/%s': 'proxy-v2-options %s' is not supported", p.Name, cs.Name, strings.Join(unknown, ","))
			}
			srv.ProxyV2 = opts
		}
		if cs.SSL {
			tpl, err := tlsconf.NewClientTemplate(cs, tlsconf.WithLoadOptions(b.tlsLoadOptions()))
			if err != nil {
				return nil, config.Errorf(cs.Pos, "server '%s/%s': %v", p.Name, cs.Name, err)
			}
			srv.TLS = tpl
		}
		if hasH2(cs.ALPN) || cs.Proto == "h2" {
			// Such a server gets HTTP/2 when ALPN picks it (or always, with
			// proto h2); one that answers ALPN with http/1.1 keeps HTTP/1.
			o := upstream.PoolOptionsFor(cs)
			srv.H2 = proxy.NewH2Upstream(cs.Proto == "h2", o.MaxIdle, o.MaxReuse, 0)
			srv.H2.SetIdleTimeout(o.IdleTimeout)
		}
		if cs.SNI != "" {
			e, err := acl.CompileExprMaps(cs.SNI, cs.Pos, b.maps)
			if err != nil {
				return nil, err
			}
			srv.SNI = e
		}
		servers = append(servers, us)
		be.Servers = append(be.Servers, srv)
	}
	fo := upstream.FarmOptionsFor(p)
	fo.FullConn, fo.BackendConns = b.fullConn(p), &be.Counters.CurSess
	farm, err := upstream.NewFarm(p.Name, servers, p.Balance, fo)
	if err != nil {
		return nil, config.Errorf(p.Balance.Pos, "backend '%s': %v", p.Name, err)
	}
	be.Farm = farm
	// "backend X has no server available!" is logged by the health
	// checker when the last server goes down, as HAProxy does, not per
	// request.
	if p.Cap&config.CapFE == 0 {
		// A pure backend's rules run after routing; a listen's rules are
		// its frontend's.
		env, err := b.ruleEnv(p)
		if err != nil {
			return nil, err
		}
		if be.ReqRules, err = proxy.CompileRules(p.HTTPRequest, env, false); err != nil {
			return nil, err
		}
		if _, be.ContentRules, err = b.httpTCPRules(env.ACLs, p, nil); err != nil {
			return nil, err
		}
		if be.RespRules, err = proxy.CompileRules(p.HTTPResponse, env, true); err != nil {
			return nil, err
		}
		if be.AfterRules, err = proxy.CompileRules(p.HTTPAfterResponse, env, true); err != nil {
			return nil, err
		}
	}
	be.Stick = b.stickStage(p, false)
	be.Comp = compSettings(p)
	if be.Persist, err = b.persistStage(p, be); err != nil {
		return nil, err
	}
	if be.StickRules, err = b.stickPersist(p, be); err != nil { // stickpersist.go
		return nil, err
	}
	return be, nil
}

func (b *builder) buildFrontend(p *config.Proxy, pr *proxyRuntime) (*proxy.Frontend, error) {
	fe := &proxy.Frontend{
		Name:          p.Name,
		ID:            pr.id,
		Proc:          b.g.Proc,
		Counters:      &counters.Proxy{},
		MaxConn:       int64(p.MaxConn),
		Timeouts:      p.Timeouts,
		Limits:        feLimits(b.cfg, p),
		ConnMode:      p.ConnMode,
		DontLogNull:   p.DontLogNull,
		IgnoreProbes:  p.HTTPIgnoreProbes,
		BufferRequest: p.BufferRequest,

		LogASAP:           p.LogASAP,
		LogSeparateErrors: p.LogSeparateErrors,
		DontLogNormal:     p.DontLogNormal,
		ContStats:         p.ContStats,
		NoDelay:           p.Sock.HTTPNoDelay,
		CaseAdjust:        b.caseAdjust(p.Sock.H1CaseClient),
		UseProxyHeader:    p.Sock.UseProxyHeader,
	}
	if o := p.OriginalTo; o != nil {
		fe.OriginalTo = &proxy.OriginalTo{Header: o.Header, Except: o.Except}
	}
	if p.ForwardFor != nil {
		fe.ForwardFor = forwardFor(p.ForwardFor)
	}
	var err error
	if fe.Errors, err = b.errorPages(p); err != nil {
		return nil, err
	}
	fe.Captures = append(fe.Captures, p.Captures...)
	fe.CaptureCookie = p.CaptureCookie
	fe.H2 = h2Config(&b.cfg.Global, p, fe.Limits)
	b.ident.guard(fe, b.cfg, p)
	fe.RequestIDs = proxy.RequestIDs{Header: p.UniqueIDHdr, Trust: p.RequestIDTrust}
	if p.UniqueIDFmt != "" {
		f, err := b.format(p.UniqueIDFmt, p.Pos)
		if err != nil {
			return nil, err
		}
		fe.RequestIDs.Format = f
	}
	env, err := b.ruleEnv(p)
	if err != nil {
		return nil, err
	}
	if fe.ReqRules, err = proxy.CompileRules(p.HTTPRequest, env, false); err != nil {
		return nil, err
	}
	connRls, contentRls, err := b.httpTCPRules(env.ACLs, p, fe) // contentrules.go
	if err != nil {
		return nil, err
	}
	fe.ContentRules = contentRls
	if fe.RespRules, err = proxy.CompileRules(p.HTTPResponse, env, true); err != nil {
		return nil, err
	}
	if fe.AfterRules, err = proxy.CompileRules(p.HTTPAfterResponse, env, true); err != nil {
		return nil, err
	}
	for _, ub := range p.UseBackends {
		var r proxy.Route
		if strings.Contains(ub.Name, "%[") {
			if r.Dynamic, err = b.ruleFormat(ub.Name, ub.Pos); err != nil {
				return nil, err
			}
			r.Lookup = b.backendByName
		} else {
			be, ok := b.backends[ub.Name]
			if !ok {
				return nil, config.Errorf(ub.Pos, "'use_backend' refers to unknown backend '%s'", ub.Name)
			}
			r.Backend = be
		}
		if ub.Cond != nil {
			if r.Cond, err = env.ACLs.Cond(ub.Cond); err != nil {
				return nil, err
			}
		}
		fe.Routes = append(fe.Routes, r)
	}
	fe.MonitorURI = p.MonitorURI
	fe.ACMEChallenge = b.acmeHTTP01
	fe.UsableServers = b.usableServers
	fe.Proxies = &proxyInfo{g: b.g, backends: b.backends}
	for _, c := range p.MonitorFail {
		mc, err := env.ACLs.Cond(c)
		if err != nil {
			return nil, err
		}
		fe.MonitorFail = append(fe.MonitorFail, mc)
	}
	fe.Self = pr.be
	if p.DefaultBackend != "" {
		be, ok := b.backends[p.DefaultBackend]
		if !ok {
			return nil, config.Errorf(p.DefaultBEPos, "'default_backend' refers to unknown backend '%s'", p.DefaultBackend)
		}
		fe.Default = be
	} else if pr.be != nil {
		fe.Default = pr.be // a listen is its own backend
	}
	if p.Stats != nil && p.Stats.Enable {
		svc, err := b.statsService(p)
		if err != nil {
			return nil, err
		}
		fe.Stats = svc
		fe.StatsPrefix = statsURI(p.Stats)
	}
	if err := b.frontendLog(p, fe); err != nil {
		return nil, err
	}
	slots := frontendSlots(p)
	feRate := ratelimit.NewFrontend(p.RateLimitSessions)
	lids := bindIDs(p.Binds) // sockopts.go
	for i, bind := range p.Binds {
		l := &proxy.Listener{FE: fe, Bind: bind, ID: lids[i], Counters: pr.listenerCounters(bind, lids[i])}
		if bind.SSL {
			store, err := tlsconf.LoadBindStore(bind, b.tlsLoadOptions())
			if err != nil {
				return nil, config.Errorf(bind.Pos, "'bind %s' : %v", bind.Addr, err)
			}
			b.g.Stores = append(b.g.Stores, store)
			tc, err := tlsconf.ServerConfig(store, bind)
			if err != nil {
				return nil, config.Errorf(bind.Pos, "'bind %s' : %v", bind.Addr, err)
			}
			l.TLS = tc
			if l.ClientVerify, err = tlsconf.NewClientVerifier(bind); err != nil {
				return nil, config.Errorf(bind.Pos, "'bind %s' : %v", bind.Addr, err)
			}
		}
		if bind.QUIC {
			if len(connRls) > 0 {
				return nil, config.Errorf(bind.Pos, "'bind %s' : 'tcp-request connection' rules are not applied to QUIC connections by Gatehouse; put them in a frontend without QUIC binds, or use 'tcp-request session' or 'http-request' rules", bind.Addr)
			}
			if err := quicBind(b.g, bind, l, fe.Name, slots, b.bindGate(feRate, bind, false)); err != nil {
				return nil, err
			}
			continue
		}
		gate := b.bindGate(feRate, bind, len(connRls) > 0)
		b.g.Binds = append(b.g.Binds, &BindSpec{Addr: bindAddr(bind), Pos: bind.Pos, Frontend: fe.Name, Handler: withConnRules(l7Handler(bind, l), connRls, fe.Counters, b.stickStage(p, true), gate), L7: l, Slots: slots, BindSlots: bindSlots(bind), KeepAlive: p.CliTCPKA, NoLinger: p.Sock.NoLinger, Sock: sockOpts(p, bind, &b.cfg.Global), Gate: gate})
	}
	fe.Stick = b.stickStage(p, true)
	fe.Comp, fe.CompLevel = compSettings(p), compLevel(b.cfg.Global)
	fe.CompLimits = b.compLimits()
	return fe, nil
}

// frontendLog sets the access log: the frontend's log targets and the
// format its options choose.
func (b *builder) frontendLog(p *config.Proxy, fe *proxy.Frontend) error {
	src := logging.ProxyLogFormat(p)
	if p.JSONLog && p.LogFormat == "" {
		src = logging.JSONLogFormat
	}
	if src == "" {
		// Without a log option HAProxy logs one line per connection.
		src = "Connect from %ci:%cp to %fi:%fp (%f/" + strings.ToUpper(p.Mode.String()) + ")"
	}
	l, f, err := b.accessLog(p, src)
	if err != nil || l == nil {
		return err
	}
	fe.Log = l
	fe.LogFormat = f
	if p.LogFormatSD != "" {
		if fe.LogFormatSD, err = b.format(p.LogFormatSD, p.Pos); err != nil {
			return err
		}
		fe.LogFormatSD = fe.LogFormatSD.WithLineLen(maxLogLen(b.cfg))
	}
	return nil
}

func bindAddr(bd *config.Bind) string {
	host := bd.Host
	if host == "*" || host == "" {
		// HAProxy's "*:80" and ":80" are every IPv4 address; ":::80" is IPv6.
		host = "0.0.0.0"
	}
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, bd.Port)
	}
	return fmt.Sprintf("%s:%d", host, bd.Port)
}

// feLimits is limits with the frontend's option accept-invalid-http-request.
func feLimits(cfg *config.Config, p *config.Proxy) http1.Limits {
	l := limits(cfg)
	l.AcceptInvalid = p.Sock.AcceptInvalidReq
	return l
}

func limits(cfg *config.Config) http1.Limits {
	l := http1.DefaultLimits()
	l.AcceptPayloadAnyMethod = cfg.Global.H1AcceptPayloadAnyMethod
	if cfg.Global.TuneBufSize > 0 {
		l.BufSize = cfg.Global.TuneBufSize
	}
	// What a peer may send is bufsize - maxrewrite; the reserve is halved
	// down to half the buffer at most, as HAProxy readjusts it.
	reserve := http1.DefaultHeadReserve
	if mr := cfg.Global.TuneMaxRewrite; mr != nil {
		reserve = *mr
	}
	l.MaxHeadBytes = l.BufSize - min(reserve, l.BufSize/2)
	// tune.http.maxhdr counts the start line, as HAProxy's header list
	// ends with an entry of its own: maxhdr 10 admits 9 fields.
	if n := cfg.Global.TuneMaxHdr; n > 0 {
		l.MaxHeaders = n - 1
		if n == 1 {
			l.MaxHeaders = -1 // no field at all
		}
	}
	return l
}

func forwardFor(f *config.ForwardFor) *proxy.ForwardFor {
	h := f.Header
	if h == "" {
		h = "X-Forwarded-For"
	}
	return &proxy.ForwardFor{Header: h, Except: f.Except, IfNone: f.IfNone}
}

func statsURI(s *config.Stats) string {
	if s.URI == "" {
		return "/haproxy?stats"
	}
	return s.URI
}

// bindSlots is a socket's own maxconn semaphore ("bind ... maxconn"),
// nil without one.
func bindSlots(bind *config.Bind) chan struct{} {
	if bind.MaxConn <= 0 {
		return nil
	}
	return make(chan struct{}, bind.MaxConn)
}

// frontendSlots is a frontend's maxconn semaphore, nil when unlimited.
func frontendSlots(p *config.Proxy) chan struct{} {
	if p.MaxConn <= 0 {
		return nil
	}
	return make(chan struct{}, p.MaxConn)
}

// accessLog builds a frontend's log targets and its line format (both
// modes); a nil logger when the frontend has no "log" line.
func (b *builder) accessLog(p *config.Proxy, src string) (*logging.Logger, *logging.Format, error) {
	if len(p.Logs) == 0 {
		return nil, nil, nil
	}
	l, err := b.logger(p.Logs, p.LogTag)
	if err != nil {
		return nil, nil, err
	}
	f, err := b.format(src, p.Pos)
	if err != nil {
		return nil, nil, err
	}
	// Built in HAProxy's max_syslog_len buffer: fields cut as it cuts them.
	return l, f.WithLineLen(maxLogLen(b.cfg)), nil
}

// fullConn is the backend's fullconn, or HAProxy's default for it: 10% of
// the maxconn of the frontends that route to it (a frontend's own, else
// the global one). A frontend without any limit makes it unbounded, so a
// server with a minconn stays at its minconn.
func (b *builder) fullConn(p *config.Proxy) int64 {
	if p.FullConn > 0 {
		return int64(p.FullConn)
	}
	const unbounded = 1 << 40
	var sum int64
	for _, fe := range b.cfg.Proxies {
		if fe.Cap&config.CapFE == 0 || !routesTo(fe, p) {
			continue
		}
		mc := fe.MaxConn
		if mc == 0 {
			mc = b.cfg.Global.MaxConn
		}
		if mc == 0 {
			return unbounded
		}
		sum += int64(mc)
	}
	return max((sum+9)/10, 1)
}

// routesTo reports whether frontend fe names backend be (itself for a
// listen, its default_backend or a use_backend rule).
func routesTo(fe, be *config.Proxy) bool {
	if fe == be || fe.DefaultBackend == be.Name {
		return true
	}
	for _, ub := range fe.UseBackends {
		if ub.Name == be.Name {
			return true
		}
	}
	return false
}
