package app

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/persist"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// persistStage compiles a backend's cookie persistence: "cookie", server
// cookie values, "option persist", force-/ignore-persist and use-server.
// Every backend has one (the runtime API may turn dynamic cookies on);
// in mode tcp it only gives the stats their cookie values (HAProxy
// ignores the cookie there with a warning; l4 runs use-server).
func (b *builder) persistStage(p *config.Proxy, be *proxy.Backend) (*proxy.Persistence, error) {
	ps := &proxy.Persistence{Always: p.Persist}
	ps.SetDynamicKey(p.DynCookieKey)
	ps.SetDynamic(p.Cookie != nil && p.Cookie.Dynamic)
	if p.Mode != config.ModeHTTP {
		return ps, nil
	}
	if p.Cookie != nil {
		ps.Cookie = persist.New(p.Cookie)
	}
	set, err := b.aclSet(p)
	if err != nil {
		return nil, err
	}
	for _, r := range p.PersistRules {
		c, err := set.Cond(r.Cond)
		if err != nil {
			return nil, err
		}
		ps.Rules = append(ps.Rules, proxy.PersistRule{Force: r.Force, Cond: c})
	}
	for _, r := range p.UseServers {
		c, err := set.Cond(r.Cond)
		if err != nil {
			return nil, err
		}
		u := proxy.UseServer{Cond: c}
		if strings.Contains(r.Name, "%") {
			if u.Name, err = b.ruleFormat(r.Name, r.Pos); err != nil {
				return nil, err
			}
		} else {
			for _, s := range be.Servers {
				if s.Name == r.Name {
					u.Server = s
				}
			}
			if u.Server == nil {
				return nil, config.Errorf(r.Pos, "backend '%s' : unable to find server '%s' referenced in a 'use-server' rule.", p.Name, r.Name)
			}
		}
		ps.UseServers = append(ps.UseServers, u)
	}
	return ps, nil
}

// tcpPersist compiles what of persistence a mode tcp backend has:
// use-server rules (server names: cfgparse refuses log-formats there),
// force-/ignore-persist and option persist (which stick rules read too).
func (b *builder) tcpPersist(p *config.Proxy, be *proxy.Backend) (*l4.Persistence, error) {
	if len(p.UseServers) == 0 && len(p.PersistRules) == 0 && len(p.StickRules) == 0 && p.PersistRDP == "" {
		return nil, nil
	}
	set, err := b.aclSet(p)
	if err != nil {
		return nil, err
	}
	ps := &l4.Persistence{Always: p.Persist}
	for _, r := range p.PersistRules {
		c, err := set.Cond(r.Cond)
		if err != nil {
			return nil, err
		}
		ps.Rules = append(ps.Rules, l4.PersistRule{Force: r.Force, Cond: c})
	}
	for _, r := range p.UseServers {
		c, err := set.Cond(r.Cond)
		if err != nil {
			return nil, err
		}
		u := l4.UseServer{Cond: c}
		for _, s := range be.Servers {
			if s.Name == r.Name {
				u.Server = s.Server
			}
		}
		if u.Server == nil {
			return nil, config.Errorf(r.Pos, "backend '%s' : unable to find server '%s' referenced in a 'use-server' rule.", p.Name, r.Name)
		}
		ps.UseServers = append(ps.UseServers, u)
	}
	return ps, nil
}
