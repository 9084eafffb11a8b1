package app

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/sock"
	"github.com/gatehouse/gatehouse/internal/stats"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// Snapshot copies the graph's live counters and states into the stats
// model. Every stats output (page, CSV, JSON, metrics) reads from it.
func (g *Graph) Snapshot() *stats.Snapshot {
	now := time.Now()
	host := g.Cfg.Global.Process.Node
	if host == "" {
		host, _ = os.Hostname()
	}
	fds := fdLimit()
	snap := &stats.Snapshot{
		Now: now,
		Info: stats.Info{
			Product:     "Gatehouse",
			Version:     g.Version,
			ReleaseDate: g.ReleaseDate,
			Node:        host,
			Description: g.Cfg.Global.Process.Description,
			Pid:         g.Proc.PID,
			Nbthread:    runtime.GOMAXPROCS(0),
			Start:       g.Started,
			MaxConn:     g.Cfg.Global.MaxConn,
			// Gatehouse does not size a socket table as HAProxy does: the
			// descriptors it may open are its sockets' limit.
			UlimitN:   fds,
			MaxSock:   fds,
			CurrConns: int(g.Proc.ActConn.Load()),
			IdlePct:   g.idle.percent(now),
		},
	}
	lim, inUse, free := sock.PipeCounts()
	snap.Info.MaxPipes, snap.Info.PipesUsed, snap.Info.PipesFree = int(lim), int(inUse), int(free)
	fullconn := fullConns(g.Cfg)
	for _, pr := range g.proxies {
		snap.Proxies = append(snap.Proxies, pr.snapshot(now, g.Cfg.Global.MaxConn, fullconn[pr.cfg.Name]))
	}
	g.ident.snapshot(snap)
	seen := map[string]bool{}
	for _, st := range g.Stores {
		for _, c := range st.Certificates() {
			if !seen[c.File] {
				seen[c.File] = true
				snap.Certs = append(snap.Certs, stats.CertStats{File: c.File, NotAfter: c.NotAfter})
			}
		}
	}
	for _, m := range g.acme {
		for _, c := range m.Status() {
			snap.ACME = append(snap.ACME, stats.ACMEStats{Section: c.Section, Certificate: c.Name, Domains: c.Domains,
				NotAfter: c.NotAfter, OrdersOK: c.OrdersOK, OrdersFailed: c.Failed})
		}
	}
	// Read after the proxies' captures, so that none is numbered beyond
	// the total.
	snap.Info.ErrorEvents = g.Proc.Captured.Load()
	for _, fe := range g.Frontends {
		snap.Info.CumConns += fe.Counters.ConnTot.Load()
		snap.Info.CumReq += fe.Counters.ReqTot.Load()
	}
	g.rateInfo(&snap.Info)
	return snap
}

