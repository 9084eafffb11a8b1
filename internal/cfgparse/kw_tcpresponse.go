package cfgparse

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// "tcp-response inspect-delay|content" and "persist rdp-cookie": what a
// backend does with the server's first bytes, and the RDP persistence
// read from the client's.
func tcpResponseKeywords() []keyword {
	return []keyword{
		{name: "tcp-response", where: wBEOnly, syntax: "tcp-response inspect-delay <time> | tcp-response content <action> [{if|unless} <condition>]",
			desc: "Response content inspection in a backend (mode tcp): the rules run on the server's first bytes each time more arrive, until one accepts, rejects or closes, the response buffer is full, the server ends its side, or 'tcp-response inspect-delay' expires (then once more as final); until then nothing of the response reaches the client, while the client's data still flows to the server.",
			sub:  tcpResponseTable},
		{name: "persist", where: wBEOnly, capWarn: true, syntax: "persist rdp-cookie[(<name>)]",
			desc:  "RDP cookie persistence (mode tcp): when the client's RDP connection request carries the cookie <name> (\"msts\" by default) encoding a server's IPv4 address and port ('<addr>.<port>.' as the terminal servers write it), the connection goes to that server if it is up (or 'option persist'), unless a use-server rule chose one. The frontend must wait for the cookie: 'tcp-request inspect-delay' with 'tcp-request content accept if RDP_COOKIE'.",
			parse: parsePersist},
	}
}

func tcpResponseTable() []keyword {
	return []keyword{
		{name: "inspect-delay", where: wBEOnly, syntax: "tcp-response inspect-delay <time>",
			desc: "How long 'tcp-response content' rules may wait for the server's data, from the connection to the server; a second one in a section (or after the defaults') is ignored with a warning, as in HAProxy.", parse: parseResInspectDelay},
		{name: "content", where: wBEOnly, syntax: "tcp-response content accept|reject|close|silent-drop|set-var(<var>) <expr>|set-var-fmt(<var>) <fmt>|unset-var(<var>)|set-log-level <level>|sc-inc-gpc0(<sc>)|sc-inc-gpc1(<sc>)|sc-set-gpt0(<sc>) <int>|<expr>|sc-inc-gpc(<idx>,<sc>)|sc-set-gpt(<idx>,<sc>) <int>|<expr>|sc-add-gpc(<idx>,<sc>) <int>|<expr> [{if|unless} <condition>]",
			desc:  "A rule on the server's first bytes (res.len, res.payload, res.payload_lv, res.ssl_hello_type, WAIT_END): accept forwards them, reject closes both connections without forwarding anything (logged PD, counted in dresp), close forwards them and closes the server connection at once, silent-drop drops the client's connection unannounced; the others act and go on to the next rule. No rule matching accepts.",
			parse: parseTCPResponseRule},
	}
}

// tcpResponseAllowed checks HAProxy's section rules: a backend, or a
// named defaults section.
func tcpResponseAllowed(p *parser, layer string) error {
	if p.ps.isDefaults && p.ps.name == "" {
		return fmt.Errorf("tcp-response %s is only allowed in 'backend' sections or 'defaults' section with a name", layer)
	}
	return nil
}

func parseResInspectDelay(p *parser, args []token) error {
	if err := tcpResponseAllowed(p, "inspect-delay"); err != nil {
		return err
	}
	px := p.ps.px
	if len(args) < 3 || args[2].Text == "" {
		return fmt.Errorf("'tcp-response inspect-delay' expects a positive delay in milliseconds, in %s '%s'", proxyKind(p), px.Name)
	}
	if len(args) > 3 {
		return fmt.Errorf("'tcp-response inspect-delay' takes one argument (got '%s').", args[3].Text)
	}
	d, err := parseDuration(args[2].Text)
	if err != nil {
		return fmt.Errorf("'tcp-response inspect-delay' expects a positive delay in milliseconds, in %s '%s' (%v)", proxyKind(p), px.Name, err)
	}
	if px.ResInspectDelay != 0 {
		// HAProxy keeps the first one, the defaults' included.
		return warning("ignoring tcp-response inspect-delay (was already defined) in %s '%s'", proxyKind(p), px.Name)
	}
	px.ResInspectDelay = d
	return nil
}

// proxyKind names the current section as HAProxy's proxy_type_str does.
func proxyKind(p *parser) string {
	if p.ps.isDefaults {
		return "defaults"
	}
	if p.ps.px.Cap == config.CapFE|config.CapBE {
		return "listen"
	}
	return proxyType(p.ps.px.Cap)
}

