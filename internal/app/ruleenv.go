package app

import (
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// ruleEnv is what a proxy's rules compile against: its ACLs, the caches,
// services, extensions (identity, stick actions) and where warnings go.
func (b *builder) ruleEnv(p *config.Proxy) (*proxy.RuleEnv, error) {
	set, err := b.aclSet(p)
	if err != nil {
		return nil, err
	}
	where := "frontend"
	if p.Section == "backend" {
		where = "backend"
	}
	return &proxy.RuleEnv{
		ACLs:  set,
		Proxy: p.Name,
		Where: where,
		Warn: func(pos config.Pos, msg string) {
			b.cfg.Warnings = append(b.cfg.Warnings, config.Diag{Pos: pos, Warning: true, Msg: msg})
		},
		Caches: b.g.cacheIndex(),
		Format: b.ruleFormat,
		Service: func(name string, pos config.Pos) (proxy.Service, error) {
			return b.service(p, name, pos)
		},
		Custom: func(a *config.HTTPAction) (func(*proxy.Txn) bool, error) {
			if a.Stick != nil {
				return b.stickAction(p, a)
			}
			return b.ident.action(a, (*proxy.Txn).Reply)
		},
	}, nil
}
