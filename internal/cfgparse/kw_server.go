package cfgparse

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

func serverKeywords() []keyword {
	return []keyword{
		{name: "server", where: wBE, syntax: "server <name> <address>[:<port>] [<option> ...]",
			desc: "A server of the backend; 'default-server' settings apply first, then the options listed under 'server options'.", parse: parseServer},
		{name: "default-server", where: wBEOnly, syntax: "default-server [<option> ...]",
			desc: "Defaults for the options of the 'server' lines that follow.", parse: parseDefaultServer},
		serverTemplateKeyword(),
	}
}

// serverOption is one option of a "server" or "default-server" line.
type serverOption struct {
	name   string
	syntax string
	desc   string
	hasArg bool
	// sub: words that may follow the argument, each with a value of its
	// own ("source <addr> interface <name>"); parse gets them after it.
	sub   []string
	parse func(s *config.Server, v string) error
}

func boolOpt(name, desc string, set func(s *config.Server)) serverOption {
	return serverOption{name: name, syntax: name, desc: desc, parse: func(s *config.Server, _ string) error { set(s); return nil }}
}

func intOpt(name, desc string, lo, hi int, field func(s *config.Server) *int) serverOption {
	return serverOption{name: name, syntax: name + " <number>", desc: desc, hasArg: true, parse: func(s *config.Server, v string) error {
		n, err := parseInt("'"+name+"'", v, lo, hi)
		*field(s) = n
		return err
	}}
}

func durOpt(name, desc string, field func(s *config.Server) *time.Duration) serverOption {
	return serverOption{name: name, syntax: name + " <time>", desc: desc, hasArg: true, parse: func(s *config.Server, v string) error {
		d, err := parseDuration(v)
		if err != nil {
			return fmt.Errorf("'%s': %v", name, err)
		}
		if d == 0 && name != "slowstart" {
			return fmt.Errorf("'%s' expects a strictly positive time, got '%s'", name, v)
		}
		*field(s) = d
		return nil
	}}
}

func strOpt(name, syntax, desc string, set func(s *config.Server, v string) error) serverOption {
	return serverOption{name: name, syntax: syntax, desc: desc, hasArg: true, parse: set}
}

func oneOf(name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("'%s' expects one of '%s', got '%s'", name, strings.Join(allowed, "', '"), v)
}

