package cfgparse

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The "resolvers" section (HAProxy's configuration.txt 5.3.2): DNS servers
// that servers with "resolvers <name>" follow at run time.

func resolversSection() sectionDef {
	return sectionDef{name: "resolvers", kind: secIdentity, syntax: "resolvers <name>", open: openResolvers,
		kws: resolversKeywords(), ownTable: true,
		desc: "DNS servers that servers declared with 'resolvers <name>' follow at run time: their A/AAAA or SRV records become server addresses, ports and weights without a reload."}
}

func openResolvers(p *parser, sec *sectionDef, toks []token) {
	name, ok := p.identitySectionName(sec, toks)
	if !ok {
		return
	}
	for _, r := range p.cfg.Resolvers {
		if r.Name == name {
			p.errorf("resolvers '%s' has the same name as resolvers '%s' declared at %s.", name, name, r.Pos)
		}
	}
	p.res = config.NewResolvers(name, p.pos())
	p.cfg.Resolvers = append(p.cfg.Resolvers, p.res)
}

func resolversKeywords() []keyword {
	return []keyword{
		{name: "nameserver", syntax: "nameserver <name> <address>[:<port>]",
			desc: "A DNS server queried over UDP (TCP when an answer is truncated); the port defaults to 53.", parse: parseNameserver},
		{name: "parse-resolv-conf", syntax: "parse-resolv-conf",
			desc: "Add the nameservers of /etc/resolv.conf, read when the configuration is loaded.", parse: func(p *parser, args []token) error {
				if len(args) > 1 {
					return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", args[0].Text, args[1].Text)
				}
				p.res.ParseResolvConf = true
				return nil
			}},
		{name: "accepted_payload_size", syntax: "accepted_payload_size <bytes>",
			desc: "The UDP payload size announced with EDNS0 (512..65535, default 512); larger answers are fetched over TCP.", parse: func(p *parser, args []token) error {
				v, err := oneArg(args)
				if err != nil {
					return err
				}
				p.res.PayloadSize, err = parseInt("'accepted_payload_size'", v, 512, 65535)
				return err
			}},
		{name: "resolve_retries", syntax: "resolve_retries <number>",
			desc: "Queries sent for one resolution before it gives up with a timeout (default 3).", parse: func(p *parser, args []token) error {
				v, err := oneArg(args)
				if err != nil {
					return err
				}
				p.res.Retries, err = parseInt("'resolve_retries'", v, 1, 1<<20)
				return err
			}},
		{name: "timeout", syntax: "timeout resolve|retry <time>",
			desc: "resolve: how often the records are looked at (default 1s); retry: how long a query waits for its answer before the next try (default 1s).", parse: parseResolversTimeout},
		{name: "hold", syntax: "hold valid|obsolete|nx|refused|timeout|other <time>",
			desc: "valid: how long an answer is used before asking again (10s); obsolete: how long a record missing from the answer keeps its server (0s); nx, refused, timeout, other: how long the last valid answer survives that failure before its servers go to MAINT (30s each).", parse: parseResolversHold},
	}
}

func oneArg(args []token) (string, error) {
	if len(args) != 2 {
		if len(args) < 2 {
			return "", fmt.Errorf("'%s' expects an argument.", args[0].Text)
		}
		return "", fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", args[0].Text, args[2].Text)
	}
	return args[1].Text, nil
}

func parseNameserver(p *parser, args []token) error {
	if len(args) != 3 {
		return fmt.Errorf("'nameserver' expects <name> and <address>[:<port>] as arguments.")
	}
	name, addr := args[1].Text, args[2].Text
	for _, ns := range p.res.Nameservers {
		if ns.Name == name {
			return fmt.Errorf("nameserver '%s' has the same name as the one declared at %s.", name, ns.Pos)
		}
	}
	// HAProxy 2.6 also takes "tcp@" (DNS over TCP only); Gatehouse asks
	// over UDP and falls back to TCP on truncation, which "udp@" means.
	addr = strings.TrimPrefix(envExpand(addr, p.opt.LookupEnv), "udp@")
	hp, err := splitHostPort(addr, false)
	if err != nil {
		return fmt.Errorf("'nameserver %s' : %v", name, err)
	}
	ip, err := netip.ParseAddr(hp.Host)
	if err != nil {
		return fmt.Errorf("'nameserver %s' : '%s' is not an IP address (a nameserver is given by address).", name, args[2].Text)
	}
	port := hp.Port
	if port == 0 {
		port = 53
	}
	p.res.Nameservers = append(p.res.Nameservers, config.Nameserver{Pos: p.pos(), Name: name, Addr: netip.AddrPortFrom(ip.Unmap(), uint16(port))})
	return nil
}

func parseResolversTimeout(p *parser, args []token) error {
	if len(args) != 3 {
		return fmt.Errorf("'timeout' expects 'resolve' or 'retry' and a <time>.")
	}
	d, err := parseDuration(args[2].Text)
	if err == nil && d <= 0 {
		err = fmt.Errorf("a strictly positive time is expected, got '%s'", args[2].Text)
	}
	if err != nil {
		return fmt.Errorf("'timeout %s' : %v", args[1].Text, err)
	}
	switch args[1].Text {
	case "resolve":
		p.res.Resolve = d
	case "retry":
		p.res.Retry = d
	default:
		return fmt.Errorf("'timeout' expects 'resolve' or 'retry', got '%s'.", args[1].Text)
	}
	return nil
}

func parseResolversHold(p *parser, args []token) error {
	if len(args) != 3 {
		return fmt.Errorf("'hold' expects a <status> (valid, obsolete, nx, refused, timeout, other) and a <time>.")
	}
	d, err := parseDuration(args[2].Text)
	if err != nil {
		return fmt.Errorf("'hold %s' : %v", args[1].Text, err)
	}
	h := &p.res.Hold
	field := map[string]*time.Duration{"valid": &h.Valid, "obsolete": &h.Obsolete, "nx": &h.NX,
		"refused": &h.Refused, "timeout": &h.Timeout, "other": &h.Other}[args[1].Text]
	if field == nil {
		return fmt.Errorf("'hold' expects 'valid', 'obsolete', 'nx', 'refused', 'timeout' or 'other', got '%s'.", args[1].Text)
	}
	*field = d
	return nil
}
