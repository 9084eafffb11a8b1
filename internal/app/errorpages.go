package app

import (
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// errorPages compiles a proxy's error pages; an http-error reply is
// compiled like an "http-request return" of the proxy.
func (b *builder) errorPages(p *config.Proxy) (*proxy.ErrorPages, error) {
	if len(p.ErrorFiles) == 0 {
		return nil, nil
	}
	ep := &proxy.ErrorPages{Raw: map[int][]byte{}, Replies: map[int]*proxy.Rule{}}
	var env *proxy.RuleEnv
	for code, ef := range p.ErrorFiles {
		if ef.Reply == nil {
			ep.Raw[code] = ef.Content
			continue
		}
		var err error
		if env == nil {
			if env, err = b.ruleEnv(p); err != nil {
				return nil, err
			}
		}
		rules, err := proxy.CompileRules([]*config.HTTPAction{ef.Reply}, env, false)
		if err != nil {
			return nil, err
		}
		ep.Replies[code] = rules[0]
	}
	return ep, nil
}
