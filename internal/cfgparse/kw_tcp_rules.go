package cfgparse

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"
)

func tcpRuleKeywords() []keyword {
	return []keyword{
		{name: "tcp-request", where: wProxy, syntax: "tcp-request inspect-delay <time> | tcp-request connection|content accept|reject [{if|unless} <condition>]",
			desc: "Layer 4 rules: 'connection' rules run when a connection is accepted, 'content' rules once data arrived (up to 'inspect-delay').",
			sub:  tcpRequestTable, subUnimpl: []string{"session"}},
	}
}

func tcpRequestTable() []keyword {
	return []keyword{
		{name: "inspect-delay", where: wProxy, syntax: "tcp-request inspect-delay <time>",
			desc: "How long 'content' rules may wait for data (e.g. a TLS ClientHello).", parse: parseInspectDelay},
		{name: "connection", where: wFEOnly, syntax: "tcp-request connection accept|reject|set-var(<var>) <expr>|set-var-fmt(<var>) <fmt>|unset-var(<var>)|track-sc0..2 <key> [table <table>] [{if|unless} <condition>]",
			desc: "Accept or reject a connection as soon as it is accepted, set a variable (proc and sess scopes only: no stream exists yet), or track <key> in a stick table (mode tcp; counts conn_cnt, conn_rate and conn_cur; the first track-scN of a connection applies).", parse: parseTCPRule},
		{name: "content", where: wProxy, syntax: "tcp-request content accept|reject|set-var(<var>) <expr>|set-var-fmt(<var>) <fmt>|unset-var(<var>)|track-sc0..2 <key> [table <table>] [{if|unless} <condition>]",
			desc: "Accept or reject a connection once its first bytes are available, set a variable, or track <key> in a stick table (mode tcp, as in 'connection').", parse: parseTCPRule},
	}
}

func parseInspectDelay(p *parser, args []token) error {
	if len(args) != 3 {
		return fmt.Errorf("'tcp-request inspect-delay' expects a time value.")
	}
	d, err := parseDuration(args[2].Text)
	if err != nil {
		return fmt.Errorf("'tcp-request inspect-delay': %v", err)
	}
	p.ps.px.InspectDelay = d
	return nil
}

func parseTCPRule(p *parser, args []token) error {
	layer := args[1].Text
	if p.ps.isDefaults && p.ps.name == "" {
		return fmt.Errorf("tcp-request %s is not allowed in anonymous 'defaults' sections", layer)
	}
	if err := noteRules(p, "tcp-request"); err != nil {
		return err
	}
	if len(args) < 3 {
		return fmt.Errorf("'tcp-request %s' expects 'accept' or 'reject'.", layer)
	}
	action := args[2].Text
	r := &config.TCPAction{Pos: p.pos(), Layer: layer, Action: action}
	end := len(args)
	for i := 3; i < len(args); i++ {
		if args[i].Text == "if" || args[i].Text == "unless" {
			end = i
			break
		}
	}
	switch {
	case action == "accept" || action == "reject":
		end = 3 // anything else is a condition, or parseCond's error
	case matchVarAction("set-var", action) || matchVarAction("set-var-fmt", action) || matchVarAction("unset-var", action):
		va, err := parseVarWord(action, args[3:end])
		if err != nil {
			return fmt.Errorf("'tcp-request %s %s' : %v.", layer, action, err)
		}
		va.Pos = r.Pos
		r.Var, r.Action = va, va.Kind
	case action == "track-sc0" || action == "track-sc1" || action == "track-sc2":
		a := &config.HTTPAction{Action: action}
		if err := trackArgs(int(action[8]-'0'))(p, a, args[3:end]); err != nil {
			return fmt.Errorf("'tcp-request %s %s' : %v.", layer, action, err)
		}
		r.Stick = a.Stick
	default:
		return fmt.Errorf("'tcp-request %s' : action '%s' is not implemented by Gatehouse (supported: 'accept', 'reject', 'set-var', 'set-var-fmt', 'unset-var', 'track-sc0..2').", layer, action)
	}
	if end < len(args) {
		c, err := parseCond(p, args, end)
		if err != nil {
			return err
		}
		r.Cond = c
	}
	p.ps.px.TCPRequest = append(p.ps.px.TCPRequest, r)
	return nil
}
