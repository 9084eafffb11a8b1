package app

import (
	"os"
	"runtime"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/stats"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// Snapshot copies the graph's live counters and states into the stats
// model. Every stats output (page, CSV, JSON, metrics) reads from it.
func (g *Graph) Snapshot() *stats.Snapshot {
	now := time.Now()
	host, _ := os.Hostname()
	snap := &stats.Snapshot{
		Now: now,
		Info: stats.Info{
			Product:   "Gatehouse",
			Version:   g.Version,
			Node:      host,
			Pid:       g.Proc.PID,
			Nbthread:  runtime.GOMAXPROCS(0),
			Start:     g.Started,
			MaxConn:   g.Cfg.Global.MaxConn,
			CurrConns: int(g.Proc.ActConn.Load()),
		},
	}
	for _, pr := range g.proxies {
		snap.Proxies = append(snap.Proxies, pr.snapshot(now))
	}
	for _, fe := range g.Frontends {
		snap.Info.CumConns += fe.Counters.ConnTot.Load()
		snap.Info.CumReq += fe.Counters.ReqTot.Load()
		snap.Info.ConnRate += fe.Counters.Rate.Value(now)
	}
	return snap
}

func (pr *proxyRuntime) snapshot(now time.Time) *stats.Proxy {
	p := pr.cfg
	sp := &stats.Proxy{Name: p.Name, ID: pr.id, Mode: p.Mode.String()}
	if pr.fe != nil {
		r := sp.NewRow(stats.KindFrontend, "FRONTEND")
		r.C = stats.CountersFrom(pr.fe.Counters, now)
		r.ReqHistory = history(&pr.fe.Counters.ReqHistory, now)
		r.Status = "OPEN"
		r.SLim = frontendLimit(p)
		r.H2 = h2Stats(pr.fe)
		sp.Frontend = r
	}
	if pr.be == nil {
		return sp
	}
	be := pr.be
	var act, bck, weight, uweight int
	for _, srv := range be.Servers {
		r := serverRow(sp, p, srv, now)
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
	r := sp.NewRow(stats.KindBackend, "BACKEND")
	r.C = stats.CountersFrom(be.Counters, now)
	r.Act, r.Bck = act, bck
	r.Weight, r.UWeight = weight, uweight
	r.Servers = len(be.Servers)
	r.Algo = be.Farm.Algo()
	r.QCur = be.Farm.Queue().Len()
	r.QMax = be.Farm.Queue().Max()
	resp, total := be.Counters.RespTime.Snapshot(), be.Counters.TotalTime.Snapshot()
	r.RespTimeHist, r.TotalTimeHist = &resp, &total
	r.ReqHistory = history(&be.Counters.ReqHistory, now)
	r.Status = "UP"
	if act+bck == 0 {
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

func frontendLimit(p *config.Proxy) int {
	if p.MaxConn > 0 {
		return p.MaxConn
	}
	return 0
}

func serverRow(sp *stats.Proxy, p *config.Proxy, srv *proxy.Server, now time.Time) *stats.Row {
	r := sp.NewRow(stats.KindServer, srv.Name)
	r.SID = srv.ID
	r.C = serverCounters(&srv.Counters, now)
	r.Backup = srv.Backup
	r.Weight = srv.EffectiveWeight()
	r.UWeight = srv.Weight()
	r.SLim = srv.MaxConn()
	r.State = serverState(srv.Server)
	r.Checked = srv.Checked()
	r.CheckRise, r.CheckFall, r.CheckHealth = srv.Rise(), srv.Fall(), srv.CheckHealth()
	r.ChkDown = srv.ChkDown()
	r.LastChange = srv.LastChange()
	r.Downtime = srv.Downtime(now)
	r.LbTot = srv.Counters.LbTot.Load()
	r.QTime = uint32(srv.Counters.QTime.Avg())
	r.CTime = uint32(srv.Counters.CTime.Avg())
	r.RTime = uint32(srv.Counters.RTime.Avg())
	r.TTime = uint32(srv.Counters.TTime.Avg())
	r.IdleCur = srv.Pool().Len()
	r.Addr = srv.Addr().String()
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
	switch {
	case s.Admin() == upstream.AdminMaint:
		return stats.SrvMaint
	case s.Operational() == upstream.OpDown:
		if s.Checked() && s.CheckHealth() > 0 {
			return stats.SrvDownGoingUp
		}
		return stats.SrvDown
	case s.Admin() == upstream.AdminDrain:
		return stats.SrvDrain
	case s.Operational() == upstream.OpNoLB:
		return stats.SrvNoLB
	case !s.Checked():
		return stats.SrvNoCheck
	case s.CheckHealth() < s.Rise()+s.Fall()-1:
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
