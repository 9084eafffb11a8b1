package cfgparse

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The listening socket's options, set as HAProxy 2.6 sets them
// (proto_tcp.c tcp_bind_listener); internal/app/sockopts.go applies them.

func bindSockOptions() []bindOption {
	return append(bindIDOptions(), []bindOption{
		{name: "backlog", syntax: "backlog <backlog>", hasArg: true,
			desc: "The socket's listen queue (listen(2) backlog, capped by net.core.somaxconn); 0 or unset: the frontend's 'backlog', else its maxconn.",
			parse: func(p *parser, b *config.Bind, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return fmt.Errorf("'backlog' : invalid value %s, must be >= 0", v)
				}
				b.Backlog = n
				return nil
			}},
		{name: "maxconn", syntax: "maxconn <maxconn>", hasArg: true,
			desc: "Concurrent connections of this socket (each address of the line has its own count): at the limit it stops accepting, connections wait in the listen queue until one closes. 0 or unset: the frontend's maxconn. Also the default 'backlog' when the frontend sets none.",
			parse: func(p *parser, b *config.Bind, v string) error {
				n := atol(v)
				if n < 0 {
					return fmt.Errorf("'maxconn' : invalid value %d, must be >= 0", n)
				}
				b.MaxConn = n
				return nil
			}},
		{name: "defer-accept", syntax: "defer-accept",
			desc:  "The kernel hands a connection over only once data has come (TCP_DEFER_ACCEPT, up to one second), so clients that connect and send nothing cost nothing.",
			parse: func(p *parser, b *config.Bind, _ string) error { b.DeferAccept = true; return nil }},
		{name: "mss", syntax: "mss <maxseg>", hasArg: true,
			desc: "The TCP maximum segment size advertised to clients (TCP_MAXSEG); a negative value lowers the system's default by that much.",
			parse: func(p *parser, b *config.Bind, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n == 0 || n > 65535 || n < -65535 {
					return fmt.Errorf("'mss' : expects an MSS with and absolute value between 1 and 65535")
				}
				b.MSS = n
				return nil
			}},
		{name: "interface", syntax: "interface <interface>", hasArg: true,
			desc: "Accept only connections arriving on this network interface (SO_BINDTODEVICE; needs CAP_NET_RAW). HAProxy only warns when it cannot; Gatehouse refuses to start rather than listen on every interface.",
			parse: func(p *parser, b *config.Bind, v string) error {
				if v == "" {
					return fmt.Errorf("'interface' : missing interface name")
				}
				b.Interface = v
				return nil
			}},
	}...)
}

func bindSockKeywords() []keyword {
	return append(sourceKeywords(), []keyword{
		{name: "backlog", where: wFEOnly, capWarn: true, syntax: "backlog <conns>",
			desc: "The listen queue of the frontend's binds that set none themselves; unset: the frontend's maxconn (the system's default without one), capped by net.core.somaxconn.",
			parse: func(p *parser, args []token) error {
				if err := wantArgs(args, "backlog", 1, 1, "a numeric value"); err != nil {
					return err
				}
				n, err := strconv.Atoi(args[1].Text)
				if err != nil || n < 0 {
					return fmt.Errorf("'backlog' expects a numeric value.")
				}
				p.ps.px.Backlog = n
				return nil
			}},
	}...)
}

func smartOptions() []keyword {
	return slices.Concat(sockOptions(), h1CaseOptions(), []keyword{
		{name: "tcp-smart-accept", where: wFEOnly, capWarn: true, syntax: "[no] option tcp-smart-accept",
			desc: "Delay the ACK of a client's first data until the response (TCP_QUICKACK off on the listening socket). On by default for HTTP frontends and TLS binds, as in HAProxy; 'no' turns it off, the option forces it in mode tcp.",
			parse: func(p *parser, args []token) error {
				if len(args) > 2 {
					return fmt.Errorf("'option %s' cannot handle unexpected argument '%s'.", args[1].Text, args[2].Text)
				}
				p.ps.px.SmartAccept = new(!p.negated)
				return nil
			}},
	})
}

// atol reads a number as C's atol does: optional blanks and sign, then the
// digits there are; "abc" is 0. HAProxy reads some bind values so.
func atol(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1<<31; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}
