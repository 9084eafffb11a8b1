package cfgparse

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Server options and the server-template keyword that tie servers to DNS
// (HAProxy's configuration.txt 5.2 and 5.3).

func dnsServerOptions() []serverOption {
	return []serverOption{
		strOpt("resolvers", "resolvers <id>", "Follow the server's name (A/AAAA) or SRV record at run time with the 'resolvers' section <id>.", func(s *config.Server, v string) error {
			s.DNS.Resolvers = v
			return nil
		}),
		strOpt("resolve-prefer", "resolve-prefer ipv4|ipv6", "Address family asked first and picked first from the answers (default ipv6).", func(s *config.Server, v string) error {
			s.DNS.PreferIPv4, s.DNS.PreferSet = v == "ipv4", true
			return oneOf("resolve-prefer", v, "ipv4", "ipv6")
		}),
		strOpt("resolve-net", "resolve-net <network>[,<network>...]", "Addresses in these networks are picked first from the answers, in the order given.", func(s *config.Server, v string) error {
			s.DNS.Nets = nil
			for _, n := range strings.Split(v, ",") {
				pfx, err := parseNet(n)
				if err != nil {
					return fmt.Errorf("'resolve-net' : %v", err)
				}
				s.DNS.Nets = append(s.DNS.Nets, pfx)
			}
			return nil
		}),
		strOpt("resolve-opts", "resolve-opts <option>[,<option>...]", "allow-dup-ip: servers of the backend may share an address (by default each takes its own); prevent-dup-ip: the default; ignore-weight: keep the configured weight rather than the SRV record's.", func(s *config.Server, v string) error {
			for _, o := range strings.Split(v, ",") {
				switch o {
				case "allow-dup-ip":
					s.DNS.AllowDupIP = true
				case "prevent-dup-ip":
					s.DNS.AllowDupIP = false
				case "ignore-weight":
					s.DNS.IgnoreWeight = true
				default:
					return fmt.Errorf("'resolve-opts' : unknown option '%s' (allow-dup-ip, prevent-dup-ip, ignore-weight)", o)
				}
			}
			return nil
		}),
		strOpt("init-addr", "init-addr {last|libc|none|<ip>},[...]", "How the address is found at start, methods tried in order: last (the address the server-state file kept), libc (the system resolver), none (start in MAINT (resolution) until DNS gives one), or an IP; default last,libc. A reload keeps the address DNS gave, as a server-state file does in HAProxy.", func(s *config.Server, v string) error {
			s.DNS.InitAddr = nil
			for _, m := range strings.Split(v, ",") {
				switch m {
				case "last", "libc", "none":
				default:
					if _, err := netip.ParseAddr(m); err != nil {
						return fmt.Errorf("'init-addr' : unsupported method '%s' (last, libc, none or an IP address)", m)
					}
				}
				s.DNS.InitAddr = append(s.DNS.InitAddr, m)
			}
			return nil
		}),
	}
}

func parseNet(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return pfx, fmt.Errorf("invalid network '%s'", s)
		}
		return pfx.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid network '%s'", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func serverTemplateKeyword() keyword {
	return keyword{name: "server-template", where: wBE, syntax: "server-template <prefix> <num>|<low>-<high> <fqdn>[:<port>] [<option> ...]",
		desc:  "Servers <prefix><num> sharing one name, each a slot that DNS fills at run time ('resolvers'): A/AAAA records give each slot its own address, an SRV record (_service._proto.name) its target, port and weight; slots without a record stay in MAINT (resolution).",
		parse: parseServerTemplate}
}

func parseServerTemplate(p *parser, args []token) error {
	if len(args) < 4 {
		return fmt.Errorf("'server-template' expects <prefix> <num>|<low>-<high> <fqdn>[:<port>] as arguments.")
	}
	prefix, spec := args[1].Text, args[2].Text
	lo, hi := 1, 0
	var err error
	if a, b, ok := strings.Cut(spec, "-"); ok {
		if lo, err = strconv.Atoi(a); err == nil {
			hi, err = strconv.Atoi(b)
		}
		if err != nil || lo < 1 || hi < lo {
			return fmt.Errorf("'server-template %s' : invalid range '%s' (expects <low>-<high> with 1 <= low <= high).", prefix, spec)
		}
	} else if hi, err = strconv.Atoi(spec); err != nil || hi < 1 {
		return fmt.Errorf("'server-template %s' : invalid number of servers '%s'.", prefix, spec)
	}
	if hi-lo >= 1<<16 {
		return fmt.Errorf("'server-template %s' : %d servers is too many.", prefix, hi-lo+1)
	}
	for n := lo; n <= hi; n++ {
		toks := append([]token{args[0], {Text: prefix + strconv.Itoa(n)}}, args[3:]...)
		if err := parseServer(p, toks); err != nil {
			return err
		}
		s := p.ps.px.Servers[len(p.ps.px.Servers)-1]
		s.DNS.Template, s.DNS.Slot = prefix, n
	}
	return nil
}

// checkServerDNS checks what the whole configuration must agree on: the
// resolvers a server names exist, an SRV name has resolvers to ask.
func checkServerDNS(cfg *config.Config, px *config.Proxy, s *config.Server) error {
	// "default" need not be declared: HAProxy makes it from resolv.conf.
	if s.DNS.Resolvers != "" && s.DNS.Resolvers != "default" {
		found := false
		for _, r := range cfg.Resolvers {
			found = found || r.Name == s.DNS.Resolvers
		}
		if !found {
			return fmt.Errorf("%s '%s', server '%s': unable to find required resolvers '%s'", proxyType(px.Cap), px.Name, s.Name, s.DNS.Resolvers)
		}
	}
	if config.SRV(s.Host) && s.DNS.Resolvers == "" {
		return fmt.Errorf("%s '%s', server '%s': the SRV record '%s' needs 'resolvers' (the system resolver cannot follow it)", proxyType(px.Cap), px.Name, s.Name, s.Host)
	}
	return nil
}

// checkResolvers checks each resolvers section has a nameserver to ask.
func checkResolvers(r *config.Resolvers) error {
	if len(r.Nameservers) == 0 && !r.ParseResolvConf {
		return fmt.Errorf("resolvers '%s' has no 'nameserver' (and no 'parse-resolv-conf').", r.Name)
	}
	return nil
}

// finishDNS runs checkResolvers and checkServerDNS over the configuration.
func (p *parser) finishDNS() {
	for _, r := range p.cfg.Resolvers {
		if err := checkResolvers(r); err != nil {
			p.errs = append(p.errs, config.Errorf(r.Pos, "%v", err))
		}
	}
	for _, ps := range p.proxies {
		for _, s := range ps.px.Servers {
			if err := checkServerDNS(p.cfg, ps.px, s); err != nil {
				p.errs = append(p.errs, config.Errorf(s.Pos, "%v", err))
			}
		}
	}
}