// snapshot copies one proxy's rows; globalMax is the global maxconn (0:
// none), fullconn the backend's session limit (see fullConns).
func (pr *proxyRuntime) snapshot(now time.Time, globalMax, fullconn int) *stats.Proxy {
	p := pr.cfg
	sp := &stats.Proxy{Name: p.Name, ID: pr.id, Mode: p.Mode.String(), Desc: p.Description}
	if pr.fe != nil {
		r := sp.NewRow(stats.KindFrontend, "FRONTEND")
		r.C = stats.CountersFrom(pr.fe.Counters, now)
		r.ReqHistory = history(&pr.fe.Counters.ReqHistory, now)
		r.Status = "OPEN"
		r.SLim = frontendLimit(p, globalMax)
		r.RateLim = p.RateLimitSessions
		r.H2 = h2Stats(pr.fe)
		sp.Frontend = r
		for _, ls := range pr.listeners {
			lr := sp.NewRow(stats.KindListener, ls.name)
			lr.C = stats.CountersFrom(ls.c, now)
			lr.Status = "OPEN"
			lr.SID = ls.id
			lr.Addr = ls.addr
			lr.SLim = ls.maxConn // 0 unless the bind sets it, as HAProxy 2.6 shows it
			sp.Listeners = append(sp.Listeners, lr)
		}
		if pr.fe.Counters != nil {
			sp.InvalidReq, _ = pr.fe.Counters.Errors.Last()
		}
	}
	if pr.be == nil {
		return sp
	}
	be := pr.be
	var act, bck, weight, uweight int
	for _, srv := range be.Servers {
		r := serverRow(sp, p, srv, now)
		r.Cookie = be.Persist.CookieValue(srv)
		sp.Servers = append(sp.Servers, r)
		if srv.Usable() {
			if srv.Backup {
				bck++
			} else {
				act++
			}
			weight += srv.EffectiveWeight()
		}
		uweight += srv.Weight()
	}
	if be.Counters != nil {
		_, sp.InvalidResp = be.Counters.Errors.Last()
	}
	r := sp.NewRow(stats.KindBackend, "BACKEND")
	r.C = stats.CountersFrom(be.Counters, now)
	r.Act, r.Bck = act, bck
	r.Weight, r.UWeight = weight, uweight
	r.Servers = len(be.Servers)
	r.Algo = be.Farm.Algo()
	if p.Cookie != nil {
		r.Cookie = p.Cookie.Name
	}
	r.QCur = be.Farm.Queue().Len()
	r.QMax = be.Farm.Queue().Max()
	resp, total := be.Counters.RespTime.Snapshot(), be.Counters.TotalTime.Snapshot()
	r.RespTimeHist, r.TotalTimeHist = &resp, &total
	r.ReqHistory = history(&be.Counters.ReqHistory, now)
	r.LbTot = be.Counters.LbTot.Load()
	r.SLim = fullconn
	// HAProxy's rule: a backend is UP while its usable servers carry
	// weight, or when it has no server at all (a stats or redirect-only
	// backend serves without one).
	r.Status = "UP"
	if weight == 0 && len(be.Servers) > 0 {
		r.Status = "DOWN"
	}
	sp.Backend = r
	return sp
}

// h2Stats copies the HTTP/2 engine's counters of fe (HAProxy's h2 stats
// module); nil when fe has no HTTP/2 (mode tcp).
func h2Stats(fe *proxy.Frontend) *stats.H2Stats {
	if fe.H2 == nil || fe.H2.Counters == nil {
		return nil
	}
	c := fe.H2.Counters
	return &stats.H2Stats{
		HeadersRcvd:   c.HeadersRcvd.Load(),
		DataRcvd:      c.DataRcvd.Load(),
		SettingsRcvd:  c.SettingsRcvd.Load(),
		RstStreamRcvd: c.RstStreamRcvd.Load(),
		GoawayRcvd:    c.GoawayRcvd.Load(),
		ConnProtoErr:  c.ConnProtoErr.Load(),
		StrmProtoErr:  c.StrmProtoErr.Load(),
		RstStreamResp: c.RstStreamResp.Load(),
		GoawayResp:    c.GoawayResp.Load(),
		OpenConns:     c.OpenConns.Load(),
		OpenStreams:   c.OpenStreams.Load(),
		TotalConns:    c.TotalConns.Load(),
		TotalStreams:  c.TotalStreams.Load(),
	}
}

// frontendLimit is a frontend's maxconn, the global one when it has none
// (HAProxy's default); 0 when neither is set.
func frontendLimit(p *config.Proxy, globalMax int) int {
	if p.MaxConn > 0 {
		return p.MaxConn
	}
	return globalMax
}

