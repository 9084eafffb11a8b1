package app

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/health"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/stats"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// buildHealth sets up active and passive health checks for every server
// with "check" (internal/health). Checks start when the graph goes live and
// stop when it retires. A reload builds new servers, so their states start
// over (UP, health at rise, INI), as HAProxy's do without
// "server-state-file".
func (b *builder) buildHealth() error {
	var all []*health.Checker
	var agents []*health.Agent
	for _, pr := range b.g.proxies {
		if pr.be == nil {
			continue
		}
		p := pr.cfg
		var spec *health.Spec
		var logf, alert func(logging.Level, string)
		if slices.ContainsFunc(pr.be.Servers, func(s *proxy.Server) bool { return s.Cfg.Check || s.Cfg.Agent }) {
			var err error
			if alert, err = b.emailAlert(p); err != nil { // mailers.go
				return err
			}
		}
		for _, srv := range pr.be.Servers {
			cs := srv.Cfg
			var main *health.Checker
			if cs.Check {
				var err error
				if main, err = b.mainChecker(p, srv, &spec, &logf, alert); err != nil {
					return err
				}
				all = append(all, main)
			}
			if cs.Agent {
				a, err := b.agent(pr.be, p, srv, main, alert)
				if err != nil {
					return err
				}
				agents = append(agents, a)
			}
		}
	}
	if len(all) == 0 && len(agents) == 0 {
		return nil
	}
	health.Stagger(all, b.cfg.Global.Process.MaxSpreadChecks)
	b.g.starters = append(b.g.starters, func() {
		for _, c := range all {
			c.Start()
		}
		for _, a := range agents {
			a.Start()
		}
	})
	stop := func() {
		for _, c := range all {
			c.Stop()
		}
		for _, a := range agents {
			a.Stop()
		}
	}
	// The new graph's checkers take over at once on reload; Stop is
	// idempotent, so the final Close may run it again.
	b.g.retirers = append(b.g.retirers, stop)
	b.g.stoppers = append(b.g.stoppers, stop)
	return nil
}

// mainChecker builds the health check of srv, compiling the backend's
// check the first time one of its servers needs it.
func (b *builder) mainChecker(p *config.Proxy, srv *proxy.Server, spec **health.Spec, logf *func(logging.Level, string), alert func(logging.Level, string)) (*health.Checker, error) {
	if *spec == nil {
		var err error
		if *spec, err = health.NewSpec(p); err != nil {
			return nil, err
		}
		if *logf, err = b.healthLog(p); err != nil {
			return nil, err
		}
	}
	return b.checker(p, srv, *spec, *logf, alert)
}

// agent builds the agent check of srv ("agent-check"); main is its health
// check, nil without "check".
func (b *builder) agent(be *proxy.Backend, p *config.Proxy, srv *proxy.Server, main *health.Checker, alert func(logging.Level, string)) (*health.Agent, error) {
	cs := srv.Cfg
	o := health.AgentOptions{Backend: p.Name, ProxyType: "backend", Server: srv.Server, Main: main, Port: cs.AgentPort,
		Send: []byte(cs.AgentSend), LogHealthChecks: p.LogHealthChecks, Alert: alert}
	if p.Cap&config.CapFE != 0 {
		o.ProxyType = "proxy"
	}
	o.Timing = health.Timing{Inter: cs.AgentInter, Connect: p.Timeouts.Connect, Check: p.Timeouts.Check}
	if o.Timing.Inter <= 0 {
		o.Timing.Inter = cs.Inter
	}
	if cs.AgentAddr != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ap, err := upstream.Resolve(ctx, cs.AgentAddr, 0)
		cancel()
		if err != nil {
			return nil, config.Errorf(cs.Pos, "server '%s/%s' : 'agent-addr' : %v", p.Name, cs.Name, err)
		}
		o.Addr = ap.Addr()
	}
	var err error
	if o.Log, err = b.healthLog(p); err != nil {
		return nil, err
	}
	ops := b.adminOps()
	o.SetAdmin = func(to upstream.AdminState) { ops.setAdmin(be, srv, to) }
	return health.NewAgent(o), nil
}

