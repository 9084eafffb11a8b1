package cfgparse

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The options of the connections' sockets and the numeric ids of
// servers and listeners, as HAProxy 2.6 documents them:
// internal/app/sockopts.go and internal/upstream/dialsock.go apply them.

func sockOptions() []keyword {
	return []keyword{
		{name: "nolinger", where: wProxy, syntax: "[no] option nolinger",
			desc:  "Close connections with a TCP reset instead of a FIN (SO_LINGER 0): on a frontend the client connections, on a backend the server connections. Unsent data is dropped and the socket leaves the system at once; HAProxy strongly advises against it but as a last resort.",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.Sock.NoLinger })},
		{name: "tcp-smart-connect", where: wBEOnly, capWarn: true, syntax: "[no] option tcp-smart-connect",
			desc:  "Connect to servers with TCP_QUICKACK off, so the handshake's last ACK leaves with the request instead of in a packet of its own.",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.Sock.SmartConnect })},
		{name: "http-no-delay", where: wProxy, syntax: "[no] option http-no-delay",
			desc:  "Send response data to the client as soon as it is received, whatever the body's size (on the frontend or the backend used). Without it a body that fits a buffer (tune.bufsize) leaves in one write once complete; larger bodies, chunked and streamed ones always go out as they come, and Gatehouse never corks a socket (TCP_NODELAY, no MSG_MORE).",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.Sock.HTTPNoDelay })},
		{name: "allbackups", where: wBEOnly, capWarn: true, syntax: "[no] option allbackups",
			desc:  "When no active server is usable, balance the load over every usable backup server with the backend's algorithm and weights, instead of sending it all to the first one.",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.Sock.AllBackups })},
		{name: "checkcache", where: wBEOnly, capWarn: true, syntax: "[no] option checkcache",
			desc:  "Block (502, termination state PH, an alert in the backend's logs) a response that carries the server's Set-Cookie and that a shared cache could store: a GET, HEAD, OPTIONS or TRACE answered 200, 203, 204, 206, 300, 301, 404, 405, 410, 414 or 501, or any response with 'Cache-Control: public', unless it has 'Pragma: no-cache' or 'Cache-Control: private', 'no-cache', 'no-store', 'max-age=0', 's-maxage=0' or 'no-cache=\"set-cookie\"'. Checked after the response rules, as in HAProxy.",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.Sock.CheckCache })},
	}
}

func sourceKeywords() []keyword {
	return []keyword{
		{name: "source", where: wBEOnly, capWarn: true, syntax: "source <addr>[:<port>] [interface <name>]",
			desc: "Bind the connections to the backend's servers (and their health checks) to this source address and port before connecting (0.0.0.0 or port 0: the system's choice); 'interface' binds them to a network device (SO_BINDTODEVICE, needs CAP_NET_RAW). A server's own 'source' wins. 'usesrc' (transparent proxying) is refused.",
			parse: func(p *parser, args []token) error {
				if len(args) < 2 {
					return fmt.Errorf("'source' expects <addr>[:<port>] as argument.")
				}
				words := make([]string, len(args)-1)
				for i, a := range args[1:] {
					words[i] = a.Text
				}
				src, err := parseSource("source", words, false)
				if err != nil {
					return err
				}
				src.Pos = p.pos()
				p.ps.px.Sock.Source = src
				return nil
			}},
	}
}

