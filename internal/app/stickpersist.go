package app

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/stick"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// stickRuleTables names the tables stick rules use: HAProxy enables
// server_id and server_key in them.
func (b *builder) stickRuleTables() map[string]bool {
	used := map[string]bool{}
	for _, p := range b.cfg.Proxies {
		for _, r := range p.StickRules {
			name := r.Table
			if name == "" {
				name = p.Name
			}
			used[name] = true
		}
	}
	return used
}

// stickPersist compiles a backend's stick rules; nil without any.
func (b *builder) stickPersist(p *config.Proxy, be *proxy.Backend) (*proxy.StickPersist, error) {
	if len(p.StickRules) == 0 {
		return nil, nil
	}
	set, err := b.aclSet(p)
	if err != nil {
		return nil, err
	}
	sp := &proxy.StickPersist{Servers: backendServers{be}}
	for _, r := range p.StickRules {
		c, err := b.stickRule(set, p, r)
		if err != nil {
			return nil, err
		}
		if r.Response {
			sp.Response = append(sp.Response, c)
		} else {
			sp.Request = append(sp.Request, c)
		}
	}
	return sp, nil
}

// stickRule compiles one rule, refusing a pattern that reads what its
// direction cannot have, with HAProxy's message.
func (b *builder) stickRule(set *acl.Set, p *config.Proxy, r *config.StickRule) (proxy.StickRule, error) {
	name := r.Table
	if name == "" {
		name = p.Name
	}
	out := proxy.StickRule{Match: r.Match, Store: r.Store, Table: b.stickTables[name]}
	if out.Table == nil {
		return out, config.Errorf(r.Pos, "Proxy '%s': unable to find stick-table '%s'.", p.Name, name)
	}
	key, err := acl.CompileExprMaps(r.Expr, r.Pos, b.maps)
	if err != nil {
		return out, err
	}
	fetch, _, _ := strings.Cut(r.Expr, ",")
	fetch, _, _ = strings.Cut(fetch, "(")
	ctx := acl.CtxHTTPRequest
	if p.Mode != config.ModeHTTP {
		ctx = acl.CtxTCPContent
	}
	switch {
	case r.Response && key.Uses()&acl.NeedReq != 0:
		return out, config.Errorf(r.Pos, "'stick': fetch method '%s' extracts information from 'HTTP request headers', none of which is available for 'store-response'.", fetch)
	case !r.Response && key.Uses()&acl.NeedResp != 0:
		return out, config.Errorf(r.Pos, "'stick': fetch method '%s' extracts information from 'HTTP response headers', none of which is available during request.", fetch)
	case !r.Response && p.Mode == config.ModeHTTP:
		if err := key.Check(ctx); err != nil {
			return out, config.Errorf(r.Pos, "'stick': %v", err)
		}
	}
	out.Key = key
	if r.Cond != nil {
		c, err := set.Cond(r.Cond)
		if err != nil {
			return out, err
		}
		if !r.Response {
			if err := c.Check(ctx); err != nil {
				return out, config.Errorf(r.Pos, "'stick': %v", err)
			}
		}
		out.Cond = c
	}
	return out, nil
}

// backendServers finds a backend's server by what a stick table stored.
type backendServers struct{ be *proxy.Backend }

func (s backendServers) ByKey(t *stick.Table, skey string) *proxy.Server {
	if skey == "" {
		return nil
	}
	addr := t.Config().SrvKey == stick.SrvKeyAddr
	for _, srv := range s.be.Servers {
		if (addr && srv.Addr().String() == skey) || (!addr && srv.Name == skey) {
			return srv
		}
	}
	return nil
}

func (s backendServers) ByID(id int) *proxy.Server {
	for _, srv := range s.be.Servers {
		if srv.ID == id {
			return srv
		}
	}
	return nil
}

// tcpStickPersist is the mode tcp form of a backend's stick rules, from
// its HTTP view's compiled ones (the same tables, keys and conditions).
func tcpStickPersist(pbe *proxy.Backend) *l4.StickPersist {
	sp := pbe.StickRules
	if sp == nil {
		return nil
	}
	conv := func(rs []proxy.StickRule) []l4.StickRule {
		out := make([]l4.StickRule, len(rs))
		for i, r := range rs {
			out[i] = l4.StickRule{Match: r.Match, Store: r.Store, Table: r.Table, Key: r.Key, Cond: r.Cond}
		}
		return out
	}
	bs := backendServers{pbe}
	up := func(s *proxy.Server) *upstream.Server {
		if s == nil {
			return nil
		}
		return s.Server
	}
	return &l4.StickPersist{
		Request:  conv(sp.Request),
		Response: conv(sp.Response),
		ByKey:    func(t *stick.Table, skey string) *upstream.Server { return up(bs.ByKey(t, skey)) },
		ByID:     func(id int) *upstream.Server { return up(bs.ByID(id)) },
		SrvKey: func(t *stick.Table, srv *upstream.Server) string {
			if t.Config().SrvKey == stick.SrvKeyAddr {
				return srv.Addr().String()
			}
			return srv.Name
		},
	}
}