// buildTracks ties every "track" server to the server it follows
// (cfgparse checked that it exists and that chains do not loop).
func (b *builder) buildTracks() error {
	byName := map[string]*proxy.Backend{}
	for _, pr := range b.g.proxies {
		if pr.be != nil {
			byName[pr.be.Name] = pr.be
		}
	}
	for _, pr := range b.g.proxies {
		if pr.be == nil {
			continue
		}
		for _, srv := range pr.be.Servers {
			spec := srv.Cfg.Track
			if spec == "" {
				continue
			}
			be, name, ok := strings.Cut(spec, "/")
			if !ok {
				be, name = pr.be.Name, spec
			}
			var t *proxy.Server
			if tb := byName[be]; tb != nil {
				for _, s := range tb.Servers {
					if s.Name == name {
						t = s
					}
				}
			}
			if t == nil {
				return config.Errorf(srv.Cfg.Pos, "'server %s/%s' : unable to find required server '%s' for tracking.", pr.be.Name, srv.Name, spec)
			}
			srv.Track(t.Server, be+"/"+name)
		}
	}
	return nil
}

// healthLog sends state changes to the backend's own log targets ("log
// global" already expanded), as HAProxy's send_log(proxy, ...) does.
func (b *builder) healthLog(p *config.Proxy) (func(logging.Level, string), error) {
	l, err := b.logger(p.Logs, p.LogTag)
	if err != nil || l == nil {
		return nil, err
	}
	return func(lvl logging.Level, msg string) { l.Log(lvl, []byte(msg)) }, nil
}

func (b *builder) checker(p *config.Proxy, srv *proxy.Server, spec *health.Spec, logf, alert func(logging.Level, string)) (*health.Checker, error) {
	cs := srv.Cfg
	tg := health.Target{Addr: srv.Addr(), Live: srv.Addr, Port: cs.CheckPort, SNI: cs.CheckSNI, ALPN: cs.CheckALPN}
	if cs.CheckViaSocks4 {
		tg.Socks4 = srv.Socks4
	}
	if srv.Sock != nil {
		tg.Control = srv.Sock.Control // HAProxy's checks bind the same source
	}
	if cs.CheckAddr != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ap, err := upstream.Resolve(ctx, cs.CheckAddr, 0)
		cancel()
		if err != nil {
			return nil, config.Errorf(cs.Pos, "server '%s/%s' : 'addr' : %v", p.Name, cs.Name, err)
		}
		tg.CheckAddr = ap.Addr()
	}
	// HAProxy's init_srv_check: without "port" and "addr" the checks use
	// the server's own transport (ssl, send-proxy); with either, they are
	// plain unless "check-ssl" / "check-send-proxy" say otherwise. So
	// Istio's "port 15021" readiness check is plain HTTP on an ssl server.
	tg.SSL, tg.SendProxy = cs.CheckSSL, cs.CheckSendProxy
	if cs.CheckPort == 0 && cs.CheckAddr == "" {
		tg.SSL = tg.SSL || cs.SSL
		tg.SendProxy = tg.SendProxy || cs.SendProxy != 0
	}
	// The header's version is the server's: a gateway that requires PROXY
	// v2 gets it on checks too (HAProxy's make_proxy_line on pp_opts).
	if cs.SendProxy == 2 {
		o := srv.ProxyV2
		tg.ProxyV2 = &o
		tg.PP2NeverSendLocal = b.cfg.Global.PP2NeverSendLocal
	}
	if tg.SSL || spec.NeedsTLS() {
		tg.TLS = srv.TLS
		if tg.TLS == nil {
			tpl, err := tlsconf.NewClientTemplate(cs, tlsconf.WithDefaultVerify(b.cfg.Global.SSLServerVerify), tlsconf.WithLoadOptions(b.tlsLoadOptions()))
			if err != nil {
				return nil, config.Errorf(cs.Pos, "server '%s/%s' : check-ssl : %v", p.Name, cs.Name, err)
			}
			tg.TLS = tpl
		}
	}
	if tg.Port == 0 && tg.Addr.Port() == 0 && !config.SRV(cs.Host) { // an SRV record gives the port at run time
		return nil, config.Errorf(cs.Pos, "server '%s/%s' : health checks need a port: give the server address a port or set 'port'", p.Name, cs.Name)
	}
	ptype := "backend"
	if p.Cap&config.CapFE != 0 {
		ptype = "proxy" // a listen section, as HAProxy's proxy_cap_str
	}
	return health.New(health.Options{
		Backend: p.Name, ProxyType: ptype, Server: srv.Server, Spec: spec, Target: tg,
		Timing:    health.Timing{Inter: cs.Inter, Connect: p.Timeouts.Connect, Check: p.Timeouts.Check},
		FastInter: cs.FastInter, DownInter: cs.DownInter,
		SpreadChecks: b.cfg.Global.SpreadChecks, SlowStart: cs.SlowStart,
		Observe: cs.Observe, ErrorLimit: cs.ErrorLimit, OnError: cs.OnError,
		Log: logf, Alert: alert, Print: b.printStderr(), LogHealthChecks: p.LogHealthChecks,
	}), nil
}

