package cfgparse

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// HTTP/3: quic4@ and quic6@ bind addresses, their bind options and the
// tune.quic.frontend.* keywords of HAProxy 2.6.

func quicBindOptions() []bindOption {
	return []bindOption{
		{name: "allow-0rtt", syntax: "allow-0rtt",
			desc:  "QUIC binds only: accept early data (0-RTT) from resumed clients. A request still in early data is served only for GET, HEAD and OPTIONS, with 'Early-Data: 1' toward the server (RFC 8470); other methods get 425 Too Early and the client retries after the handshake. Off by default; TLS over TCP never accepts early data.",
			parse: func(p *parser, b *config.Bind, _ string) error { b.Allow0RTT = true; return nil }},
		{name: "quic-force-retry", syntax: "quic-force-retry",
			desc:  "QUIC binds only: answer every new connection with a Retry, so the client proves it receives at its address before any handshake work (RFC 9000 §8.1.2). Retry tokens are keyed by 'cluster-secret' when set, else by a random key per process.",
			parse: func(p *parser, b *config.Bind, _ string) error { b.QUICForceRetry = true; return nil }},
	}
}

func quicGlobalKeywords() []keyword {
	return []keyword{
		{name: "tune.quic.frontend.max-idle-timeout", where: wGlobal, syntax: "tune.quic.frontend.max-idle-timeout <timeout>",
			desc: "The max_idle_timeout QUIC transport parameter of frontends (default 30s): a connection without traffic for the smaller of both sides' values closes silently.", parse: parseQUICIdle},
		{name: "tune.quic.frontend.max-streams-bidi", where: wGlobal, syntax: "tune.quic.frontend.max-streams-bidi <number>",
			desc: "The initial_max_streams_bidi QUIC transport parameter of frontends (default 100): concurrent HTTP/3 requests per connection.", parse: parseQUICStreams},
		{name: "cluster-secret", where: wGlobal, syntax: "cluster-secret <secret>",
			desc: "A secret shared by the nodes of a cluster: it keys QUIC Retry tokens (quic-force-retry) and stateless resets, so a token or reset from one node or process is honoured by another, and across reloads. Without it each process draws a random key.", parse: parseClusterSecret},
	}
}

func parseQUICIdle(p *parser, args []token) error {
	if err := wantArgs(args, args[0].Text, 1, 1, "a time argument"); err != nil {
		return err
	}
	d, err := parseDuration(args[1].Text)
	if err != nil {
		return fmt.Errorf("'%s' : %v", args[0].Text, err)
	}
	if d <= 0 {
		return fmt.Errorf("'%s' expects a strictly positive value.", args[0].Text)
	}
	p.cfg.Global.QUIC.MaxIdleTimeout = d
	return nil
}

func parseQUICStreams(p *parser, args []token) error {
	if err := wantArgs(args, args[0].Text, 1, 1, "an integer argument"); err != nil {
		return err
	}
	// quic-go's stream count limit is 2^60; HAProxy's setting is an int.
	n, err := parseInt("'"+args[0].Text+"'", args[1].Text, 1, 1<<31-1)
	if err != nil {
		return err
	}
	p.cfg.Global.QUIC.MaxStreamsBidi = n
	return nil
}

func parseClusterSecret(p *parser, args []token) error {
	if err := wantArgs(args, "cluster-secret", 1, 1, "a secret string"); err != nil {
		return err
	}
	if p.cfg.Global.ClusterSecret != "" {
		return fmt.Errorf("'cluster-secret' already specified.")
	}
	if args[1].Text == "" {
		return fmt.Errorf("'cluster-secret' expects a non-empty secret.")
	}
	p.cfg.Global.ClusterSecret = args[1].Text
	return nil
}

// quicAddr strips a quic4@ or quic6@ prefix; ok reports one. The host must
// be of the family the prefix names ("*" or none: the family's any).
func quicAddr(addr string) (rest string, v6, ok bool) {
	switch {
	case strings.HasPrefix(addr, "quic4@"):
		return addr[len("quic4@"):], false, true
	case strings.HasPrefix(addr, "quic6@"):
		return addr[len("quic6@"):], true, true
	}
	return addr, false, false
}

// checkQUICBind refuses what a QUIC bind cannot do, and what only a QUIC
// bind does on a TCP one.
func checkQUICBind(b *config.Bind, v6 bool) error {
	if !b.QUIC {
		if b.Allow0RTT {
			return fmt.Errorf("'allow-0rtt' is only supported on QUIC binds (quic4@, quic6@): TLS over TCP never accepts early data in Gatehouse")
		}
		if b.QUICForceRetry {
			return fmt.Errorf("'quic-force-retry' only applies to QUIC binds (quic4@, quic6@)")
		}
		return nil
	}
	if b.Host != "" {
		ip := strings.Trim(b.Host, "[]")
		if isV6 := strings.Contains(ip, ":"); isV6 != v6 {
			return fmt.Errorf("address '%s' is not an IPv%s address", b.Host, map[bool]string{false: "4", true: "6"}[v6])
		}
	} else if v6 {
		b.Host = "::"
	}
	if !b.SSL || len(b.Crts) == 0 && len(b.CrtLists) == 0 {
		return fmt.Errorf("QUIC needs 'ssl' and a certificate ('crt' or 'crt-list')")
	}
	if b.AcceptProxy {
		return fmt.Errorf("'accept-proxy' cannot apply to a QUIC bind (no PROXY protocol over UDP)")
	}
	if b.Proto != "" {
		return fmt.Errorf("'proto %s' cannot apply to a QUIC bind, which speaks HTTP/3", b.Proto)
	}
	if b.Backlog != 0 || b.DeferAccept || b.MSS != 0 || b.Interface != "" {
		// TCP listening-socket options; the UDP socket takes none of them.
		return fmt.Errorf("'backlog', 'defer-accept', 'mss' and 'interface' are not supported on QUIC binds by Gatehouse")
	}
	if b.V6Only != nil {
		// The UDP socket is made without them: the system's default.
		return fmt.Errorf("'v4v6' and 'v6only' are not supported on QUIC binds by Gatehouse; bind quic4@ and quic6@ addresses separately")
	}
	if len(b.ALPN) == 0 {
		b.ALPN = []string{"h3"}
	}
	for _, a := range b.ALPN {
		if a != "h3" {
			return fmt.Errorf("'alpn %s' : a QUIC bind serves HTTP/3 only ('alpn h3')", strings.Join(b.ALPN, ","))
		}
	}
	b.ALPN = slices.Compact(b.ALPN)
	return nil
}
