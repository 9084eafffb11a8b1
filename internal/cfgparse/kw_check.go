package cfgparse

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

func checkKeywords() []keyword {
	return []keyword{
		{name: "http-check", where: wBEOnly, capWarn: true, syntax: "http-check <keyword> [<args>]",
			desc: "Settings of the HTTP health check enabled by 'option httpchk'.",
			sub:  httpCheckTable, subUnimpl: []string{"set-var", "set-var-fmt", "unset-var", "comment", "send-state"}},
		{name: "tcp-check", where: wBEOnly, capWarn: true, syntax: "tcp-check connect|send|expect [<args>]",
			desc: "A step of the TCP health check enabled by 'option tcp-check'.",
			sub:  tcpCheckTable, subUnimpl: []string{"send-binary", "send-lf", "send-binary-lf", "comment", "set-var", "set-var-fmt", "unset-var"}},
	}
}

func httpCheckTable() []keyword {
	return []keyword{
		{name: "send", where: wBEOnly, syntax: "http-check send [meth <method>] [uri <uri>] [ver <version>] [hdr <name> <value>]... [body <string>]",
			desc: "The request sent by the check.", parse: parseHTTPCheckSend},
		{name: "expect", where: wBEOnly, syntax: "http-check expect [!] status|rstatus|string|rstring <pattern>",
			desc: "What a healthy response looks like (default: a 2xx or 3xx status).", parse: parseHTTPCheckExpect},
		{name: "connect", where: wBEOnly, syntax: "http-check connect [port <port>] [ssl] [send-proxy] [sni <name>] [alpn <protos>]",
			desc: "How the check connects, when it differs from the server's settings.", parse: parseHTTPCheckConnect},
		{name: "disable-on-404", where: wBEOnly, syntax: "http-check disable-on-404",
			desc: "A 404 answer puts the server in drain mode (no new traffic) instead of down.", parse: parseDisableOn404},
	}
}

func tcpCheckTable() []keyword {
	return []keyword{
		{name: "connect", where: wBEOnly, syntax: "tcp-check connect [port <port>] [ssl] [send-proxy] [sni <name>] [alpn <protos>]",
			desc: "Open the check connection.", parse: parseTCPCheckStep},
		{name: "send", where: wBEOnly, syntax: "tcp-check send <string>",
			desc: "Send a string.", parse: parseTCPCheckStep},
		{name: "expect", where: wBEOnly, syntax: "tcp-check expect [!] string|rstring <pattern>",
			desc: "Wait for data matching the pattern.", parse: parseTCPCheckStep},
	}
}

// defaultHTTPCheck is what HAProxy sends when "option httpchk" has no
// argument.
func defaultHTTPCheck(p *parser) *config.HTTPCheck {
	return &config.HTTPCheck{Pos: p.pos(), Method: "OPTIONS", URI: "/", Version: "HTTP/1.0"}
}

func httpCheck(p *parser) *config.HTTPCheck {
	if p.ps.px.HTTPCheck == nil {
		p.ps.px.HTTPCheck = defaultHTTPCheck(p)
	}
	return p.ps.px.HTTPCheck
}

// parseOptionHTTPChk parses "option httpchk [<method>] [<uri>] [<version>]".
// In the old form the version carries extra header lines after "\r\n".
func parseOptionHTTPChk(p *parser, args []token) error {
	if err := noNegation(p, args); err != nil {
		return err
	}
	a := texts(args[2:])
	if len(a) > 3 {
		return fmt.Errorf("'option httpchk' cannot handle unexpected argument '%s'.", a[3])
	}
	hc := httpCheck(p)
	hc.Pos = p.pos()
	p.ps.httpchkSet = true
	switch len(a) {
	case 1:
		hc.URI = a[0]
	case 2:
		hc.Method, hc.URI = a[0], a[1]
	case 3:
		hc.Method, hc.URI = a[0], a[1]
		lines := strings.Split(a[2], "\r\n")
		hc.Version = lines[0]
		for _, l := range lines[1:] {
			if l == "" {
				continue
			}
			name, value, ok := strings.Cut(l, ":")
			if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t") {
				return fmt.Errorf("'option httpchk' : invalid header line '%s' after the version (expected 'Name: value').", l)
			}
			hc.Headers = append(hc.Headers, [2]string{name, strings.TrimLeft(value, " \t")})
		}
	}
	if strings.ContainsAny(hc.Method+hc.URI+hc.Version, " \r\n") {
		return fmt.Errorf("'option httpchk' : the method, URI and version may not contain spaces or line breaks.")
	}
	return nil
}

func parseHTTPCheckSend(p *parser, args []token) error {
	hc := httpCheck(p)
	for i := 2; i < len(args); i++ {
		o := args[i].Text
		if i+1 >= len(args) {
			return fmt.Errorf("'http-check send' : '%s' expects an argument.", o)
		}
		v := args[i+1].Text
		switch o {
		case "meth":
			hc.Method = v
		case "uri":
			hc.URI = v
		case "ver":
			hc.Version = v
		case "hdr":
			if i+2 >= len(args) {
				return fmt.Errorf("'http-check send' : 'hdr' expects <name> and <value> as arguments.")
			}
			hc.Headers = append(hc.Headers, [2]string{v, args[i+2].Text})
			i++
		case "body":
			hc.Body = v
		case "uri-lf", "body-lf", "hdr-lf":
			return fmt.Errorf("'http-check send' : '%s' is a HAProxy option that Gatehouse does not implement.", o)
		default:
			return fmt.Errorf("'http-check send' expects 'meth', 'uri', 'ver', 'hdr' and 'body' but got '%s' as argument.", o)
		}
		i++
	}
	return nil
}