// fullConns computes each backend's "slim" as HAProxy computes fullconn
// when it is not set: a tenth (rounded up) of the maxconn of the
// frontends that reach it by name (default_backend, use_backend, or
// itself for a listen). A backend reached by a frontend without any limit
// has none (0).
func fullConns(cfg *config.Config) map[string]int {
	total := map[string]int{}
	unlimited := map[string]bool{}
	for _, p := range cfg.Proxies {
		if p.Cap&config.CapFE == 0 {
			continue
		}
		limit := frontendLimit(p, cfg.Global.MaxConn)
		seen := map[string]bool{}
		add := func(name string) {
			if name == "" || seen[name] || strings.Contains(name, "%[") {
				return
			}
			seen[name] = true
			total[name] += limit
			if limit == 0 {
				unlimited[name] = true
			}
		}
		if p.Cap&config.CapBE != 0 {
			add(p.Name)
		}
		add(p.DefaultBackend)
		for _, ub := range p.UseBackends {
			add(ub.Name)
		}
	}
	out := make(map[string]int, len(total))
	for name, t := range total {
		if !unlimited[name] {
			out[name] = max((t+9)/10, 1)
		}
	}
	return out
}

func serverRow(sp *stats.Proxy, p *config.Proxy, srv *proxy.Server, now time.Time) *stats.Row {
	r := sp.NewRow(stats.KindServer, srv.Name)
	r.SID = srv.ID
	r.C = serverCounters(&srv.Counters, now)
	r.Backup = srv.Backup
	// HAProxy shows a server's weight whatever its state (its eweight is
	// not zeroed by DOWN, DRAIN or MAINT); the backend sums usable ones.
	r.Weight = srv.Weight()
	r.UWeight = srv.Weight()
	r.SLim = srv.MaxConn()
	r.State = serverState(srv.Server)
	r.Resolution = srv.ResolutionMaint()
	// A tracking server shows the checks of the server at the end of its
	// chain (HAProxy's "ref").
	ref := srv.Ref()
	r.Checked = ref.Checked()
	r.CheckRise, r.CheckFall, r.CheckHealth = ref.Rise(), ref.Fall(), ref.CheckHealth()
	if _, name := srv.Tracked(); name != "" {
		r.Tracked = name
		if srv.InheritedMaint() && !srv.ResolutionMaint() {
			r.MaintVia = name
		}
	}
	r.ChkDown = srv.ChkDown()
	r.LastChange = srv.LastChange()
	r.Downtime = srv.Downtime(now)
	r.LbTot = srv.Counters.LbTot.Load()
	r.QTime = uint32(srv.Counters.QTime.Avg())
	r.CTime = uint32(srv.Counters.CTime.Avg())
	r.RTime = uint32(srv.Counters.RTime.Avg())
	r.TTime = uint32(srv.Counters.TTime.Avg())
	r.UnsafeIdle, r.SafeIdle = srv.Pool().IdleCounts()
	r.IdleCur = r.UnsafeIdle + r.SafeIdle
	r.UsedConns, r.NeedConnEst = int(srv.Pool().UsedConns()), int(srv.Pool().NeedConnEst())
	if srv.HasAddr() {
		r.Addr = srv.Addr().String()
	}
	resp, total := srv.Counters.RespTime.Snapshot(), srv.Counters.TotalTime.Snapshot()
	r.RespTimeHist, r.TotalTimeHist = &resp, &total
	r.ReqHistory = history(&srv.Counters.ReqHistory, now)
	fillCheckRow(r, srv)
	return r
}

// history is a row's request-rate history for the stats page's sparkline.
func history(h *counters.RateHistory, now time.Time) []uint64 {
	s := h.Snapshot(now)
	return s[:]
}

func serverState(s *upstream.Server) stats.ServerState {
	ref := s.Ref()
	switch {
	case s.Admin() == upstream.AdminMaint:
		return stats.SrvMaint
	case s.Operational() == upstream.OpDown:
		// HAProxy's stats_get_srv_state: the agent's verdict first.
		switch {
		case ref.AgentHealth() == 0:
			return stats.SrvDownAgent
		case ref.Checked() && ref.CheckHealth() == 0:
			return stats.SrvDown
		case ref.Checked() || ref.AgentHealth() > 0:
			return stats.SrvDownGoingUp
		}
		return stats.SrvDown
	case s.Admin() == upstream.AdminDrain && ref.AgentHealth() >= 0:
		return stats.SrvDrainAgent
	case s.Admin() == upstream.AdminDrain:
		return stats.SrvDrain
	case s.Operational() == upstream.OpNoLB:
		return stats.SrvNoLB
	case !ref.Checked():
		return stats.SrvNoCheck
	case ref.CheckHealth() < ref.Rise()+ref.Fall()-1:
		return stats.SrvUpGoingDown
	}
	return stats.SrvUp
}

