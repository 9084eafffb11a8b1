package cfgparse

import (
	"fmt"
	"strconv"
)

// rateGlobalKeywords are the per-process accept-rate and compression
// limits.
func rateGlobalKeywords() []keyword {
	return []keyword{
		{name: "maxconnrate", where: wGlobal, syntax: "maxconnrate <number>",
			desc: "Connections the process accepts per second (0: no limit). Past it every listener stops accepting, the connections waiting in the kernel's backlog, until the rate over the last second allows one more, as HAProxy's listeners pause. A QUIC connection, which arrives with its handshake done, is refused instead (EXCESSIVE_LOAD), as with maxconn. 'show info' reports ConnRate, ConnRateLimit and MaxConnRate; 'set rate-limit connections global' changes it at run time.", parse: parseRateLimit},
		{name: "maxsessrate", where: wGlobal, syntax: "maxsessrate <number>",
			desc: "Sessions the process accepts per second (0: no limit): connections that passed the 'tcp-request connection' rules (a rejected one does not count). Past it the listeners stop accepting as with maxconnrate. 'show info' reports SessRate, SessRateLimit and MaxSessRate; 'set rate-limit sessions global' changes it at run time.", parse: parseRateLimit},
		{name: "maxsslrate", where: wGlobal, syntax: "maxsslrate <number>",
			desc: "Sessions per second on SSL binds (0: no limit), counted before their handshake as HAProxy does, so the limit also bounds handshake work. Past it the SSL listeners stop accepting, the others go on. 'show info' reports SslRate, SslRateLimit and MaxSslRate; 'set rate-limit ssl-sessions global' changes it at run time.", parse: parseRateLimit},
		{name: "maxsslconn", where: wGlobal, syntax: "maxsslconn <number>",
			desc: "Concurrent TLS connections of the process, client and server sides together (a connection deciphered then ciphered again counts twice), 0 or unset: no limit beyond maxconn. A client connection on an 'ssl' bind past it is closed before its handshake (HAProxy 2.6 leaves it open and unanswered); a connection to an 'ssl' server past it fails as a connection error (retried, else 503), as HAProxy's 'Too many SSL connections'. Health checks' TLS connections are not counted. Counted per configuration: after a reload the previous one's connections no longer count, as a new HAProxy process does not count the old one's.", parse: parseMaxSSLConn},
		{name: "maxcomprate", where: wGlobal, syntax: "maxcomprate <number>",
			desc: "Compression input of the process in kB per second (0: no limit): while the input rate over the last second is above it, new responses are not compressed. A response already being compressed goes on at its level (HAProxy lowers the level of running sessions instead; Go's deflate cannot change level mid-stream). 'show info' reports CompressBpsIn, CompressBpsOut and CompressBpsRateLim (in bytes); 'set rate-limit http-compression global' changes it at run time.", parse: parseMaxCompRate},
		{name: "maxcompcpuusage", where: wGlobal, syntax: "maxcompcpuusage <0..100>",
			desc: "CPU usage of the process, in percent, past which new responses are not compressed (default 100: no limit). The usage is the process's CPU time over the last second against what its GOMAXPROCS threads could use ('show info' Idle_pct is 100 minus it), HAProxy measuring its threads' idle time the same way. Responses already being compressed go on at their level.", parse: parseMaxCompCPU},
	}
}

func parseRateLimit(p *parser, args []token) error {
	kw := args[0].Text
	if err := wantArgs(args, kw, 1, 1, "an integer argument"); err != nil {
		return err
	}
	r := &p.cfg.Global.Rates
	dst := map[string]*int{"maxconnrate": &r.ConnRate, "maxsessrate": &r.SessRate, "maxsslrate": &r.SSLRate}[kw]
	if *dst != 0 {
		return fmt.Errorf("'%s' already specified. Continuing.", kw)
	}
	n, err := parseInt("'"+kw+"'", args[1].Text, 0, 1<<31-1)
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

func parseMaxCompRate(p *parser, args []token) error {
	if err := wantArgs(args, "maxcomprate", 1, 1, "an integer argument in kb/s"); err != nil {
		return err
	}
	// HAProxy keeps it in bytes in an int.
	n, err := parseInt("'maxcomprate'", args[1].Text, 0, (1<<31-1)/1024)
	if err != nil {
		return err
	}
	p.cfg.Global.Rates.CompRate = n
	return nil
}

func parseMaxCompCPU(p *parser, args []token) error {
	const want = "an integer argument between 0 and 100"
	if err := wantArgs(args, "maxcompcpuusage", 1, 1, want); err != nil {
		return err
	}
	n, err := strconv.Atoi(args[1].Text)
	if err != nil || n < 0 || n > 100 {
		return fmt.Errorf("'maxcompcpuusage' expects %s.", want)
	}
	p.cfg.Global.Rates.CompCPU, p.cfg.Global.Rates.CompCPUSet = n, true
	return nil
}

// rateProxyKeywords is "rate-limit sessions".
func rateProxyKeywords() []keyword {
	return []keyword{
		{name: "rate-limit", where: wFEOnly, capWarn: true, syntax: "rate-limit sessions <rate>",
			desc: "New sessions the frontend accepts per second (0: no limit). Past it the frontend's listeners stop accepting, the connections waiting in the kernel's backlog ('backlog' sizes it), until the rate over the last second allows one more; other frontends go on. A session is a connection past the 'tcp-request connection' rules. The stats' rate_lim column shows it.", parse: parseRateLimitSessions},
	}
}

func parseRateLimitSessions(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text != "sessions" {
		got := ""
		if len(args) > 1 {
			got = args[1].Text
		}
		return fmt.Errorf("'rate-limit' only supports 'sessions' (got '%s')", got)
	}
	if len(args) < 3 || args[2].Text == "" {
		return fmt.Errorf("'rate-limit sessions' expects an integer value (in sessions/second)")
	}
	if err := wantArgs(args[1:], "rate-limit sessions", 1, 1, "an integer value (in sessions/second)"); err != nil {
		return err
	}
	n, err := parseInt("'rate-limit sessions'", args[2].Text, 0, 1<<31-1)
	if err != nil {
		return err
	}
	p.ps.px.RateLimitSessions = n
	return nil
}

// parseMaxSSLConn reads it as HAProxy's ssl_parse_global_int.
func parseMaxSSLConn(p *parser, args []token) error {
	kw := args[0].Text
	if len(args) > 2 {
		return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", kw, args[2].Text)
	}
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'%s' expects an integer argument.", kw)
	}
	n := atol(args[1].Text)
	if n < 0 {
		return fmt.Errorf("'%s' expects a positive numeric value.", kw)
	}
	p.cfg.Global.Rates.MaxSSLConn = n
	return nil
}
