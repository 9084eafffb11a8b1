package app

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/proxyproto"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// buildTCPFrontends builds every mode tcp frontend and listen. It runs after
// the http frontends, so a tcp backend whose server is the address of an
// http frontend's bind can hand connections over in-process (docs/l4.md).
func (b *builder) buildTCPFrontends() {
	tcpBackends := map[string]*l4.Backend{}
	for _, pr := range b.g.proxies {
		p := pr.cfg
		if p.Cap&config.CapFE == 0 || p.Mode != config.ModeTCP {
			continue
		}
		if err := b.buildTCPFrontend(p, pr, tcpBackends); err != nil {
			b.errs = append(b.errs, err)
		}
	}
}

func (b *builder) buildTCPFrontend(p *config.Proxy, pr *proxyRuntime, tcpBackends map[string]*l4.Backend) error {
	fe := &l4.Frontend{
		Name:         p.Name,
		ID:           pr.id,
		PID:          b.g.Proc.PID,
		ActConn:      &b.g.Proc.ActConn,
		MaxConn:      int64(p.MaxConn),
		Timeouts:     p.Timeouts,
		InspectDelay: p.InspectDelay,
		DontLogNull:  p.DontLogNull,
		Splice:       b.spliceOf(p),
		ProcVars:     b.g.Proc.Vars,

		LogASAP:           p.LogASAP,
		LogSeparateErrors: p.LogSeparateErrors,
		DontLogNormal:     p.DontLogNormal,
	}
	pr.tcp = fe
	// The stats view of the frontend shares its counters.
	view := &proxy.Frontend{Name: p.Name, ID: pr.id, Proc: b.g.Proc, MaxConn: int64(p.MaxConn)}
	fe.Counters = &counters.Proxy{}
	view.Counters = fe.Counters
	if b.cfg.Global.TuneBufSize > 1024 {
		fe.BufSize = b.cfg.Global.TuneBufSize - 1024
	}
	sni, err := l4.SNIExpr()
	if err != nil {
		return err
	}
	fe.SNI = sni
	set, err := b.aclSet(p)
	if err != nil {
		return err
	}
	if b.stickTables != nil {
		fe.Stick = &l4.StickStage{Own: b.stickTables[p.Name], All: b.stickTables}
	}
	for _, r := range p.TCPRequest {
		rule, err := b.tcpRule(set, p, r)
		if err != nil {
			return err
		}
		switch r.Layer {
		case "connection":
			fe.ConnRules = append(fe.ConnRules, rule)
		case "session":
			fe.SessionRules = append(fe.SessionRules, rule)
		default:
			fe.ContentRules = append(fe.ContentRules, rule)
		}
	}
	for _, ub := range p.UseBackends {
		var r l4.Route
		if strings.Contains(ub.Name, "%[") {
			if r.Dynamic, err = b.format(ub.Name, ub.Pos); err != nil {
				return err
			}
			if r.Lookup, err = b.tcpBackendsByName(tcpBackends); err != nil {
				return err
			}
		} else if r.Backend, err = b.tcpBackend(ub.Name, ub.Pos, tcpBackends); err != nil {
			return err
		}
		if ub.Cond != nil {
			if r.Cond, err = set.Cond(ub.Cond); err != nil {
				return err
			}
			if err := r.Cond.Check(acl.CtxTCPContent); err != nil {
				return config.Errorf(ub.Pos, "'use_backend %s' : %v", ub.Name, err)
			}
		}
		fe.Routes = append(fe.Routes, r)
	}
	switch {
	case p.DefaultBackend != "":
		if fe.Default, err = b.tcpBackend(p.DefaultBackend, p.DefaultBEPos, tcpBackends); err != nil {
			return err
		}
	case pr.be != nil:
		if fe.Default, err = b.tcpBackend(p.Name, p.Pos, tcpBackends); err != nil {
			return err
		}
	}
	if err := b.tcpLog(p, fe); err != nil {
		return err
	}
	pr.fe = view
	b.g.Frontends = append(b.g.Frontends, view)
	slots := frontendSlots(p)
	feRate := ratelimit.NewFrontend(p.RateLimitSessions)
	lids := bindIDs(p.Binds) // sockopts.go
	for i, bind := range p.Binds {
		if bind.QUIC {
			return config.Errorf(bind.Pos, "'bind %s' : QUIC binds serve HTTP/3 and need 'mode http'", bind.Addr)
		}
		l := &l4.Listener{FE: fe, BindName: bindName(bind), AcceptProxy: bind.AcceptProxy, Counters: pr.listenerCounters(bind, lids[i])}
		if bind.SSL {
			store, err := tlsconf.LoadBindStore(bind, b.tlsLoadOptions())
			if err != nil {
				return config.Errorf(bind.Pos, "'bind %s' : %v", bind.Addr, err)
			}
			b.g.Stores = append(b.g.Stores, store)
			if l.TLS, err = tlsconf.ServerConfig(store, bind); err != nil {
				return config.Errorf(bind.Pos, "'bind %s' : %v", bind.Addr, err)
			}
			if l.ClientVerify, err = tlsconf.NewClientVerifier(bind); err != nil {
				return config.Errorf(bind.Pos, "'bind %s' : %v", bind.Addr, err)
			}
		}
		gate := b.bindGate(feRate, bind, len(fe.ConnRules) > 0)
		if gate.AfterRules {
			l.Admitted = func(ok bool) { gate.Admitted(nowMillis(), ok) }
		}
		b.g.Binds = append(b.g.Binds, &BindSpec{Addr: bindAddr(bind), Pos: bind.Pos, Frontend: p.Name, Handler: l, Slots: slots, BindSlots: bindSlots(bind), KeepAlive: p.CliTCPKA, NoLinger: p.Sock.NoLinger, Sock: sockOpts(p, bind, &b.cfg.Global), Gate: gate})
	}
	return nil
}

