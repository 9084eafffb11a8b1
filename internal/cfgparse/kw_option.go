package cfgparse

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
)

func optionKeywords() []keyword {
	return []keyword{
		{name: "option", where: wProxy, syntax: "[no] option <name> [<args>]",
			desc: "Enable (or with 'no', disable) one of the options below.",
			sub: func() []keyword {
				return slices.Concat(optionTable(), protoCheckOptions(), reuseOptions(), smartOptions())
			}, subUnimpl: unimplementedOptions()},
	}
}

func optionTable() []keyword {
	return []keyword{
		{name: "forwardfor", where: wProxy, syntax: "option forwardfor [except <network>] [header <name>] [if-none]",
			desc: "Add the client address to an X-Forwarded-For header (after removing the ones the client sent).", parse: parseForwardFor},
		{name: "originalto", where: wProxy, syntax: "option originalto [except <network>] [header <name>]",
			desc: "Add the address the client connected to (after set-dst) to an X-Original-To header, unless it is in the frontend's or the backend's except network; the backend's header name wins, as in HAProxy.", parse: parseOriginalTo},
		{name: "http-keep-alive", where: wProxy, syntax: "[no] option http-keep-alive",
			desc: "Keep connections open on both sides between requests (the default).", parse: connModeOption(config.ConnKeepAlive)},
		{name: "http-server-close", where: wProxy, syntax: "[no] option http-server-close",
			desc: "Close the server connection after each response; keep the client side alive.", parse: connModeOption(config.ConnServerClose)},
		{name: "httpclose", where: wProxy, syntax: "[no] option httpclose",
			desc: "Close both connections after each response.", parse: connModeOption(config.ConnClose)},
		{name: "httplog", where: wFEOnly, capWarn: true, syntax: "[no] option httplog [clf]",
			desc: "Log HTTP requests in HAProxy's HTTP format (or the Common Log Format).", parse: parseHTTPLog},
		{name: "httpslog", where: wFEOnly, capWarn: true, syntax: "[no] option httpslog",
			desc: "Log HTTP requests in HAProxy's HTTP format extended with TLS details.", parse: boolOption(func(px *config.Proxy) *bool { return &px.HTTPSLog })},
		{name: "jsonlog", where: wFEOnly, capWarn: true, syntax: "[no] option jsonlog",
			desc: "Gatehouse: log each request as one JSON object (time, client, frontend, backend, server, timers, status, bytes, termination state, request line, request id) for log pipelines.", parse: boolOption(func(px *config.Proxy) *bool { return &px.JSONLog })},
		{name: "tcplog", where: wFEOnly, capWarn: true, syntax: "[no] option tcplog",
			desc: "Log TCP connections in HAProxy's TCP format.", parse: boolOption(func(px *config.Proxy) *bool { return &px.TCPLog })},
		{name: "socket-stats", where: wFEOnly, capWarn: true, syntax: "[no] option socket-stats",
			desc:  "Give each listener (every address of every 'bind') its own row on the stats page, in CSV and JSON, named by the bind's 'name' or 'sock-N', with its sessions, bytes, denied and invalid requests and denied connections.",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.SocketStats })},
		{name: "dontlognull", where: wFEOnly, capWarn: true, syntax: "[no] option dontlognull",
			desc: "Do not log connections that carried no data.", parse: boolOption(func(px *config.Proxy) *bool { return &px.DontLogNull })},
		{name: "logasap", where: wFEOnly, capWarn: true, syntax: "[no] option logasap",
			desc: "Log as soon as the server's response head is sent (mode tcp: once the server connection is established); %B, %Tt, %Ta and %Tu then show '+' and what was known at that moment.", parse: boolOption(func(px *config.Proxy) *bool { return &px.LogASAP })},
		{name: "log-separate-errors", where: wFEOnly, capWarn: true, syntax: "[no] option log-separate-errors",
			desc: "Log failed sessions (abnormal termination, retries, redispatch, 5xx) at level err instead of info.", parse: boolOption(func(px *config.Proxy) *bool { return &px.LogSeparateErrors })},
		{name: "dontlog-normal", where: wFEOnly, capWarn: true, syntax: "[no] option dontlog-normal",
			desc: "Log only failed sessions (abnormal termination, retries, redispatch, 5xx).", parse: boolOption(func(px *config.Proxy) *bool { return &px.DontLogNormal })},
		{name: "log-health-checks", where: wBEOnly, capWarn: true, syntax: "[no] option log-health-checks",
			desc: "Log every change of a server's check result (failed while UP, succeeded while DOWN, each step of rise/fall), not only state changes.", parse: boolOption(func(px *config.Proxy) *bool { return &px.LogHealthChecks })},
		{name: "contstats", where: wFEOnly, capWarn: true, syntax: "[no] option contstats",
			desc: "Update the byte counters while a response (or a tunnel) is transferred, not only when it ends.", parse: boolOption(func(px *config.Proxy) *bool { return &px.ContStats })},
		{name: "http-buffer-request", where: wProxy, syntax: "[no] option http-buffer-request",
			desc:  "Wait for the request body, all of it or a full buffer (tune.bufsize), before this proxy's http-request rules, so req.body, req.body_param and req.body_len see it; 'timeout http-request' (else 'timeout client') bounds the wait, then 408. An 'Expect: 100-continue' is answered by the proxy and removed.",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.BufferRequest })},
		{name: "http-ignore-probes", where: wFEOnly, capWarn: true, syntax: "[no] option http-ignore-probes",
			desc: "A connection closed or timed out before its first byte (a browser's pre-connect) gets no 400/408, no log line and no error count.", parse: boolOption(func(px *config.Proxy) *bool { return &px.HTTPIgnoreProbes })},
		{name: "clitcpka", where: wFEOnly, capWarn: true, syntax: "[no] option clitcpka",
			desc: "Send TCP keep-alive probes on client connections (SO_KEEPALIVE, with the system's timers), so a vanished client's connection ends.", parse: boolOption(func(px *config.Proxy) *bool { return &px.CliTCPKA })},
		{name: "srvtcpka", where: wBEOnly, capWarn: true, syntax: "[no] option srvtcpka",
			desc: "Send TCP keep-alive probes on server connections (SO_KEEPALIVE, with the system's timers).", parse: boolOption(func(px *config.Proxy) *bool { return &px.SrvTCPKA })},
		{name: "tcpka", where: wProxy, syntax: "[no] option tcpka",
			desc: "Both 'option clitcpka' and 'option srvtcpka': the frontend side uses the first, the backend side the second.", parse: parseTCPKA},
		{name: "http-pretend-keepalive", where: wBEOnly, capWarn: true, syntax: "[no] option http-pretend-keepalive",
			desc: "With 'option http-server-close' or 'httpclose', send requests without 'Connection: close' (servers that answer a close request without Content-Length or compression work better); the server connection is still closed after the response.", parse: boolOption(func(px *config.Proxy) *bool { return &px.PretendKeepAlive })},
		{name: "splice-auto", where: wProxy, syntax: "[no] option splice-auto",
			desc: "mode tcp: move both directions with splice(2) instead of copying (less CPU for the proxy; on loopback the receiver paid more).", parse: spliceOption(true, true)},
		{name: "splice-request", where: wProxy, syntax: "[no] option splice-request",
			desc: "mode tcp: move client-to-server bytes with splice(2).", parse: spliceOption(true, false)},
		{name: "splice-response", where: wProxy, syntax: "[no] option splice-response",
			desc: "mode tcp: move server-to-client bytes with splice(2).", parse: spliceOption(false, true)},
		{name: "redispatch", where: wBEOnly, capWarn: true, syntax: "[no] option redispatch [<interval>]",
			desc: "Let retries go to another server than the one first chosen: at once when nothing ties the request to it (no hash balance, several servers up, no persistence) or the server is down, else on the retries <interval> picks: every <interval>th retry when positive, the Nth retry before the last when negative (-1, the default: the last), none when 0.", parse: parseOptionRedispatch},
		{name: "abortonclose", where: wBEOnly, capWarn: true, syntax: "[no] option abortonclose",
			desc: "Drop a request still waiting in the queue for a server when its HTTP/1 client closes its side. HAProxy also drops one whose connection to the server is being established, and HTTP/2 streams; Gatehouse drops HTTP/1 requests while queued (over TLS, only when the FIN comes without a close_notify before it). Without it the request is served, as HTTP wants.", parse: boolOption(func(px *config.Proxy) *bool { return &px.AbortOnClose })},
		{name: "persist", where: wBEOnly, capWarn: true, syntax: "[no] option persist",
			desc: "A persistence cookie (or 'use-server' rule) naming a down server still sends the request to it (logged 'D'); with 'option redispatch' a failed connection then moves to another server at once.", parse: boolOption(func(px *config.Proxy) *bool { return &px.Persist })},
		{name: "httpchk", where: wBEOnly, capWarn: true, syntax: "option httpchk [<method>] [<uri>] [<version>]",
			desc: "Check servers with an HTTP request; the version may carry extra header lines after \\r\\n (old form).", parse: parseOptionHTTPChk},
		{name: "tcp-check", where: wBEOnly, capWarn: true, syntax: "option tcp-check",
			desc: "Check servers with the 'tcp-check' rules.", parse: parseOptionTCPCheck},
	}
}

