package app

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// proxyInfo answers the fe_*, be_*, srv_*, queue and connslots fetches
// from one runtime graph's proxies and servers.
type proxyInfo struct {
	g        *Graph
	backends map[string]*proxy.Backend
}

func (p *proxyInfo) Frontend(name string) (acl.FrontendInfo, bool) {
	for _, fe := range p.g.Frontends {
		if fe.Name == name {
			now := time.Now()
			i := acl.FrontendInfo{ID: fe.ID, Conn: fe.Counters.CurSess.Load(),
				SessRate: int64(fe.Counters.Rate.Value(now)), ReqRate: int64(fe.Counters.ReqRate.Value(now)),
				ClientTimeout: fe.Timeouts.Client}
			if fe.Default != nil {
				i.DefaultBackend = fe.Default.Name
			}
			return i, true
		}
	}
	return acl.FrontendInfo{}, false
}

func (p *proxyInfo) Backend(name string) (acl.BackendInfo, bool) {
	be := p.backends[name]
	if be == nil {
		return acl.BackendInfo{}, false
	}
	b := acl.BackendInfo{ID: be.ID, Conn: be.Counters.CurSess.Load(), SessRate: int64(be.Counters.Rate.Value(time.Now())),
		ServerTimeout: be.Timeouts.Server, TunnelTimeout: be.Timeouts.Tunnel}
	if be.Farm == nil {
		return b, true
	}
	b.Queue = int64(be.Farm.Queue().Len())
	b.Active = int64(be.Farm.Live())
	backups := be.Farm.UsingBackups()
	for _, s := range be.Farm.Servers() {
		b.Queue += int64(s.Queued())
		// The servers that take traffic now: the active ones, or the
		// backups when none of those is left.
		if !s.Usable() || s.Backup != backups {
			continue
		}
		if b.FreeConn >= 0 {
			if s.MaxConn() == 0 {
				b.FreeConn = -1
			} else {
				b.FreeConn += int64(max(s.MaxConn()-s.Cur(), 0))
			}
		}
		if b.FreeQueue >= 0 {
			if s.MaxQueue() == 0 {
				b.FreeQueue = -1
			} else {
				b.FreeQueue += int64(max(s.MaxQueue()-s.Queued(), 0))
			}
		}
	}
	return b, true
}

func (p *proxyInfo) Server(backend, name string) (acl.ServerInfo, bool) {
	be := p.backends[backend]
	if be == nil || be.Farm == nil {
		return acl.ServerInfo{}, false
	}
	s := be.Farm.Server(name)
	if s == nil {
		return acl.ServerInfo{}, false
	}
	return serverInfo(s), true
}

func serverInfo(s *upstream.Server) acl.ServerInfo {
	i := acl.ServerInfo{ID: s.ID, Up: s.Reachable(), Conn: int64(s.Cur()), Queue: int64(s.Queued()),
		SessRate: int64(s.Counters.Rate.Value(time.Now())), FreeConn: -1,
		Weight: int64(s.Weight()), UWeight: int64(s.Weight()), IWeight: int64(s.InitialWeight())}
	if m := s.MaxConn(); m > 0 {
		i.FreeConn = int64(max(m-s.Cur(), 0))
	}
	return i
}
