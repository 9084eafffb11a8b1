package cfgparse

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

func tcpRuleKeywords() []keyword {
	return []keyword{
		{name: "tcp-request", where: wProxy, syntax: "tcp-request inspect-delay <time> | tcp-request connection|session|content <action> [{if|unless} <condition>]",
			desc: "Layer 4 rules: 'connection' rules run when a connection is accepted, 'session' rules once its handshakes (PROXY header, TLS) are done, 'content' rules once data arrived (up to 'inspect-delay'; in mode http on each request).",
			sub:  tcpRequestTable},
	}
}

func tcpRequestTable() []keyword {
	return []keyword{
		{name: "inspect-delay", where: wProxy, syntax: "tcp-request inspect-delay <time>",
			desc: "How long 'content' rules may wait for data (e.g. a TLS ClientHello).", parse: parseInspectDelay},
		{name: "connection", where: wFEOnly, syntax: "tcp-request connection accept|reject|silent-drop|set-var(<var>) <expr>|set-var-fmt(<var>) <fmt>|unset-var(<var>)|track-sc0..2 <key> [table <table>]|sc-inc-gpc0(<sc>)|sc-inc-gpc1(<sc>)|sc-set-gpt0(<sc>) <int>|<expr>|sc-inc-gpc(<idx>,<sc>)|sc-set-gpt(<idx>,<sc>) <int>|<expr>|sc-add-gpc(<idx>,<sc>) <int>|<expr> [{if|unless} <condition>]",
			desc: "Accept, reject or silent-drop (closed without telling the client: TCP_REPAIR when privileged, else a hop limit of 1 so the reset dies at the first router; counted as a denied request) a connection as soon as it is accepted (before any PROXY header), set a variable (proc and sess scopes only: no stream exists yet; mode tcp), or track <key> in a stick table for the whole connection (counts conn_cnt, conn_rate and conn_cur, and in mode http every request of the connection; the first track-scN of a connection applies) and update its counters.", parse: parseTCPRule},
		{name: "session", where: wFEOnly, syntax: "tcp-request session accept|reject|silent-drop|set-var(<var>) <expr>|set-var-fmt(<var>) <fmt>|unset-var(<var>)|track-sc0..2 <key> [table <table>]|sc-inc-gpc0(<sc>)|sc-inc-gpc1(<sc>)|sc-set-gpt0(<sc>) <int>|<expr>|sc-inc-gpc(<idx>,<sc>)|sc-set-gpt(<idx>,<sc>) <int>|<expr>|sc-add-gpc(<idx>,<sc>) <int>|<expr> [{if|unless} <condition>]",
			desc: "Accept or reject a session once its PROXY header and TLS handshake are done, before any content is read (so in mode http once per connection, not per request), set a variable, or track <key> in a stick table for the whole connection (counts conn_cnt, conn_rate, conn_cur, and in mode http every request of the connection) and update its counters.", parse: parseTCPRule},
		{name: "content", where: wProxy, syntax: "tcp-request content accept|reject|silent-drop|set-var(<var>) <expr>|set-var-fmt(<var>) <fmt>|unset-var(<var>)|track-sc0..2 <key> [table <table>]|sc-inc-gpc0(<sc>)|sc-inc-gpc1(<sc>)|sc-set-gpt0(<sc>) <int>|<expr>|sc-inc-gpc(<idx>,<sc>)|sc-set-gpt(<idx>,<sc>) <int>|<expr>|sc-add-gpc(<idx>,<sc>) <int>|<expr> [{if|unless} <condition>]",
			desc: "Accept, reject or silent-drop a connection once its first bytes are available (mode http: each request, once parsed), set a variable, track <key> in a stick table (mode http: for the request, counting it as a connection and a request) or update its counters.", parse: parseTCPRule},
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
	case action == "accept" || action == "reject" || action == "silent-drop":
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
	case isSCAction(action):
		base, _, _ := strings.Cut(action, "(")
		indexed := base == "sc-inc-gpc" || base == "sc-set-gpt" || base == "sc-add-gpc"
		value := base == "sc-set-gpt0" || base == "sc-set-gpt" || base == "sc-add-gpc"
		a := &config.HTTPAction{Action: action}
		if err := scArgs(value, indexed)(p, a, args[3:end]); err != nil {
			return fmt.Errorf("'tcp-request %s %s' : %v.", layer, action, err)
		}
		r.Action, r.Stick = a.Action, a.Stick
	default:
		return fmt.Errorf("'tcp-request %s' : action '%s' is not implemented by Gatehouse (supported: 'accept', 'reject', 'silent-drop', 'set-var', 'set-var-fmt', 'unset-var', 'track-sc0..2', 'sc-inc-gpc0', 'sc-inc-gpc1', 'sc-set-gpt0', 'sc-inc-gpc', 'sc-set-gpt', 'sc-add-gpc').", layer, action)
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

// isSCAction reports whether a tcp-request action is one of the sc-*
// actions on a tracked entry's general purpose counters and tags; the
// name carries the ids in parentheses.
func isSCAction(action string) bool {
	base, _, ok := strings.Cut(action, "(")
	switch base {
	case "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt0", "sc-inc-gpc", "sc-set-gpt", "sc-add-gpc":
		return ok
	}
	return false
}