// noNegation refuses "no option X" for options that take arguments.
func noNegation(p *parser, args []token) error {
	if p.negated {
		return fmt.Errorf("negation/default is not supported for option '%s'.", args[1].Text)
	}
	return nil
}

func boolOption(field func(*config.Proxy) *bool) kwParser {
	return func(p *parser, args []token) error {
		if len(args) > 2 {
			return fmt.Errorf("'option %s' cannot handle unexpected argument '%s'.", args[1].Text, args[2].Text)
		}
		*field(p.ps.px) = !p.negated
		return nil
	}
}

func parseTCPKA(p *parser, args []token) error {
	if len(args) > 2 {
		return fmt.Errorf("'option %s' cannot handle unexpected argument '%s'.", args[1].Text, args[2].Text)
	}
	p.ps.px.CliTCPKA, p.ps.px.SrvTCPKA = !p.negated, !p.negated
	return nil
}

// spliceOption sets (or with "no", clears) the splice flags of the
// directions it names.
func spliceOption(request, response bool) kwParser {
	return func(p *parser, args []token) error {
		if len(args) > 2 {
			return fmt.Errorf("'option %s' cannot handle unexpected argument '%s'.", args[1].Text, args[2].Text)
		}
		if request {
			p.ps.px.SpliceRequest = !p.negated
		}
		if response {
			p.ps.px.SpliceResponse = !p.negated
		}
		return nil
	}
}