func (b *builder) tcpRule(set *acl.Set, p *config.Proxy, r *config.TCPAction) (l4.Rule, error) {
	rule := l4.Rule{Reject: r.Action == "reject", Drop: r.Action == "silent-drop"}
	ctx := tcpRuleCtx(r.Layer) // tcpsession.go
	if sa := r.Stick; sa != nil && !strings.HasPrefix(r.Action, "track-sc") {
		sc, err := b.tcpSC(r, ctx)
		if err != nil {
			return rule, err
		}
		rule.SC = &l4.SCAction{Op: sc.Op, Slot: sc.Slot, Idx: sc.Idx, Set: sc.Set, Value: sc.Value}
	} else if sa != nil {
		name := sa.Table
		if name == "" {
			name = p.Name
		}
		tab := b.stickTables[name]
		if tab == nil {
			return rule, config.Errorf(r.Pos, "'tcp-request %s %s': no stick-table named '%s'", r.Layer, r.Action, name)
		}
		key, err := acl.CompileExprMaps(sa.Key, r.Pos, b.maps)
		if err != nil {
			return rule, err
		}
		if err := key.Check(ctx); err != nil {
			return rule, config.Errorf(r.Pos, "'tcp-request %s %s' : %v", r.Layer, r.Action, err)
		}
		rule.Track = &l4.Track{Slot: sa.Slot, Table: tab, Key: key}
	}
	if r.Var != nil {
		vr, err := tcpVarRule(r, ctx) // vars.go
		if err != nil {
			return rule, err
		}
		rule.Var = vr
	}
	if r.Cond == nil {
		return rule, nil
	}
	c, err := set.Cond(r.Cond)
	if err != nil {
		return rule, err
	}
	if err := c.Check(ctx); err != nil {
		return rule, config.Errorf(r.Pos, "'tcp-request %s %s' : %v", r.Layer, r.Action, err)
	}
	rule.Cond = c
	return rule, nil
}

// tcpBackendsByName builds every mode tcp backend for a dynamic use_backend
// and returns their lookup by name (read-only once built).
func (b *builder) tcpBackendsByName(built map[string]*l4.Backend) (func(string) *l4.Backend, error) {
	all := map[string]*l4.Backend{}
	for _, pr := range b.g.proxies {
		p := pr.cfg
		if p.Cap&config.CapBE == 0 || p.Mode != config.ModeTCP {
			continue
		}
		be, err := b.tcpBackend(p.Name, p.Pos, built)
		if err != nil {
			return nil, err
		}
		all[p.Name] = be
	}
	return func(name string) *l4.Backend { return all[name] }, nil
}

