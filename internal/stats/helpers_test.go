package stats

import (
	"time"
)

// testSnapshot is a listen-style proxy "web" (frontend, 2 servers, backend;
// srv2 DOWN) plus a tcp frontend, at a fixed time.
func testSnapshot() *Snapshot {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	web := &Proxy{Name: "web", ID: 2, Mode: "http"}
	fe := web.NewRow(KindFrontend, "")
	fe.Status = "OPEN"
	fe.SLim = 2000
	fe.C = Counters{CurSess: 3, MaxSess: 9, TotSess: 120, BytesIn: 5000, BytesOut: 90000,
		DenyReq: 2, ErrReq: 1, ReqTot: 130, ConnTot: 121, Intercept: 4, Rate: 5, RateMax: 11,
		ReqRate: 6, ReqRateMax: 12, HRsp: [6]uint64{0, 100, 3, 20, 7, 0}}
	fe.H2 = &H2Stats{HeadersRcvd: 40, DataRcvd: 12, SettingsRcvd: 18, ConnProtoErr: 1, GoawayResp: 1,
		OpenConns: 2, OpenStreams: 3, TotalConns: 9, TotalStreams: 41}
	s1 := web.NewRow(KindServer, "gw1")
	s1.SID = 1
	s1.State = SrvUp
	s1.Weight, s1.UWeight = 1, 1
	s1.Checked, s1.CheckStatus, s1.CheckCode, s1.CheckDuration = true, "L7OK", 200, 3*time.Millisecond
	s1.LastChk = "OK"
	s1.CheckRise, s1.CheckFall, s1.CheckHealth = 2, 3, 4
	s1.LastChange = now.Add(-30 * time.Minute)
	s1.C = Counters{TotSess: 70, BytesIn: 3000, BytesOut: 50000, LastSess: now.Add(-2 * time.Second),
		Connect: 70, HRsp: [6]uint64{0, 60, 2, 8, 0, 0}, ReqTot: 70}
	s1.LbTot = 70
	s1.CTime, s1.RTime, s1.TTime = 1, 12, 15
	s1.Addr = "10.0.0.1:443"
	s2 := web.NewRow(KindServer, "gw2")
	s2.SID = 2
	s2.State = SrvDown
	s2.Weight, s2.UWeight = 1, 1
	s2.Checked, s2.CheckStatus, s2.CheckDuration = true, "L4CON", 1*time.Millisecond
	s2.LastChk = "Connection refused"
	s2.CheckRise, s2.CheckFall, s2.CheckHealth = 2, 3, 0
	s2.ChkFail, s2.ChkDown = 3, 1
	s2.Downtime = 10 * time.Minute
	s2.LastChange = now.Add(-10 * time.Minute)
	s2.C = Counters{ErrConn: 5}
	be := web.NewRow(KindBackend, "")
	be.Status = "UP"
	be.Weight, be.UWeight, be.Act, be.Servers = 1, 2, 1, 2
	be.SLim = 200
	be.C = Counters{TotSess: 70, BytesIn: 3000, BytesOut: 50000, ErrConn: 5, ReqTot: 70, LastSess: now.Add(-2 * time.Second)}
	be.LbTot = 70
	be.LastChange = start
	be.Algo = "roundrobin"
	web.Frontend, web.Servers, web.Backend = fe, []*Row{s1, s2}, be

	tcp := &Proxy{Name: "tls<in>", ID: 3, Mode: "tcp"}
	tfe := tcp.NewRow(KindFrontend, "")
	tfe.Status = "OPEN"
	tfe.SLim = 1000
	tcp.Frontend = tfe

	return &Snapshot{
		Now: now,
		Info: Info{Product: "Gatehouse", Version: "0.1.0", ReleaseDate: "2024/04/30", Node: "edge-1",
			Pid: 4242, Nbthread: 4, Start: start, MaxConn: 1000, CurrConns: 3, IdlePct: 97},
		Proxies: []*Proxy{web, tcp},
	}
}