func serverOptions() []serverOption {
	return append(append(dnsServerOptions(),
		intOpt("weight", "Relative load-balancing weight (0..256, default 1).", 0, 256, func(s *config.Server) *int { return &s.Weight }),
		boolOpt("backup", "Use the server only when all non-backup servers are down.", func(s *config.Server) { s.Backup = true }),
		boolOpt("disabled", "Start the server in maintenance mode.", func(s *config.Server) { s.Disabled = true }),
		boolOpt("non-stick", "Never record this server in a stick table: 'stick store-request' and 'stick store-response' skip requests it serves ('stick on' still matches it).", func(s *config.Server) { s.NonStick = true }),
		boolOpt("stick", "Record this server in stick tables (reverts 'non-stick' from default-server).", func(s *config.Server) { s.NonStick = false }),
		boolOpt("enabled", "Start the server in service (reverts 'disabled').", func(s *config.Server) { s.Disabled = false }),
		intOpt("maxconn", "Maximum concurrent connections to the server (0: unlimited).", 0, 1<<30, func(s *config.Server) *int { return &s.MaxConn }),
		intOpt("maxqueue", "Requests that may wait for this server in particular (0: unlimited). Only hash balancing (source, uri, hdr) queues a request on its server, as in HAProxy; once the limit is reached the next such request is answered 503. Other algorithms wait in the backend's queue, which this does not bound.", 0, 1<<30, func(s *config.Server) *int { return &s.MaxQueue }),
		intOpt("minconn", "Dynamic limit: the server takes max(minconn, maxconn * backend connections / fullconn) connections at once, maxconn from 'fullconn' on (minconn alone, or above maxconn, is maxconn).", 0, 1<<30, func(s *config.Server) *int { return &s.MinConn }),
		boolOpt("ssl", "Connect to the server over TLS.", func(s *config.Server) { s.SSL = true }),
		boolOpt("no-ssl", "Connect in clear text (reverts 'ssl' from default-server).", func(s *config.Server) { s.SSL = false }),
		strOpt("verify", "verify none|required", "Server certificate verification; unset follows global 'ssl-server-verify'.", func(s *config.Server, v string) error {
			s.Verify = v
			return oneOf("verify", v, "none", "required")
		}),
		strOpt("ca-file", "ca-file <file>", "CA certificates that verify the server's certificate; relative paths start at 'ca-base'.", func(s *config.Server, v string) error { s.CAFile = v; return nil }),
		strOpt("verifyhost", "verifyhost <hostname>", "With 'verify required', the name the server's certificate must match (SAN DNS names or CN, one leftmost wildcard allowed) when no SNI is sent; with an SNI the SNI is checked.", func(s *config.Server, v string) error { s.VerifyHost = v; return nil }),
		strOpt("crt", "crt <file>", "Client certificate and key PEM presented to the server; relative paths start at 'crt-base'.", func(s *config.Server, v string) error { s.Crt = v; return nil }),
		strOpt("socks4", "socks4 <addr>:<port>", "Connect to the server through this SOCKS4 proxy (an IPv4 server address; health checks only with 'check-via-socks4').", func(s *config.Server, v string) error {
			ap, err := netip.ParseAddrPort(v)
			if err != nil || !ap.Addr().Is4() || ap.Port() == 0 {
				return fmt.Errorf("'socks4' expects an IPv4 address and a port, got '%s'", v)
			}
			s.Socks4 = ap.String()
			return nil
		}),
		boolOpt("check-via-socks4", "Send the health checks through the server's 'socks4' proxy too.", func(s *config.Server) { s.CheckViaSocks4 = true }),
		strOpt("sni", "sni <expression>", "Sample expression giving the TLS SNI, e.g. str(example.com) or req.hdr(host).", func(s *config.Server, v string) error { s.SNI = v; return nil }),
		strOpt("alpn", "alpn <proto>[,<proto>...]", "Protocols offered to the server in the TLS handshake.", func(s *config.Server, v string) error {
			l, err := alpnList(v)
			s.ALPN = l
			return err
		}),
		boolOpt("check", "Enable health checks.", func(s *config.Server) { s.Check = true }),
		boolOpt("no-check", "Disable health checks (reverts 'check').", func(s *config.Server) { s.Check = false }),
		boolOpt("check-ssl", "Run health checks over TLS.", func(s *config.Server) { s.CheckSSL = true }),
		boolOpt("no-check-ssl", "Run health checks in clear text.", func(s *config.Server) { s.CheckSSL = false }),
		strOpt("check-sni", "check-sni <name>", "SNI sent by TLS health checks.", func(s *config.Server, v string) error { s.CheckSNI = v; return nil }),
		strOpt("check-alpn", "check-alpn <proto>[,<proto>...]", "ALPN offered by TLS health checks.", func(s *config.Server, v string) error {
			l, err := alpnList(v)
			s.CheckALPN = l
			return err
		}),
		strOpt("port", "port <port>", "Port health checks connect to.", func(s *config.Server, v string) error {
			n, err := parsePort("'port'", v)
			s.CheckPort = n
			return err
		}),
		strOpt("addr", "addr <address>", "Address health checks connect to.", func(s *config.Server, v string) error { s.CheckAddr = v; return nil }),
		durOpt("inter", "Interval between health checks (default 2s).", func(s *config.Server) *time.Duration { return &s.Inter }),
		boolOpt("agent-check", "Run HAProxy's agent check: every agent-inter, connect to agent-addr:agent-port, send agent-send and read one line whose words set the server's weight ('75%', relative to its configured weight), admin state ('ready', 'drain', 'maint'), operational state ('up', 'down', 'stopped', 'fail') and 'maxconn:N'. An agent that cannot be reached changes nothing.", func(s *config.Server) { s.Agent = true }),
		boolOpt("no-agent-check", "Disable the agent check (reverts 'agent-check').", func(s *config.Server) { s.Agent = false }),
		strOpt("agent-port", "agent-port <port>", "TCP port of the agent (required by agent-check).", func(s *config.Server, v string) error {
			n, err := parsePort("'agent-port'", v)
			s.AgentPort = n
			return err
		}),
		strOpt("agent-addr", "agent-addr <address>", "Address of the agent (default: the server's).", func(s *config.Server, v string) error { s.AgentAddr = v; return nil }),
		strOpt("agent-send", "agent-send <string>", "String sent to the agent once connected (escapes such as \\n are the tokenizer's).", func(s *config.Server, v string) error { s.AgentSend = v; return nil }),
		strOpt("track", "track [<backend>/]<server>", "Follow the state of another server (one with checks, an agent or a track of its own) instead of checking this one: down, up, maintenance and drain as it is; the stats show 'MAINT (via backend/server)'.", func(s *config.Server, v string) error { s.Track = v; return nil }),
		strOpt("on-marked-down", "on-marked-down shutdown-sessions", "When the server is marked down (checks, agent, tracked server, runtime API; not maintenance), cut the streams using it: a mode tcp session is closed on both sides, an HTTP exchange loses its server connection (the client gets a 502 before the response head, as from HAProxy 2.6). Exchanges with an HTTP/2 server are not cut.", func(s *config.Server, v string) error {
			if v != "shutdown-sessions" {
				return fmt.Errorf("'on-marked-down' expects 'shutdown-sessions' but got '%s'", v)
			}
			s.OnMarkedDown = v
			return nil
		}),
		strOpt("on-marked-up", "on-marked-up shutdown-backup-sessions", "When the server is marked up again, cut the streams using the backend's backup servers, so clients come back to it.", func(s *config.Server, v string) error {
			if v != "shutdown-backup-sessions" {
				return fmt.Errorf("'on-marked-up' expects 'shutdown-backup-sessions' but got '%s'", v)
			}
			s.OnMarkedUp = v
			return nil
		}),
		durOpt("agent-inter", "Interval between agent checks (default: inter).", func(s *config.Server) *time.Duration { return &s.AgentInter }),
		durOpt("fastinter", "Interval while the server is changing state.", func(s *config.Server) *time.Duration { return &s.FastInter }),
		durOpt("downinter", "Interval while the server is down.", func(s *config.Server) *time.Duration { return &s.DownInter }),
		intOpt("rise", "Consecutive successful checks to consider the server up (default 2).", 1, 1<<20, func(s *config.Server) *int { return &s.Rise }),
		intOpt("fall", "Consecutive failed checks to consider the server down (default 3).", 1, 1<<20, func(s *config.Server) *int { return &s.Fall }),
		durOpt("slowstart", "Time over which a server coming up ramps its weight up.", func(s *config.Server) *time.Duration { return &s.SlowStart }),
		strOpt("observe", "observe layer4|layer7", "Use live traffic to detect failures.", func(s *config.Server, v string) error {
			s.Observe = v
			return oneOf("observe", v, "layer4", "layer7")
		}),
		intOpt("error-limit", "Consecutive observed errors that trigger 'on-error' (default 10).", 1, 1<<20, func(s *config.Server) *int { return &s.ErrorLimit }),
		strOpt("on-error", "on-error fastinter|fail-check|sudden-death|mark-down", "What to do when 'error-limit' is reached.", func(s *config.Server, v string) error {
			s.OnError = v
			return oneOf("on-error", v, "fastinter", "fail-check", "sudden-death", "mark-down")
		}),
		boolOpt("send-proxy", "Send a PROXY protocol v1 header on each connection.", func(s *config.Server) { s.SendProxy = 1 }),
		boolOpt("send-proxy-v2", "Send a PROXY protocol v2 header on each connection.", func(s *config.Server) { s.SendProxy = 2 }),
		boolOpt("no-send-proxy", "Send no PROXY header (reverts 'send-proxy').", func(s *config.Server) { s.SendProxy = 0 }),
		boolOpt("no-send-proxy-v2", "Send no PROXY header (reverts 'send-proxy-v2').", func(s *config.Server) { s.SendProxy = 0 }),
		strOpt("proxy-v2-options", "proxy-v2-options <opt>[,<opt>...]", "TLVs added to the PROXY v2 header: ssl, cert-cn, ssl-cipher, cert-sig, cert-key, authority, unique-id, crc32c.", func(s *config.Server, v string) error {
			s.ProxyV2Opts = strings.Split(v, ",")
			for _, o := range s.ProxyV2Opts {
				if err := oneOf("proxy-v2-options", o, "ssl", "cert-cn", "ssl-cipher", "cert-sig", "cert-key", "authority", "unique-id", "crc32c"); err != nil {
					return err
				}
			}
			return nil
		}),
		boolOpt("check-send-proxy", "Send the PROXY header on health checks too.", func(s *config.Server) { s.CheckSendProxy = true }),
		intOpt("max-reuse", "Maximum requests sent over one server connection (-1: unlimited).", -1, 1<<30, func(s *config.Server) *int { return &s.MaxReuse }),
		strOpt("pool-purge-delay", "pool-purge-delay <delay>", "Every <delay> (default 5s) half of the idle connections beyond what was needed lately are closed, as HAProxy's purge does; as in HAProxy, an idle connection has no age limit of its own, so those a burst needed stay for the next one while the need lasts; 0 keeps no idle connection.", func(s *config.Server, v string) error {
			d, err := parseDuration(v)
			if err != nil {
				return fmt.Errorf("'pool-purge-delay': %v", err)
			}
			s.PoolPurgeDelay = &d
			return nil
		}),
		strOpt("pool-low-conn", "pool-low-conn <max>", "Idle connections kept beyond the estimate of what is needed (default 0): a connection coming back idle stays when the used and idle ones together are within the estimate plus <max>. HAProxy's other use, not stealing from other threads' pools below it, has nothing to act on: Gatehouse has one pool per server.", func(s *config.Server, v string) error {
			s.PoolLowConn = atol(v)
			return nil
		}),
		intOpt("pool-max-conn", "Maximum idle connections kept for reuse (-1: unlimited).", -1, 1<<30, func(s *config.Server) *int { return &s.PoolMaxConn }),
		strOpt("proto", "proto h2", "Speak HTTP/2 to the server.", func(s *config.Server, v string) error {
			s.Proto = v
			return oneOf("proto", v, "h2")
		}),
		serverCookieOption(),
	), slices.Concat(serverTLSOptions(), serverSockOptions())...)
}

