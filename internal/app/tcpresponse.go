package app

import (
	"strconv"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/stick"
)

// tcpResponse gives a mode tcp backend its tcp-response content rules
// and its RDP cookie persistence and balancing.
func (b *builder) tcpResponse(p *config.Proxy, be *l4.Backend) error {
	be.RDPPersist = p.PersistRDP
	if p.Balance.Algo == "rdp-cookie" {
		be.RDPBalance = p.Balance.Arg
	}
	be.ResInspectDelay = p.ResInspectDelay
	if len(p.TCPResponse) == 0 {
		return nil
	}
	set, err := b.aclSet(p)
	if err != nil {
		return err
	}
	for _, r := range p.TCPResponse {
		rule, err := b.tcpResponseRule(set, r)
		if err != nil {
			return err
		}
		be.ResRules = append(be.ResRules, rule)
	}
	return nil
}

func (b *builder) tcpResponseRule(set *acl.Set, r *config.TCPAction) (l4.Rule, error) {
	const ctx = acl.CtxTCPResponse
	kw := "tcp-response content " + r.Action
	rule := l4.Rule{Reject: r.Action == "reject", Drop: r.Action == "silent-drop", Close: r.Action == "close"}
	switch {
	case r.Action == "set-log-level":
		rule.LogLevel = -1
		if r.Value != "silent" {
			l, ok := logging.ParseLevel(r.Value)
			if !ok {
				return rule, config.Errorf(r.Pos, "'%s': unknown log level '%s'", kw, r.Value)
			}
			rule.LogLevel = int8(l) + 1
		}
	case r.Var != nil:
		a, err := proxy.CompileVarAction(r.Var, "tcp-response content", ctx)
		if err != nil {
			return rule, err
		}
		rule.Var = &l4.VarRule{Action: a}
		if r.Var.Kind == "set-var-fmt" {
			if rule.Var.Format, err = proxy.VarFormat(r.Var.Expr, r.Pos); err != nil {
				return rule, err
			}
		}
	case r.Stick != nil:
		op, ok := stick.ParseSCOp(r.Action)
		if !ok {
			return rule, config.Errorf(r.Pos, "'tcp-response content': unknown action '%s'", r.Action)
		}
		sa := r.Stick
		sc := &l4.SCAction{Op: op, Slot: sa.Slot, Idx: sa.Idx}
		if op.TakesValue() {
			if v, err := strconv.ParseInt(sa.Value, 10, 64); err == nil {
				sc.Value = v
			} else {
				e, err := acl.CompileExprMaps(sa.Value, r.Pos, b.maps)
				if err != nil {
					return rule, err
				}
				if err := e.Check(ctx); err != nil {
					return rule, config.Errorf(r.Pos, "'%s' : %v", kw, err)
				}
				sc.Set = e
			}
		}
		rule.SC = sc
	}
	if r.Cond == nil {
		return rule, nil
	}
	c, err := set.Cond(r.Cond)
	if err != nil {
		return rule, err
	}
	// ACLs on the request buffer or HTTP never match here: HAProxy warns.
	warnings, need := c.Conflicts(ctx, "backend tcp-response content rule")
	for _, w := range warnings {
		b.cfg.Warnings = append(b.cfg.Warnings, config.Diag{Pos: r.Pos, Warning: true, Msg: w})
	}
	if err := acl.CheckContext(need, ctx); err != nil {
		return rule, config.Errorf(r.Pos, "'%s' : %v", kw, err)
	}
	rule.Cond = c
	return rule, nil
}

// httpTCPResponse checks what of tcp-response and the RDP cookie a mode
// http backend has: the RDP cookie lives in raw TCP streams, which
// HAProxy's HTTP streams never show its fetch (it finds none: balance
// rdp-cookie balances round robin there, persist rdp-cookie never
// persists), so Gatehouse does the same and says so.
func (b *builder) httpTCPResponse(p *config.Proxy) error {
	if p.Mode != config.ModeHTTP {
		return nil
	}
	if len(p.TCPResponse) > 0 {
		r := p.TCPResponse[0]
		return config.Errorf(r.Pos, "backend '%s': 'tcp-response content' rules are implemented for mode tcp backends only; in mode http, use http-response rules", p.Name)
	}
	warn := func(pos config.Pos, msg string) {
		b.cfg.Warnings = append(b.cfg.Warnings, config.Diag{Pos: pos, Warning: true, Msg: msg})
	}
	if p.Balance.Algo == "rdp-cookie" {
		warn(p.Balance.Pos, "backend '"+p.Name+"': 'balance rdp-cookie' finds no RDP cookie in mode http (there is none in HTTP requests): it balances round robin, as HAProxy does there.")
	}
	if p.PersistRDP != "" {
		warn(p.Pos, "backend '"+p.Name+"': 'persist rdp-cookie' has no effect in mode http (there is no RDP cookie in HTTP requests), as in HAProxy.")
	}
	return nil
}
