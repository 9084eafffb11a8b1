package cfgparse

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

func bindKeywords() []keyword {
	return []keyword{
		{name: "bind", where: wFE, capWarn: true, syntax: "bind <addr>:<port>[,<addr>:<port>...] [<option> ...]",
			desc: "Listen on the addresses ('*:80', ':::443', '10.0.0.1:8443', '[::1]:8443'); the options are listed under 'bind options'.", parse: parseBind},
	}
}

// bindOption is one option of a "bind" line; parse returns how many words
// it used after the option name.
type bindOption struct {
	name   string
	syntax string
	desc   string
	parse  func(p *parser, b *config.Bind, arg string) error
	hasArg bool
}

func bindOptions() []bindOption {
	return append([]bindOption{
		{name: "ssl", syntax: "ssl", desc: "Terminate TLS on this address.",
			parse: func(p *parser, b *config.Bind, _ string) error { b.SSL = true; return nil }},
		{name: "crt", syntax: "crt <file|dir>", hasArg: true,
			desc: "Certificate and key PEM file, or a directory of them; repeatable; relative paths start at 'crt-base'.",
			parse: func(p *parser, b *config.Bind, v string) error {
				l, err := p.crtStoreRef(v)
				if err != nil {
					return err
				}
				if l != nil {
					// Its file is known once the acme sections are (finishACME).
					b.Crts = append(b.Crts, p.crtStoreMark(l))
					return nil
				}
				b.Crts = append(b.Crts, p.filePath(p.cfg.Global.CrtBase, v))
				return nil
			}},
		{name: "crt-list", syntax: "crt-list <file>", hasArg: true,
			desc: "A list of certificates, one a line: '<crtfile> [[<option> ...]] [[!]<snifilter> ...]'. SNI filters ('www.example.com', '*.example.com', '!www.example.com') replace the certificate's own names; per-line options (alpn, ciphers, ciphersuites, curves, ecdhe, ssl-min-ver, ssl-max-ver, verify, ca-file) override the bind line's for that certificate. Relative paths in the file start at 'crt-base'.",
			parse: func(p *parser, b *config.Bind, v string) error {
				b.CrtLists = append(b.CrtLists, config.CrtList{Path: p.path(v), Base: p.dirPath(p.cfg.Global.CrtBase), CABase: p.dirPath(p.cfg.Global.CABase), After: len(b.Crts)})
				return nil
			}},
		{name: "ca-file", syntax: "ca-file <file>", hasArg: true,
			desc: "CA certificates that verify client certificates; relative paths start at 'ca-base'.",
			parse: func(p *parser, b *config.Bind, v string) error {
				b.CAFile = p.filePath(p.cfg.Global.CABase, v)
				return nil
			}},
		{name: "ca-verify-file", syntax: "ca-verify-file <file>", hasArg: true,
			desc: "CA certificates that verify client certificates, as 'ca-file', but not named in the certificate request (e.g. the root CA, with the intermediates in 'ca-file'); relative paths start at 'ca-base'.",
			parse: func(p *parser, b *config.Bind, v string) error {
				b.CAVerifyFile = p.filePath(p.cfg.Global.CABase, v)
				return nil
			}},
		{name: "no-ca-names", syntax: "no-ca-names",
			desc:  "Name no CA in the certificate request (by default the subjects of 'ca-file' are named).",
			parse: func(p *parser, b *config.Bind, _ string) error { b.NoCANames = true; return nil }},
		{name: "verify", syntax: "verify none|optional|required", hasArg: true,
			desc: "Client certificate verification.",
			parse: func(p *parser, b *config.Bind, v string) error {
				if v != "none" && v != "optional" && v != "required" {
					return fmt.Errorf("'verify' : unknown verify method '%s', only 'none', 'optional', and 'required' are supported", v)
				}
				b.Verify = v
				return nil
			}},
		{name: "alpn", syntax: "alpn <proto>[,<proto>...]", hasArg: true,
			desc: "Protocols offered in the TLS handshake, e.g. h2,http/1.1.",
			parse: func(p *parser, b *config.Bind, v string) error {
				l, err := alpnList(v)
				b.ALPN = l
				return err
			}},
		{name: "accept-proxy", syntax: "accept-proxy", desc: "Require a PROXY protocol (v1 or v2) header on each connection.",
			parse: func(p *parser, b *config.Bind, _ string) error { b.AcceptProxy = true; return nil }},
		{name: "proto", syntax: "proto h2", hasArg: true, desc: "Speak HTTP/2 without TLS (prior knowledge).",
			parse: func(p *parser, b *config.Bind, v string) error {
				if v != "h2" {
					return fmt.Errorf("'proto' : unknown protocol '%s'; Gatehouse supports 'h2'", v)
				}
				b.Proto = v
				return nil
			}},
		{name: "name", syntax: "name <name>", hasArg: true, desc: "Name of the listener in logs and statistics.",
			parse: func(p *parser, b *config.Bind, v string) error { b.Name = v; return nil }},
		{name: "v4v6", syntax: "v4v6", desc: "An IPv6 wildcard address (':::80') also accepts IPv4 connections (IPV6_V6ONLY off), whatever net.ipv6.bindv6only says; no effect on IPv4 addresses; 'v6only' wins.",
			parse: func(p *parser, b *config.Bind, _ string) error {
				b.V4V6 = true
				if b.V6Only == nil {
					b.V6Only = new(false)
				}
				return nil
			}},
		{name: "v6only", syntax: "v6only", desc: "An IPv6 wildcard address (':::80') accepts IPv6 connections only (IPV6_V6ONLY on), whatever net.ipv6.bindv6only says; no effect on IPv4 addresses.",
			parse: func(p *parser, b *config.Bind, _ string) error { b.V6Only = new(true); return nil }},
	}, slices.Concat(bindTLSOptions(), quicBindOptions(), bindSockOptions())...)
}