func serverOptionNames(opts []serverOption) []string {
	names := make([]string, len(opts))
	for i, o := range opts {
		names[i] = o.name
	}
	return names
}

// applyServerOptions applies args (options of a server line) to s; what
// names the line in messages, e.g. "server web1". Every unknown or
// unimplemented option of the line is reported, each on its own line, so
// one run lists them all (errors.Join; report splits it).
func applyServerOptions(s *config.Server, args []token, what string) error {
	opts := serverOptions()
	find := func(name string) *serverOption {
		for j := range opts {
			if opts[j].name == name {
				return &opts[j]
			}
		}
		return nil
	}
	var errs []error
	for i := 0; i < len(args); i++ {
		name := args[i].Text
		opt := find(name)
		if opt == nil {
			if contains(unimplementedServerOptions(), name) {
				errs = append(errs, fmt.Errorf("'%s' : %s", what, unimplementedMsg(name, name)))
				if !serverFlagOptions[name] && i+1 < len(args) {
					i++ // its argument
				}
				continue
			}
			if best := bestMatch(name, serverOptionNames(opts)); best != "" {
				errs = append(errs, fmt.Errorf("'%s' unknown keyword '%s'. Did you mean '%s' maybe ?", what, name, best))
			} else {
				errs = append(errs, fmt.Errorf("'%s' unknown keyword '%s'.", what, name))
			}
			// Its arguments, if any, are the words up to the next option.
			for i+1 < len(args) && find(args[i+1].Text) == nil && !contains(unimplementedServerOptions(), args[i+1].Text) {
				i++
			}
			continue
		}
		val := ""
		if opt.hasArg {
			if i+1 >= len(args) {
				errs = append(errs, fmt.Errorf("'%s' : '%s' expects an argument (%s).", what, name, opt.syntax))
				break
			}
			i++
			val = args[i].Text
			for i+2 < len(args) && contains(opt.sub, args[i+1].Text) {
				val += " " + args[i+1].Text + " " + args[i+2].Text
				i += 2
			}
		}
		if err := opt.parse(s, val); err != nil {
			errs = append(errs, fmt.Errorf("'%s' : %v", what, err))
		}
	}
	return errors.Join(errs...)
}