func parseTCPResponseRule(p *parser, args []token) error {
	if err := tcpResponseAllowed(p, "content"); err != nil {
		return err
	}
	if err := noteRules(p, "tcp-response"); err != nil {
		return err
	}
	px := p.ps.px
	if len(args) < 3 {
		return fmt.Errorf("'tcp-response content' expects 'accept', 'close', 'reject', 'silent-drop', 'set-var', 'set-var-fmt', 'unset-var', 'set-log-level', 'sc-inc-gpc', 'sc-inc-gpc0', 'sc-inc-gpc1', 'sc-set-gpt', 'sc-set-gpt0', 'sc-add-gpc' in %s '%s'.", proxyKind(p), px.Name)
	}
	action := args[2].Text
	r := &config.TCPAction{Pos: p.pos(), Layer: "content", Action: action}
	end := len(args)
	for i := 3; i < len(args); i++ {
		if args[i].Text == "if" || args[i].Text == "unless" {
			end = i
			break
		}
	}
	switch {
	case action == "accept" || action == "reject" || action == "close" || action == "silent-drop":
		if end > 3 {
			return fmt.Errorf("'tcp-response content %s' only accepts 'if' or 'unless', in %s '%s' (got '%s')", action, proxyKind(p), px.Name, args[3].Text)
		}
	case action == "set-log-level":
		if end != 4 {
			return fmt.Errorf("'tcp-response content set-log-level' expects exactly 1 argument (a log level or 'silent').")
		}
		r.Value = args[3].Text
	case matchVarAction("set-var", action) || matchVarAction("set-var-fmt", action) || matchVarAction("unset-var", action):
		va, err := parseVarWord(action, args[3:end])
		if err != nil {
			return fmt.Errorf("'tcp-response content %s' : %v.", action, err)
		}
		va.Pos = r.Pos
		r.Var, r.Action = va, va.Kind
	case isSCAction(action):
		base, _, _ := strings.Cut(action, "(")
		indexed := base == "sc-inc-gpc" || base == "sc-set-gpt" || base == "sc-add-gpc"
		value := base == "sc-set-gpt0" || base == "sc-set-gpt" || base == "sc-add-gpc"
		a := &config.HTTPAction{Action: action}
		if err := scArgs(value, indexed)(p, a, args[3:end]); err != nil {
			return fmt.Errorf("'tcp-response content %s' : %v.", action, err)
		}
		r.Action, r.Stick = a.Action, a.Stick
	case action == "set-mark" || action == "set-tos" || action == "set-nice" || action == "send-spoe-group":
		// HAProxy 2.6's other actions, refused as in http-request rules.
		return fmt.Errorf("%s", unimplementedMsg("tcp-response content "+action, action))
	default:
		msg := fmt.Sprintf("'tcp-response content' expects 'accept', 'close', 'reject', 'silent-drop', 'set-var(*)', 'set-var-fmt(*)', 'unset-var(*)', 'set-log-level', 'sc-inc-gpc(*)', 'sc-inc-gpc0(*)', 'sc-inc-gpc1(*)', 'sc-set-gpt(*)', 'sc-set-gpt0(*)', 'sc-add-gpc(*)' in %s '%s' (got '%s').", proxyKind(p), px.Name, action)
		if best := bestMatch(action, []string{"accept", "close", "reject", "silent-drop", "set-var", "set-var-fmt", "unset-var", "set-log-level", "sc-inc-gpc", "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0", "sc-add-gpc"}); best != "" {
			msg += fmt.Sprintf(" Did you mean '%s' maybe ?", best)
		}
		return fmt.Errorf("%s", msg)
	}
	if end < len(args) {
		c, err := parseCond(p, args, end)
		if err != nil {
			return err
		}
		r.Cond = c
	}
	px.TCPResponse = append(px.TCPResponse, r)
	return nil
}

// parsePersist reads "persist rdp-cookie[(<name>)]", HAProxy 2.6's only
// persist method (the default cookie is "msts").
func parsePersist(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("missing persist method.")
	}
	m := args[1].Text
	if !strings.HasPrefix(m, "rdp-cookie") {
		return fmt.Errorf("unknown persist method.")
	}
	if len(args) > 2 {
		return fmt.Errorf("'persist' cannot handle unexpected argument '%s'.", args[2].Text)
	}
	name := "msts"
	switch rest := m[len("rdp-cookie"):]; {
	case rest == "":
	case rest[0] == '(':
		// HAProxy takes the name up to the first ')' and ignores the rest.
		n, _, ok := strings.Cut(rest[1:], ")")
		if !ok || n == "" {
			return fmt.Errorf("persist rdp-cookie(name)' requires an rdp cookie name.")
		}
		name = n
	default:
		return fmt.Errorf("persist rdp-cookie(name)' requires an rdp cookie name.")
	}
	p.ps.px.PersistRDP = name
	return nil
}

// checkResponseRulesFrom refuses what HAProxy 2.6 refuses of a defaults
// section with tcp-response content rules: a frontend or a listen
// section inheriting them.
func (p *parser) checkResponseRulesFrom(def *proxyState, c config.Cap) {
	if def == nil || len(def.px.TCPResponse) == 0 {
		return
	}
	at := def.px.Pos
	switch c {
	case config.CapFE | config.CapBE:
		p.errorf("a listen section cannot inherit from a defaults section defining TCP/HTTP rules.")
	case config.CapFE:
		p.errorf("a frontend section cannot inherit from a defaults section defining 'tcp-response content' rules (defaults section at %s).", at)
	}
}