// parseSource parses "<addr>[:<port>[-<high>]] [interface <name>]" (a
// port range only when ranges is set: server lines).
func parseSource(kw string, words []string, ranges bool) (*config.Source, error) {
	addr := words[0]
	for _, pfx := range []string{"ipv4@", "ipv6@"} {
		addr = strings.TrimPrefix(addr, pfx)
	}
	host, port := addr, ""
	switch {
	case strings.HasPrefix(addr, "["):
		end := strings.IndexByte(addr, ']')
		if end < 0 || (end+1 < len(addr) && addr[end+1] != ':') {
			return nil, fmt.Errorf("'%s' : invalid address '%s'.", kw, words[0])
		}
		host, port = addr[1:end], strings.TrimPrefix(addr[end+1:], ":")
	case strings.Contains(addr, ":"):
		i := strings.LastIndexByte(addr, ':')
		host, port = addr[:i], addr[i+1:]
	}
	src := &config.Source{}
	switch host {
	case "", "*":
		src.Addr = netip.IPv4Unspecified()
	default:
		a, err := netip.ParseAddr(host)
		if err != nil {
			return nil, fmt.Errorf("'%s' : Gatehouse takes an IP address here, not '%s'.", kw, host)
		}
		src.Addr = a.Unmap()
	}
	if strings.HasPrefix(words[0], "ipv4@") && !src.Addr.Is4() || strings.HasPrefix(words[0], "ipv6@") && src.Addr.Is4() {
		return nil, fmt.Errorf("'%s' : address '%s' is not of the family its prefix names.", kw, words[0])
	}
	if port != "" {
		lo, hi, isRange := strings.Cut(port, "-")
		if isRange && !ranges {
			return nil, fmt.Errorf("'%s' : port ranges and offsets are not allowed in '%s'", kw, words[0])
		}
		l, err := strconv.Atoi(lo)
		h := l
		if err == nil && isRange {
			h, err = strconv.Atoi(hi)
		}
		switch {
		case err != nil || strings.HasPrefix(port, "+"):
			return nil, fmt.Errorf("'%s' : invalid port '%s' in '%s'.", kw, port, words[0])
		case isRange && (l <= 0 || l > 65535 || h <= 0 || h > 65535 || l > h):
			return nil, fmt.Errorf("'%s' invalid source port range %d-%d.", kw, l, h)
		case l < 0 || l > 65535:
			return nil, fmt.Errorf("'%s' : invalid port '%s' in '%s'.", kw, port, words[0])
		}
		src.PortLow, src.PortHigh = l, h
	}
	for i := 1; i < len(words); i++ {
		switch words[i] {
		case "interface":
			if i+1 >= len(words) || words[i+1] == "" {
				return nil, fmt.Errorf("'%s' : 'interface' expects an interface name.", kw)
			}
			src.Interface = words[i+1]
			i++
		case "usesrc":
			return nil, fmt.Errorf("'%s' : %s", kw, unimplementedMsg("usesrc", "usesrc"))
		default:
			return nil, fmt.Errorf("'%s' only supports optional keywords 'usesrc' and 'interface'.", kw)
		}
	}
	return src, nil
}

func serverSockOptions() []serverOption {
	return []serverOption{
		{name: "id", syntax: "id <number>", hasArg: true,
			desc: "The server's numeric id (stats 'sid', 'show stat', srv_id, stick tables' server_id, its points on a consistent-hash ring); unique in the backend and > 0. Servers without one take the first free id counting from 1 in declaration order.",
			parse: func(s *config.Server, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n <= 0 {
					return fmt.Errorf("'id' : custom id has to be > 0")
				}
				s.ID = n
				return nil
			}},
		boolOpt("tfo", "Connect to the server with TCP Fast Open (TCP_FASTOPEN_CONNECT): once the kernel holds the server's cookie, the SYN carries the request. net.ipv4.tcp_fastopen must allow clients (bit 1). As HAProxy warns, add 'conn-failure', 'empty-response' and 'response-timeout' to 'retry-on'.",
			func(s *config.Server) { s.TFO = true }),
		boolOpt("no-tfo", "No TCP Fast Open (reverts 'tfo' from default-server).", func(s *config.Server) { s.TFO = false }),
		{name: "source", syntax: "source <addr>[:<port>[-<high>]] [interface <name>]", hasArg: true, sub: []string{"interface"},
			desc: "Bind this server's connections and checks to this source address, port or port range (walked in turn, a port in use skipped) before connecting, instead of the backend's 'source'; 'interface' binds them to a device. 'usesrc' is refused.",
			parse: func(s *config.Server, v string) error {
				src, err := parseSource("source", strings.Fields(v), true)
				if err != nil {
					return err
				}
				s.Source = src
				return nil
			}},
	}
}

// checkServerID refuses an id another server of the backend has, as
// HAProxy does.
func checkServerID(p *parser, s *config.Server) error {
	if s.ID == 0 {
		return nil
	}
	for _, o := range p.ps.px.Servers {
		if o.ID == s.ID {
			return fmt.Errorf("'server %s' : 'id' : custom id %d already used at %s ('server %s')", s.Name, s.ID, o.Pos, o.Name)
		}
	}
	return nil
}

func bindIDOptions() []bindOption {
	return []bindOption{
		{name: "id", syntax: "id <number>", hasArg: true,
			desc: "The listener's numeric id (stats 'sid' of its socket-stats row, and its 'sock-<id>' name); unique in the frontend and > 0, on a bind of one address only. Others take the first free id counting from 1.",
			parse: func(p *parser, b *config.Bind, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n <= 0 {
					return fmt.Errorf("'id' : custom id has to be > 0")
				}
				for _, o := range p.ps.px.Binds {
					if o.ID == n {
						return fmt.Errorf("'id' : custom id %d already used at %s ('bind %s')", n, o.Pos, o.Addr)
					}
				}
				b.ID = n
				return nil
			}},
		{name: "tfo", syntax: "tfo",
			desc:  "TCP Fast Open on the listening socket (TCP_FASTOPEN, its queue the listen backlog): a returning client's SYN may carry its request. net.ipv4.tcp_fastopen must allow servers (bit 2).",
			parse: func(p *parser, b *config.Bind, _ string) error { b.TFO = true; return nil }},
	}
}