func connModeOption(mode config.ConnMode) kwParser {
	return func(p *parser, args []token) error {
		if len(args) > 2 {
			return fmt.Errorf("'option %s' cannot handle unexpected argument '%s'.", args[1].Text, args[2].Text)
		}
		switch {
		case !p.negated:
			p.ps.px.ConnMode = mode
		case p.ps.px.ConnMode == mode:
			p.ps.px.ConnMode = config.ConnKeepAlive
		}
		return nil
	}
}

func parseHTTPLog(p *parser, args []token) error {
	if len(args) > 3 || (len(args) == 3 && args[2].Text != "clf") {
		return fmt.Errorf("keyword 'option httplog' only supports option 'clf'.")
	}
	if p.negated {
		p.ps.px.HTTPLog, p.ps.px.HTTPLogCLF = false, false
		return nil
	}
	p.ps.px.HTTPLog = true
	p.ps.px.HTTPLogCLF = len(args) == 3
	p.ps.httplogPos = p.pos()
	return nil
}

func parseForwardFor(p *parser, args []token) error {
	if err := noNegation(p, args); err != nil {
		return err
	}
	ff := &config.ForwardFor{Pos: p.pos(), Header: "X-Forwarded-For"}
	for i := 2; i < len(args); i++ {
		switch args[i].Text {
		case "except":
			if i+1 >= len(args) {
				return fmt.Errorf("'option forwardfor' : 'except' expects <address>[/mask] as argument.")
			}
			pfx, err := parseNetwork(args[i+1].Text)
			if err != nil {
				return fmt.Errorf("'option forwardfor' : 'except' expects <address>[/mask] as argument, got '%s'.", args[i+1].Text)
			}
			ff.Except = pfx
			i++
		case "header":
			if i+1 >= len(args) || args[i+1].Text == "" {
				return fmt.Errorf("'option forwardfor' : 'header' expects <header_name> as argument.")
			}
			ff.Header = args[i+1].Text
			i++
		case "if-none":
			ff.IfNone = true
		default:
			msg := fmt.Sprintf("'option forwardfor' : unknown keyword '%s'", args[i].Text)
			if best := bestMatch(args[i].Text, []string{"except", "header", "if-none"}); best != "" {
				msg += fmt.Sprintf("; did you mean '%s' maybe ?", best)
			} else {
				msg += "; supported: 'except', 'header' and 'if-none'."
			}
			return fmt.Errorf("%s", msg)
		}
	}
	p.ps.px.ForwardFor = ff
	return nil
}