// serverFlagOptions are the HAProxy server options Gatehouse does not
// implement that take no argument, so the word after one is an option.
var serverFlagOptions = map[string]bool{
	"no-sslv3": true, "no-tlsv10": true, "no-tlsv11": true, "no-tlsv12": true, "no-tlsv13": true,
	"force-sslv3": true, "force-tlsv10": true, "force-tlsv11": true, "force-tlsv12": true, "force-tlsv13": true,
	"ssl-reuse": true, "no-ssl-reuse": true, "allow-0rtt": true, "check-via-socks4": true,
	"non-stick": true, "stick": true, "send-proxy-v2-ssl": true, "send-proxy-v2-ssl-cn": true,
	"check-reuse-pool": true, "no-tls-tickets": true,
	"tls-tickets": true, "prefer-client-ciphers": true, "check-send-proxy": true, "no-check-ssl": true,
}

func parseServer(p *parser, args []token) error {
	if len(args) < 3 {
		return fmt.Errorf("'server' expects <name> and <addr>[:<port>] as arguments.")
	}
	name := args[1].Text
	if c, bad := invalidChar(name); bad {
		return fmt.Errorf("character '%c' is not permitted in server name '%s'.", c, name)
	}
	for _, o := range p.ps.px.Servers {
		if o.Name == name {
			return fmt.Errorf("'server %s' : the name is already used by the server declared at %s.", name, o.Pos)
		}
	}
	hp, err := splitHostPort(envExpand(args[2].Text, p.opt.LookupEnv), false)
	if err != nil {
		return fmt.Errorf("'server %s' : %v", name, err)
	}
	if hp.Host == "" {
		// As in HAProxy, no address (":10444", "*:10444") is the IPv4
		// wildcard, which a connect reaches on this host.
		hp.Host = "0.0.0.0"
	}
	s := cloneServer(p.ps.defSrv)
	s.Pos, s.Name, s.Host, s.Port = p.pos(), name, hp.Host, hp.Port
	if err := applyServerOptions(&s, args[3:], "server "+name); err != nil {
		return err
	}
	if err := checkServerID(p, &s); err != nil {
		return err
	}
	if s.CAFile != "" {
		s.CAFile = p.filePath(p.cfg.Global.CABase, s.CAFile)
	}
	if s.Crt != "" {
		s.Crt = p.filePath(p.cfg.Global.CrtBase, s.Crt)
	}
	if s.SSL || s.CheckSSL {
		s.TLS.Inherit(p.cfg.Global.TLS.DefaultServer)
		warnVersionFlags(p, "server "+name, s.TLS)
	}
	if s.Check && s.Track != "" {
		return fmt.Errorf("'server %s/%s' : unable to enable checks and tracking at the same time!", p.ps.px.Name, name)
	}
	if s.Agent && s.AgentPort == 0 {
		return fmt.Errorf("'server %s' : server %s does not have agent port. Agent check has been disabled.", name, name)
	}
	if s.Port == 0 && s.Check && s.CheckPort == 0 && !config.SRV(s.Host) { // an SRV record gives the port
		return fmt.Errorf("'server %s' : health checks need a port: give the server address a port or set 'port'.", name)
	}
	p.ps.px.Servers = append(p.ps.px.Servers, &s)
	return nil
}

func parseDefaultServer(p *parser, args []token) error {
	s := cloneServer(p.ps.defSrv)
	if err := applyServerOptions(&s, args[1:], "default-server"); err != nil {
		return err
	}
	if s.ID != 0 {
		return fmt.Errorf("'default-server' : 'id' option is not accepted in default-server sections.")
	}
	p.ps.defSrv = s
	return nil
}