// parseExpect parses "[!] <kind> <pattern>" at args[i:].
func parseExpect(p *parser, args []token, i int, what string, kinds ...string) (*config.CheckExpect, error) {
	e := &config.CheckExpect{Pos: p.pos()}
	if i < len(args) && args[i].Text == "!" {
		e.Negate = true
		i++
	}
	if i+2 != len(args) || !contains(kinds, args[i].Text) {
		return nil, fmt.Errorf("'%s' expects [!] %s followed by a pattern.", what, strings.Join(kinds, "|"))
	}
	e.Kind, e.Pattern = args[i].Text, args[i+1].Text
	if strings.HasPrefix(e.Kind, "r") {
		if _, err := regexp.Compile(e.Pattern); err != nil {
			return nil, fmt.Errorf("'%s' : invalid regex '%s': %v", what, e.Pattern, err)
		}
	}
	return e, nil
}

func parseHTTPCheckExpect(p *parser, args []token) error {
	e, err := parseExpect(p, args, 2, "http-check expect", "status", "rstatus", "string", "rstring")
	if err != nil {
		return err
	}
	hc := httpCheck(p)
	hc.Expect = append(hc.Expect, e)
	return nil
}

// parseCheckConnect parses the options of "http-check connect" and
// "tcp-check connect" at args[2:].
func parseCheckConnect(args []token, what string) (*config.CheckConnect, error) {
	c := &config.CheckConnect{}
	for i := 2; i < len(args); i++ {
		o := args[i].Text
		switch o {
		case "ssl":
			c.SSL = true
			continue
		case "send-proxy":
			c.SendProxy = true
			continue
		case "port", "sni", "alpn":
		case "default", "addr", "via-socks4", "proto", "linger", "comment":
			return nil, fmt.Errorf("'%s' : '%s' is a HAProxy option that Gatehouse does not implement.", what, o)
		default:
			return nil, fmt.Errorf("'%s' expects 'port', 'ssl', 'send-proxy', 'sni' or 'alpn' but got '%s' as argument.", what, o)
		}
		if i+1 >= len(args) {
			return nil, fmt.Errorf("'%s' : '%s' expects an argument.", what, o)
		}
		i++
		v := args[i].Text
		switch o {
		case "port":
			n, err := parsePort("'"+what+"' port", v)
			if err != nil {
				return nil, err
			}
			c.Port = n
		case "sni":
			c.SNI = v
		case "alpn":
			l, err := alpnList(v)
			if err != nil {
				return nil, err
			}
			c.ALPN = l
		}
	}
	return c, nil
}

func parseHTTPCheckConnect(p *parser, args []token) error {
	c, err := parseCheckConnect(args, "http-check connect")
	if err != nil {
		return err
	}
	hc := httpCheck(p)
	if hc.Connect != nil {
		return fmt.Errorf("'http-check connect' : Gatehouse supports one 'http-check connect' per backend.")
	}
	hc.Connect = c
	return nil
}

func parseDisableOn404(p *parser, args []token) error {
	if len(args) > 2 {
		return fmt.Errorf("'http-check disable-on-404' cannot handle unexpected argument '%s'.", args[2].Text)
	}
	httpCheck(p).DisableOn404 = true
	return nil
}

func parseOptionTCPCheck(p *parser, args []token) error {
	if err := noNegation(p, args); err != nil {
		return err
	}
	if len(args) > 2 {
		return fmt.Errorf("'option tcp-check' cannot handle unexpected argument '%s'.", args[2].Text)
	}
	if p.ps.px.TCPCheck == nil {
		p.ps.px.TCPCheck = &config.TCPCheck{}
	}
	p.ps.px.TCPCheck.Pos = p.pos()
	p.ps.tcpcheckSet = true
	return nil
}

func parseTCPCheckStep(p *parser, args []token) error {
	step := &config.TCPCheckStep{Pos: p.pos(), Kind: args[1].Text}
	switch step.Kind {
	case "connect":
		c, err := parseCheckConnect(args, "tcp-check connect")
		if err != nil {
			return err
		}
		step.Connect = c
	case "send":
		if len(args) != 3 {
			return fmt.Errorf("'tcp-check send' expects a <data> argument.")
		}
		step.Data = args[2].Text
	case "expect":
		e, err := parseExpect(p, args, 2, "tcp-check expect", "string", "rstring")
		if err != nil {
			return err
		}
		step.Expect = e
	}
	if p.ps.px.TCPCheck == nil {
		p.ps.px.TCPCheck = &config.TCPCheck{Pos: p.pos()}
	}
	p.ps.px.TCPCheck.Steps = append(p.ps.px.TCPCheck.Steps, step)
	return nil
}