// parseNetwork parses an address or an address/mask as HAProxy accepts
// them: a prefix length or, for IPv4, a dotted mask.
func parseNetwork(s string) (netip.Prefix, error) {
	if pfx, err := netip.ParsePrefix(s); err == nil {
		return pfx.Masked(), nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			addr, err := netip.ParseAddr(s[:i])
			if err != nil {
				return netip.Prefix{}, err
			}
			mask, err := netip.ParseAddr(s[i+1:])
			if err != nil || !addr.Is4() || !mask.Is4() {
				return netip.Prefix{}, fmt.Errorf("invalid network '%s'", s)
			}
			m := mask.As4()
			bits := 0
			for _, b := range m {
				for j := 7; j >= 0; j-- {
					if b&(1<<j) == 0 {
						goto done
					}
					bits++
				}
			}
		done:
			if netip.AddrFrom4(m) != netip.PrefixFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), bits).Masked().Addr() {
				return netip.Prefix{}, fmt.Errorf("non-contiguous mask in '%s'", s)
			}
			return netip.PrefixFrom(addr, bits).Masked(), nil
		}
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// parseOptionRedispatch: "[no] option redispatch [<interval>]".
func parseOptionRedispatch(p *parser, args []token) error {
	px := p.ps.px
	if len(args) > 3 {
		return fmt.Errorf("'option %s' cannot handle unexpected argument '%s'.", args[1].Text, args[3].Text)
	}
	px.Redispatch = !p.negated
	px.RedispatchAfter = -1
	if p.negated {
		px.RedispatchAfter = 0
		if len(args) > 2 {
			return fmt.Errorf("'no option %s' cannot handle unexpected argument '%s'.", args[1].Text, args[2].Text)
		}
		return nil
	}
	if len(args) == 3 {
		n, err := strconv.Atoi(args[2].Text)
		if err != nil {
			return fmt.Errorf("'option redispatch' expects an integer interval, got '%s'.", args[2].Text)
		}
		px.RedispatchAfter = n
	}
	return nil
}

func parseOriginalTo(p *parser, args []token) error {
	if err := noNegation(p, args); err != nil {
		return err
	}
	ot := &config.OriginalTo{Pos: p.pos(), Header: "X-Original-To"}
	for i := 2; i < len(args); i++ {
		switch args[i].Text {
		case "except":
			if i+1 >= len(args) {
				return fmt.Errorf("'option originalto' : 'except' expects <address>[/mask] as argument.")
			}
			pfx, err := parseNetwork(args[i+1].Text)
			if err != nil {
				return fmt.Errorf("'option originalto' : 'except' expects <address>[/mask] as argument, got '%s'.", args[i+1].Text)
			}
			ot.Except = pfx
			i++
		case "header":
			if i+1 >= len(args) || args[i+1].Text == "" {
				return fmt.Errorf("'option originalto' : 'header' expects <header_name> as argument.")
			}
			ot.Header = args[i+1].Text
			i++
		default:
			return fmt.Errorf("'option originalto' : unknown keyword '%s'; supported: 'except' and 'header'.", args[i].Text)
		}
	}
	p.ps.px.OriginalTo = ot
	return nil
}