func basePath(base, path string) string {
	if base == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(base, path)
}

func alpnList(v string) ([]string, error) {
	l := strings.Split(v, ",")
	for _, x := range l {
		if x == "" || len(x) > 255 {
			return nil, fmt.Errorf("'alpn' : invalid protocol list '%s'", v)
		}
	}
	return l, nil
}

func parseBind(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.")
	}
	tmpl := config.Bind{Pos: p.pos()}
	if err := p.applyBindOptions(&tmpl, args[2:], args[1].Text); err != nil {
		return err
	}
	if tmpl.SSL {
		// HAProxy merges the global defaults at the "ssl" keyword: what
		// the line sets wins.
		tmpl.TLS.Inherit(p.cfg.Global.TLS.DefaultBind)
		warnVersionFlags(p, "bind "+args[1].Text, tmpl.TLS)
	}
	if (len(tmpl.Crts) > 0 || len(tmpl.CrtLists) > 0) && !tmpl.SSL {
		p.warnf("'bind %s' : 'crt' is set but 'ssl' is not: the certificates are not used and the address speaks clear text.", args[1].Text)
	}
	var addrs []string
	for _, addr := range strings.Split(args[1].Text, ",") {
		each, err := portRange(addr)
		if err != nil {
			return fmt.Errorf("'bind %s' : %v", args[1].Text, err)
		}
		addrs = append(addrs, each...)
	}
	if tmpl.ID > 0 && len(addrs) > 1 {
		return fmt.Errorf("'bind %s' : 'id' can only be used with a single socket", args[1].Text)
	}
	for _, addr := range addrs {
		rest, v6, isQUIC := quicAddr(envExpand(addr, p.opt.LookupEnv))
		hp, err := splitHostPort(rest, true)
		if err != nil {
			return fmt.Errorf("'bind %s' : %v", args[1].Text, err)
		}
		b := tmpl
		b.Crts = append([]string(nil), tmpl.Crts...)
		b.CrtLists = append([]config.CrtList(nil), tmpl.CrtLists...)
		b.ALPN = append([]string(nil), tmpl.ALPN...)
		b.Addr, b.Host, b.Port = addr, hp.Host, hp.Port
		b.QUIC = isQUIC
		if err := checkQUICBind(&b, v6); err != nil {
			return fmt.Errorf("'bind %s' : %v", args[1].Text, err)
		}
		p.ps.px.Binds = append(p.ps.px.Binds, &b)
	}
	return nil
}

// applyBindOptions applies a bind line's options to b; addr names the
// line in messages.
func (p *parser) applyBindOptions(b *config.Bind, args []token, addr string) error {
	opts := bindOptions()
	for i := 0; i < len(args); i++ {
		name := args[i].Text
		var opt *bindOption
		for j := range opts {
			if opts[j].name == name {
				opt = &opts[j]
			}
		}
		if opt == nil {
			if contains(unimplementedBindOptions(), name) {
				return fmt.Errorf("'bind %s' : '%s' is a HAProxy keyword that Gatehouse does not implement", addr, name)
			}
			msg := fmt.Sprintf("'bind %s' : unknown keyword '%s'.", addr, name)
			if best := bestMatch(name, bindOptionNames(opts)); best != "" {
				msg = fmt.Sprintf("'bind %s' : unknown keyword '%s'. Did you mean '%s' maybe ?", addr, name, best)
			}
			return fmt.Errorf("%s", msg)
		}
		val := ""
		if opt.hasArg {
			if i+1 >= len(args) {
				return fmt.Errorf("'bind %s' : '%s' expects an argument (%s).", addr, name, opt.syntax)
			}
			i++
			val = args[i].Text
		}
		if err := opt.parse(p, b, val); err != nil {
			return fmt.Errorf("'bind %s' : %v", addr, err)
		}
	}
	return nil
}

func bindOptionNames(opts []bindOption) []string {
	names := make([]string, len(opts))
	for i, o := range opts {
		names[i] = o.name
	}
	return names
}

// portRange expands a bind address's port range ("[::]:20000-20199") into
// one address per port, as HAProxy binds one listener per port of it.
func portRange(addr string) ([]string, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || strings.LastIndexByte(addr, ']') > i || !strings.Contains(addr[i+1:], "-") {
		return []string{addr}, nil
	}
	lo, hi, _ := strings.Cut(addr[i+1:], "-")
	first, err1 := parsePort("port", lo)
	last, err2 := parsePort("port", hi)
	if err1 != nil || err2 != nil || last < first {
		return nil, fmt.Errorf("invalid port range '%s' in address '%s'", addr[i+1:], addr)
	}
	out := make([]string, 0, last-first+1)
	for port := first; port <= last; port++ {
		out = append(out, fmt.Sprintf("%s:%d", addr[:i], port))
	}
	return out, nil
}
