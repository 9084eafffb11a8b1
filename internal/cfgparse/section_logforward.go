package cfgparse

import (
	"fmt"
	"net"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The "log-forward" section (HAProxy's configuration.txt 3.10), read as
// 2.6's cfg_parse_log_forward reads it.

func logForwardSection() sectionDef {
	return sectionDef{name: "log-forward", kind: secIdentity, syntax: "log-forward <name>", open: openLogForward,
		kws: logForwardKeywords(), ownTable: true, unimpl: []string{"backlog"},
		desc: "A syslog relay: messages received on its 'bind' (TCP, octet-counted or newline-framed, RFC 6587) and 'dgram-bind' (UDP) addresses go to its 'log' targets, framed again from their own fields (a target without 'format' keeps the received format), as HAProxy forwards them."}
}

func openLogForward(p *parser, sec *sectionDef, toks []token) {
	p.logFwd = nil
	if len(toks) < 2 || toks[1].Text == "" {
		p.errorf("missing name for ip-forward section.")
		p.sec = &sectionDef{name: sec.name, skip: true}
		return
	}
	if len(toks) > 2 {
		p.errorf("'log-forward' cannot handle unexpected argument '%s'.", toks[2].Text)
	}
	name := toks[1].Text
	if c, bad := invalidChar(name); bad {
		p.errorf("character '%c' is not permitted in 'log-forward' name '%s'.", c, name)
		p.sec = &sectionDef{name: sec.name, skip: true}
		return
	}
	for _, o := range p.cfg.LogForwards {
		if o.Name == name {
			p.errorf("log-forward section '%s' has the same name as another log-forward section declared at %s.", name, o.Pos)
		}
	}
	for _, o := range p.proxies {
		if o.px.Name == name {
			p.errorf("log forward section '%s' has the same name as %s '%s' declared at %s.", name, proxyType(o.px.Cap), name, o.px.Pos)
		}
	}
	p.logFwd = &config.LogForward{Pos: p.pos(), Name: name}
	p.cfg.LogForwards = append(p.cfg.LogForwards, p.logFwd)
}

func logForwardKeywords() []keyword {
	return []keyword{
		{name: "bind", syntax: "bind <ip>:<port>", desc: "A TCP address to receive syslog messages on (octet-counted or newline-framed). Bind options are refused.",
			parse: func(p *parser, args []token) error { return logFwdAddr(p, args, &p.logFwd.Binds) }},
		{name: "dgram-bind", syntax: "dgram-bind <ip>:<port>", desc: "A UDP address to receive syslog messages on, one per datagram. Bind options are refused.",
			parse: func(p *parser, args []token) error { return logFwdAddr(p, args, &p.logFwd.DgramBinds) }},
		{name: "log", syntax: "log global | log <target> [len <n>] [format <fmt>] <facility> [<level> [<minlevel>]]",
			desc: "Where the messages go, as a proxy's 'log' lines. Without 'format' a target keeps the received message's format; its facility applies to messages without a priority.", parse: parseLogFwdLog},
		{name: "maxconn", syntax: "maxconn <conns>", desc: "TCP connections served at once (default 10); more wait to be accepted.", parse: func(p *parser, args []token) error {
			if len(args) < 2 || args[1].Text == "" {
				return fmt.Errorf("'%s' expects an integer argument.", args[0].Text)
			}
			if len(args) > 2 {
				return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", args[0].Text, args[2].Text)
			}
			n, err := strconv.Atoi(args[1].Text)
			if err != nil || n <= 0 {
				return fmt.Errorf("'%s' expects a positive integer argument, not '%s'.", args[0].Text, args[1].Text)
			}
			p.logFwd.MaxConn = n
			return nil
		}},
		{name: "timeout", syntax: "timeout client <time>", desc: "Closes a TCP connection idle this long (default: never).", parse: func(p *parser, args []token) error {
			if len(args) != 3 || args[1].Text != "client" {
				return fmt.Errorf("'timeout' expects 'client' and <time> as arguments.")
			}
			d, err := parseDuration(args[2].Text)
			if err != nil {
				return fmt.Errorf("'timeout client' : %v", err)
			}
			p.logFwd.TimeoutClient = d
			return nil
		}},
	}
}

func logFwdAddr(p *parser, args []token, dst *[]string) error {
	if len(args) < 2 {
		return fmt.Errorf("'%s' expects <addr>:<port> as argument.", args[0].Text)
	}
	if len(args) > 2 {
		return fmt.Errorf("'%s %s' : option '%s' is not supported in a log-forward section.", args[0].Text, args[1].Text, args[2].Text)
	}
	hp, err := splitHostPort(envExpand(args[1].Text, p.opt.LookupEnv), true)
	if err != nil {
		return fmt.Errorf("'%s %s' : %v", args[0].Text, args[1].Text, err)
	}
	*dst = append(*dst, net.JoinHostPort(hp.Host, strconv.Itoa(hp.Port)))
	return nil
}

func parseLogFwdLog(p *parser, args []token) error {
	if len(args) == 2 && args[1].Text == "global" {
		p.logFwd.LogGlobal = true
		return nil
	}
	l, err := parseLogTarget(p, args)
	if err != nil {
		return err
	}
	p.logFwd.Logs = append(p.logFwd.Logs, l)
	return nil
}

// finishLogForwards adds the global targets for "log global" and checks
// the sections can run.
func (p *parser) finishLogForwards() {
	for _, lf := range p.cfg.LogForwards {
		if lf.LogGlobal {
			lf.Logs = append(append([]*config.Log(nil), p.cfg.Global.Logs...), lf.Logs...)
		}
		if len(lf.Binds)+len(lf.DgramBinds) == 0 {
			p.errs = append(p.errs, config.Errorf(lf.Pos, "log-forward '%s' has no 'bind' nor 'dgram-bind' line: it would receive nothing.", lf.Name))
		}
		for _, l := range lf.Logs {
			if name, ok := cutRing(l.Target); ok && !p.hasRing(name) {
				p.errs = append(p.errs, config.Errorf(l.Pos, "log-forward '%s' log server uses unknown ring named '%s'.", lf.Name, name))
			}
		}
	}
}

func (p *parser) hasRing(name string) bool {
	for _, r := range p.cfg.Rings {
		if r.Name == name {
			return true
		}
	}
	return false
}