// tcpBackend returns the l4 runtime of a backend, sharing the counters,
// farm and servers that buildBackend made for stats and health checks.
func (b *builder) tcpBackend(name string, pos config.Pos, built map[string]*l4.Backend) (*l4.Backend, error) {
	if be, ok := built[name]; ok {
		return be, nil
	}
	pbe, ok := b.backends[name]
	if !ok {
		return nil, config.Errorf(pos, "unable to find required use_backend: '%s'", name)
	}
	p := b.stopped[pbe]
	for _, pr := range b.g.proxies {
		if pr.be == pbe {
			p = pr.cfg
		}
	}
	if p.Mode != config.ModeTCP {
		return nil, config.Errorf(pos, "unable to use proxy '%s' with wrong mode, required: tcp, has: %s", name, p.Mode)
	}
	be := &l4.Backend{
		Name:            name,
		Counters:        pbe.Counters,
		Farm:            pbe.Farm,
		Timeouts:        p.Timeouts,
		Retries:         p.Retries,
		Redispatch:      p.Redispatch,
		RedispatchAfter: p.RedispatchAfter,
		Splice:          b.spliceOf(p),
	}
	if p.Cap&config.CapFE == 0 {
		set, err := b.aclSet(p)
		if err != nil {
			return nil, err
		}
		for _, r := range p.TCPRequest {
			rule, err := b.tcpRule(set, p, r)
			if err != nil {
				return nil, err
			}
			be.Rules = append(be.Rules, rule)
		}
	}
	be.StickOwn = b.stickTables[p.Name]
	persist, err := b.tcpPersist(p, pbe)
	if err != nil {
		return nil, err
	}
	be.Persist = persist
	be.Stick = tcpStickPersist(pbe) // stickpersist.go
	// tcp-response content rules and the RDP cookie (tcpresponse.go).
	if err := b.tcpResponse(p, be); err != nil {
		return nil, err
	}
	for _, srv := range pbe.Servers {
		// tcp-response rules read the server's bytes off the socket: no
		// in-process handoff for them.
		if h := b.localFrontend(srv.Server); h != nil && len(be.ResRules) == 0 {
			if be.Handoffs == nil {
				be.Handoffs = map[*upstream.Server]l4.Handler{}
			}
			be.Handoffs[srv.Server] = h
		}
		if _, unknown := proxyproto.ParseOptions(srv.Cfg.ProxyV2Opts); len(unknown) > 0 {
			return nil, config.Errorf(srv.Cfg.Pos, "server '%s/%s': proxy-v2-options %s not supported (supported: ssl, authority, unique-id)",
				name, srv.Name, strings.Join(unknown, ","))
		}
	}
	built[name] = be
	return be, nil
}

// localFrontend finds the http frontend bound where a server points, for
// the in-process handoff: the same host and port, or a wildcard bind on
// the port when the server is a loopback address.
func (b *builder) localFrontend(s *upstream.Server) l4.Handler {
	if s.Addr().Port() == 0 {
		return nil
	}
	for _, bs := range b.g.Binds {
		ap, err := netip.ParseAddrPort(bs.Addr)
		if err != nil {
			host, port, serr := net.SplitHostPort(bs.Addr)
			if serr != nil || host != "" || fmt.Sprint(s.Addr().Port()) != port || !s.Addr().Addr().IsLoopback() {
				continue
			}
			return bs.Handler
		}
		if ap.Addr().Unmap() == s.Addr().Addr().Unmap() && ap.Port() == s.Addr().Port() {
			return bs.Handler
		}
	}
	return nil
}

func (b *builder) tcpLog(p *config.Proxy, fe *l4.Frontend) error {
	src := logging.ProxyLogFormat(p)
	if src == "" {
		src = "Connect from %ci:%cp to %fi:%fp (%f/TCP)"
		fe.LogAtAccept = true
	}
	if p.UniqueIDFmt != "" {
		f, err := b.format(p.UniqueIDFmt, p.Pos)
		if err != nil {
			return err
		}
		fe.UniqueID = f
	}
	l, f, err := b.accessLog(p, src)
	if err != nil {
		return err
	}
	fe.Log, fe.LogFormat = l, f
	return nil
}

func bindName(bd *config.Bind) string {
	if bd.Name != "" {
		return bd.Name
	}
	return bd.Addr
}

// acceptProxy reads the PROXY header an "accept-proxy" bind requires
// before the http frontend sees the connection, whose addresses then are
// the header's: %ci, src, X-Forwarded-For all carry the client's.
type acceptProxy struct {
	next ConnHandler
	fe   *proxy.Frontend
	bind string
}

func (a *acceptProxy) ServeConn(c net.Conn) {
	d := a.fe.Timeouts.Client
	if d == 0 {
		d = l4.DefaultHeaderTimeout
	}
	h, rest, err := proxyproto.ReadHeader(c, d)
	if err != nil {
		a.fe.Counters.ErrReq.Add(1)
		if a.fe.Log != nil {
			src := proxyproto.AddrPort(c.RemoteAddr())
			// HAProxy's session_kill_embryonic: info, err with
			// "option log-separate-errors".
			lvl := logging.LevelInfo
			if a.fe.LogSeparateErrors {
				lvl = logging.LevelErr
			}
			a.fe.Log.Printf(lvl, "%s:%d %s/%s: %s", src.Addr(), src.Port(), a.fe.Name, a.bind, err)
		}
		c.Close()
		return
	}
	a.next.ServeConn(proxyproto.NewConn(c, h, rest))
}

// l7Handler is what serves an http frontend's bind: the listener, behind
// the PROXY header reader when the bind has accept-proxy.
func l7Handler(bind *config.Bind, l *proxy.Listener) ConnHandler {
	if !bind.AcceptProxy {
		return l
	}
	return &acceptProxy{next: l, fe: l.FE, bind: bindName(bind)}
}

// spliceOf is p's "option splice-*" unless the global nosplice forbids it.
func (b *builder) spliceOf(p *config.Proxy) l4.Splice {
	if b.cfg.Global.NoSplice {
		return l4.Splice{}
	}
	return l4.Splice{Request: p.SpliceRequest, Response: p.SpliceResponse}
}
