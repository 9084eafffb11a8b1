package cfgparse

import (
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The "ring" section (HAProxy's configuration.txt 3.9), read as 2.6's
// cfg_parse_ring reads it.

func ringSection() sectionDef {
	return sectionDef{name: "ring", kind: secIdentity, syntax: "ring <name>", open: openRing,
		kws: ringKeywords(), ownTable: true, unimpl: []string{"backing-file"},
		desc: "A buffer of log events: 'log ring@<name>' targets write into it, the runtime API's 'show events <name>' lists it, and its servers receive every event over TCP. An event a server has not received yet is kept; when the ring is full of them, new events are dropped, as in HAProxy."}
}

func openRing(p *parser, sec *sectionDef, toks []token) {
	p.ring = nil
	if len(toks) < 2 || toks[1].Text == "" {
		p.errorf("missing ring name.")
		p.sec = &sectionDef{name: sec.name, skip: true}
		return
	}
	if len(toks) > 2 {
		p.errorf("'ring' cannot handle unexpected argument '%s'.", toks[2].Text)
	}
	name := toks[1].Text
	if c, bad := invalidChar(name); bad {
		p.errorf("invalid ring name '%s' (character '%c' is not permitted).", name, c)
		p.sec = &sectionDef{name: sec.name, skip: true}
		return
	}
	for _, r := range p.cfg.Rings {
		if r.Name == name {
			p.errorf("sink named '%s' already exists.", name)
			p.sec = &sectionDef{name: sec.name, skip: true}
			return
		}
	}
	p.ring = &config.Ring{Pos: p.pos(), Name: name}
	p.cfg.Rings = append(p.cfg.Rings, p.ring)
}

func ringKeywords() []keyword {
	return []keyword{
		{name: "description", syntax: "description <text>", desc: "Shown by 'show events' (default: the name).", parse: func(p *parser, args []token) error {
			if len(args) < 2 || args[1].Text == "" {
				return fmt.Errorf("missing ring description text.")
			}
			p.ring.Description = args[1].Text
			return nil
		}},
		{name: "format", syntax: "format iso|local|raw|rfc3164|rfc5424|short|priority|timed", desc: "How events are framed in the ring (default raw, HAProxy's).", parse: func(p *parser, args []token) error {
			if len(args) < 2 || !slices.Contains(logFormats(), args[1].Text) {
				v := ""
				if len(args) > 1 {
					v = args[1].Text
				}
				return fmt.Errorf("unknown format '%s'.", v)
			}
			p.ring.Format = args[1].Text
			return nil
		}},
		{name: "maxlen", syntax: "maxlen <length>", desc: "An event's maximum length, header included; longer ones are truncated (default 16384, at most the size).", parse: func(p *parser, args []token) error {
			n, err := ringNumber(args)
			if err != nil {
				return err
			}
			p.ring.MaxLen = n
			return nil
		}},
		{name: "size", syntax: "size <bytes>", desc: "The buffer's size in bytes (default 16384).", parse: func(p *parser, args []token) error {
			n, err := ringNumber(args)
			if err != nil {
				return fmt.Errorf("fail to set sink buffer size: %v", err)
			}
			p.ring.Size = n
			return nil
		}},
		{name: "timeout", syntax: "timeout connect|server <time>", desc: "connect: how long a connection to a server may take; server: how long a write to it may wait.", parse: parseRingTimeout},
		{name: "server", syntax: "server <name> <ip>:<port> [log-proto legacy|octet-count]",
			desc: "A TCP syslog server that receives every event: ended by a newline (legacy, the default) or octet-counted ('<length> <event>', RFC 6587). Other server options are refused.", parse: parseRingServer},
	}
}

func ringNumber(args []token) (int, error) {
	if len(args) != 2 {
		return 0, fmt.Errorf("'%s' expects exactly one argument.", args[0].Text)
	}
	n, err := strconv.Atoi(args[1].Text)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size '%s' for new sink buffer.", args[1].Text)
	}
	return n, nil
}

func parseRingTimeout(p *parser, args []token) error {
	if len(args) < 2 || (args[1].Text != "connect" && args[1].Text != "server") {
		return fmt.Errorf("'timeout' expects 'connect' or 'server' and <time> as arguments.")
	}
	if len(args) != 3 {
		return fmt.Errorf("'timeout %s' expects <time> as argument.", args[1].Text)
	}
	d, err := parseDuration(args[2].Text)
	if err != nil {
		return fmt.Errorf("'timeout %s' : %v", args[1].Text, err)
	}
	if args[1].Text == "connect" {
		p.ring.TimeoutConnect = d
	} else {
		p.ring.TimeoutServer = d
	}
	return nil
}

func parseRingServer(p *parser, args []token) error {
	if len(args) < 3 {
		return fmt.Errorf("'server' expects <name> and <addr>[:<port>] as arguments.")
	}
	name := args[1].Text
	if c, bad := invalidChar(name); bad {
		return fmt.Errorf("character '%c' is not permitted in server name '%s'.", c, name)
	}
	hp, err := splitHostPort(envExpand(args[2].Text, p.opt.LookupEnv), true)
	if err != nil {
		return fmt.Errorf("'server %s' : %v", name, err)
	}
	if hp.Host == "" {
		return fmt.Errorf("'server %s' : an address to connect to is required, not '%s'", name, args[2].Text)
	}
	for _, s := range p.ring.Servers {
		if s.Name == name {
			return fmt.Errorf("server '%s' has the same name as another server of ring '%s' declared at %s.", name, p.ring.Name, s.Pos)
		}
	}
	s := config.RingServer{Pos: p.pos(), Name: name, Addr: net.JoinHostPort(hp.Host, strconv.Itoa(hp.Port))}
	for i := 3; i < len(args); i += 2 {
		if args[i].Text != "log-proto" {
			return fmt.Errorf("'server %s' : '%s' is not supported on a ring's server (only 'log-proto').", name, args[i].Text)
		}
		if i+1 >= len(args) {
			return fmt.Errorf("'log-proto' expects one of 'legacy' or 'octet-count' but got ''")
		}
		switch args[i+1].Text {
		case "legacy":
			s.OctetCount = false
		case "octet-count":
			s.OctetCount = true
		default:
			return fmt.Errorf("'log-proto' expects one of 'legacy' or 'octet-count' but got '%s'", args[i+1].Text)
		}
	}
	p.ring.Servers = append(p.ring.Servers, s)
	return nil
}

// finishRings applies the defaults, caps maxlen to the size with HAProxy's
// warning (cfg_post_parse_ring), and checks that every "log ring@" names
// a ring (post_sink_resolve).
func (p *parser) finishRings() {
	byName := map[string]bool{}
	for _, r := range p.cfg.Rings {
		byName[r.Name] = true
		if r.Size == 0 {
			r.Size = 16384
		}
		if r.MaxLen == 0 {
			r.MaxLen = 16384
		}
		if r.MaxLen > r.Size {
			p.warnAt(r.Pos, "ring '%s' event max length '%d' exceeds size, forced to size '%d'.", r.Name, r.MaxLen, r.Size)
			r.MaxLen = r.Size
		}
	}
	seen := map[config.Pos]bool{} // "log global" copies the global lines
	check := func(logs []*config.Log, who string) {
		for _, l := range logs {
			if name, ok := cutRing(l.Target); ok && !byName[name] && !seen[l.Pos] {
				seen[l.Pos] = true
				p.errs = append(p.errs, config.Errorf(l.Pos, "%s log server uses unknown ring named '%s'.", who, name))
			}
		}
	}
	check(p.cfg.Global.Logs, "global")
	for _, ps := range p.proxies {
		check(ps.px.Logs, fmt.Sprintf("proxy '%s'", ps.px.Name))
	}
}

func cutRing(target string) (string, bool) {
	if len(target) > 5 && target[:5] == "ring@" {
		return target[5:], true
	}
	return "", false
}