// fillCheckRow copies a server's check results into its stats row
// (serverRow calls it last).
func fillCheckRow(r *stats.Row, srv *proxy.Server) {
	if a, ok := srv.Agent().(*health.Agent); ok {
		st := a.State()
		r.Agent, r.AgentRunning, r.AgentHealth = true, st.Running, st.Health
		r.AgentStatus, r.AgentDesc, r.LastAgt = st.Last.Status.String(), st.Last.Status.Description(), st.Last.Info
		r.AgentCoded, r.AgentCode = st.Last.Status.HasCode(), st.Last.Code
		r.AgentDuration = max(st.Last.Duration, 0)
	}
	c, ok := srv.Monitor().(*health.Checker)
	if !ok {
		return
	}
	st := c.State()
	last := st.Last
	r.CheckStatus = last.Status.String()
	r.CheckRunning = st.Running
	r.CheckCode = 0
	r.CheckCoded = last.Status.HasCode()
	if r.CheckCoded {
		r.CheckCode = last.Code
	}
	r.CheckDuration = 0
	if last.Duration > 0 {
		r.CheckDuration = last.Duration
	}
	r.CheckDesc = last.Status.Description()
	r.LastChk = last.Info
	r.ChkFail = st.ChkFail
	r.Observe, r.HanaFail = st.Observe, st.HanaFail
}

// stderrLog is the process's stderr in HAProxy's print_message format
// ("[WARNING]  (pid) : ..."), for what HAProxy prints there whatever the
// log targets. One per graph.
func (b *builder) stderrLog() *slog.Logger {
	if b.stderr == nil {
		b.stderr = slog.New(logging.NewProcessHandler(os.Stderr, 0))
	}
	return b.stderr
}

// printStderr is HAProxy's ha_warning and ha_alert for server state
// changes ("Server be/s is DOWN, ...", "backend 'be' has no server
// available!"), so a configuration without 'log' still shows its servers
// failing.
func (b *builder) printStderr() func(alert bool, msg string) {
	l := b.stderrLog()
	return func(alert bool, msg string) {
		if alert {
			l.Error(msg)
		} else {
			l.Warn(msg)
		}
	}
}

// printLevel prints a message of a syslog level on stderr: warnings and
// worse as HAProxy's warnings and alerts, the rest as notices.
func (b *builder) printLevel() func(logging.Level, string) {
	l := b.stderrLog()
	return func(lvl logging.Level, msg string) {
		switch {
		case lvl < logging.LevelWarning:
			l.Error(msg)
		case lvl == logging.LevelWarning:
			l.Warn(msg)
		default:
			l.Info(msg)
		}
	}
}