func serverCounters(c *counters.Server, now time.Time) stats.Counters {
	out := stats.Counters{
		CurSess:  c.CurSess.Load(),
		MaxSess:  c.MaxSess.Load(),
		TotSess:  c.TotSess.Load(),
		BytesIn:  c.BytesIn.Load(),
		BytesOut: c.BytesOut.Load(),
		ErrConn:  c.ErrConn.Load(),
		ErrResp:  c.ErrResp.Load(),
		Retries:  c.Retries.Load(),
		Redisp:   c.Redisp.Load(),
		ReqTot:   c.ReqTot.Load(),
		CliAbort: c.CliAbort.Load(),
		SrvAbort: c.SrvAbort.Load(),
		Connect:  c.Connect.Load(),
		Reuse:    c.Reuse.Load(),
		Rate:     c.Rate.Value(now),
		RateMax:  c.Rate.Max(),
	}
	if ls := c.LastSess.Load(); ls > 0 {
		out.LastSess = time.Unix(ls, 0)
	}
	for i := range out.HRsp {
		out.HRsp[i] = c.HRsp[i].Load()
	}
	return out
}

// fdLimit is the process's file descriptor limit (RLIMIT_NOFILE, which
// Go raises to the hard limit at start): HAProxy's Ulimit-n.
func fdLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > math.MaxInt32 {
		return 0
	}
	return int(r.Cur)
}

// idleMeter estimates HAProxy's Idle_pct for a Go process: the share of
// the CPU time its threads (GOMAXPROCS) could have used over about the
// last second that the process did not use. HAProxy measures the time
// its threads wait in poll; a Go process's equivalent is the capacity
// its CPU time leaves unused.
type idleMeter struct {
	mu  sync.Mutex
	at  time.Time     // the last sample
	cpu time.Duration // process CPU time at the last sample
	pct int           // -1: no interval measured yet
}

func newIdleMeter(now time.Time) *idleMeter {
	m := &idleMeter{pct: -1}
	if cpu, ok := processCPU(); ok {
		m.at, m.cpu = now, cpu
	}
	return m
}

// percent returns the idle percentage, measured again when the last
// measure is a second old (or when there is none yet); -1 if unknown.
func (m *idleMeter) percent(now time.Time) int {
	if m == nil {
		return -1
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	wall := now.Sub(m.at)
	if m.at.IsZero() || wall <= 0 || (m.pct >= 0 && wall < time.Second) {
		return m.pct
	}
	cpu, ok := processCPU()
	if !ok {
		return m.pct
	}
	capacity := wall * time.Duration(runtime.GOMAXPROCS(0))
	m.pct = idleShare(cpu-m.cpu, capacity)
	m.at, m.cpu = now, cpu
	return m.pct
}

// idleShare is the unused share of capacity, in percent, clamped to 0..100.
func idleShare(used, capacity time.Duration) int {
	if capacity <= 0 {
		return -1
	}
	pct := 100 - int(used*100/capacity)
	return min(max(pct, 0), 100)
}

// processCPU is the user and system CPU time the process used so far.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// releaseDate is the build's date as HAProxy prints Release_date
// ("2006/01/02"): the commit time the Go toolchain stamps into the
// binary, else the executable's modification time.
func releaseDate() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					return t.UTC().Format("2006/01/02")
				}
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			return fi.ModTime().UTC().Format("2006/01/02")
		}
	}
	return ""
}
