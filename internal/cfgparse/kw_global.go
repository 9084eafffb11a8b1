package cfgparse

import (
	"fmt"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
)

func globalKeywords() []keyword {
	return []keyword{
		{name: "maxconn", where: wGlobal, syntax: "maxconn <number>",
			desc: "Maximum number of concurrent connections of the whole process.", parse: parseGlobalMaxConn},
		{name: "hard-stop-after", where: wGlobal, syntax: "hard-stop-after <time>",
			desc: "Longest time a graceful stop or reload may take before old connections are closed.", parse: parseHardStopAfter},
		{name: "log", where: wGlobal, syntax: "log <target> [len <n>] [format <fmt>] <facility> [<level> [<minlevel>]]",
			desc: "A log target; proxies with 'log global' use it.", parse: parseGlobalLog},
		{name: "tune.bufsize", where: wGlobal, syntax: "tune.bufsize <size>",
			desc: "Buffer size, which bounds the size of a request's headers.", parse: parseBufSize},
		{name: "spread-checks", where: wGlobal, syntax: "spread-checks <0..50, in percent>",
			desc: "Random variation added to health check intervals.", parse: parseSpreadChecks},
		{name: "stats", where: wGlobal, syntax: "stats socket <path> [level user|operator|admin] [mode <octal>]",
			desc: "The runtime API socket.", parse: parseStatsSocket},
		{name: "crt-base", where: wGlobal, syntax: "crt-base <dir>",
			desc: "Directory relative 'crt' paths are taken from.", parse: parseBaseDir},
		{name: "ca-base", where: wGlobal, syntax: "ca-base <dir>",
			desc: "Directory relative 'ca-file' paths are taken from.", parse: parseBaseDir},
		{name: "ssl-server-verify", where: wGlobal, syntax: "ssl-server-verify none|required",
			desc: "Default certificate verification of TLS servers that do not set 'verify'.", parse: parseSSLServerVerify},
		{name: "daemon", where: wGlobal, syntax: "daemon",
			desc:  "Accepted with a warning and no effect: Gatehouse never forks into the background; run it under a service manager.",
			parse: noEffect("Gatehouse does not fork into the background; run it under a service manager instead")},
		{name: "master-worker", where: wGlobal, syntax: "master-worker [no-exit-on-failure]",
			desc:  "Accepted with a warning and no effect: Gatehouse is a single process that reloads its configuration in place.",
			parse: noEffect("Gatehouse is a single process that reloads its configuration in place")},
		{name: "nbthread", where: wGlobal, syntax: "nbthread <number>",
			desc:  "Accepted with a warning and no effect: the Go runtime spreads work over GOMAXPROCS threads (all CPUs by default).",
			parse: noEffect("the Go runtime spreads work over GOMAXPROCS threads (all CPUs by default); set the GOMAXPROCS environment variable instead")},
		{name: "cpu-map", where: wGlobal, syntax: "cpu-map <thread-set> <cpu-set>",
			desc:  "Accepted with a warning and no effect: goroutines are not pinned to CPUs.",
			parse: noEffect("Go schedules goroutines on any CPU; use taskset or the service manager's CPU affinity instead")},
	}
}

// noEffect accepts a keyword that means nothing to a Go process, with a
// warning that says so and why.
func noEffect(why string) kwParser {
	return func(p *parser, args []token) error {
		return warning("'%s' has no effect in Gatehouse: %s.", args[0].Text, why)
	}
}

func parseGlobalMaxConn(p *parser, args []token) error {
	if err := wantArgs(args, "maxconn", 1, 1, "an integer argument"); err != nil {
		return err
	}
	n, err := parseInt("'maxconn'", args[1].Text, 1, 1<<30)
	if err != nil {
		return err
	}
	p.cfg.Global.MaxConn = n
	return nil
}

func parseHardStopAfter(p *parser, args []token) error {
	if err := wantArgs(args, "hard-stop-after", 1, 1, "a time argument"); err != nil {
		return err
	}
	d, err := parseDuration(args[1].Text)
	if err != nil {
		return fmt.Errorf("'hard-stop-after': %v", err)
	}
	p.cfg.Global.HardStopAfter = d
	return nil
}

func parseGlobalLog(p *parser, args []token) error {
	if len(args) > 1 && args[1].Text == "global" {
		return fmt.Errorf("'log global' is only allowed in proxy sections")
	}
	l, err := parseLogTarget(p, args)
	if err != nil {
		return err
	}
	p.cfg.Global.Logs = append(p.cfg.Global.Logs, l)
	return nil
}

func parseBufSize(p *parser, args []token) error {
	if err := wantArgs(args, "tune.bufsize", 1, 1, "a size argument"); err != nil {
		return err
	}
	n, err := parseSize(args[1].Text)
	if err != nil {
		return fmt.Errorf("'tune.bufsize': %v", err)
	}
	if n < 1024 {
		return fmt.Errorf("'tune.bufsize' expects a value of at least 1024 bytes, got '%s'", args[1].Text)
	}
	p.cfg.Global.TuneBufSize = n
	return nil
}

func parseSpreadChecks(p *parser, args []token) error {
	if err := wantArgs(args, "spread-checks", 1, 1, "an integer argument"); err != nil {
		return err
	}
	n, err := parseInt("'spread-checks'", args[1].Text, 0, 50)
	if err != nil {
		return err
	}
	p.cfg.Global.SpreadChecks = n
	return nil
}

func parseStatsSocket(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text != "socket" {
		return fmt.Errorf("'stats' in the 'global' section only supports 'socket'")
	}
	if len(args) < 3 {
		return fmt.Errorf("'stats socket' expects a path or an address")
	}
	s := &config.StatsSocket{Pos: p.pos(), Path: args[2].Text, Level: "user"}
	for i := 3; i < len(args); i += 2 {
		opt := args[i].Text
		if i+1 >= len(args) {
			return fmt.Errorf("'stats socket' : '%s' expects an argument", opt)
		}
		val := args[i+1].Text
		switch opt {
		case "level":
			if val != "user" && val != "operator" && val != "admin" {
				return fmt.Errorf("'stats socket' : 'level' only supports 'user', 'operator', and 'admin' (got '%s')", val)
			}
			s.Level = val
		case "mode":
			m, err := strconv.ParseUint(val, 8, 32)
			if err != nil || m > 0o7777 {
				return fmt.Errorf("'stats socket' : 'mode' expects an octal file mode, got '%s'", val)
			}
			s.Mode = uint32(m)
		default:
			if best := bestMatch(opt, []string{"level", "mode"}); best != "" {
				return fmt.Errorf("'stats socket' : unknown keyword '%s'. Did you mean '%s' maybe ?", opt, best)
			}
			return fmt.Errorf("'stats socket' : unknown keyword '%s'; Gatehouse supports 'level' and 'mode'", opt)
		}
	}
	p.cfg.Global.StatsSockets = append(p.cfg.Global.StatsSockets, s)
	return nil
}

func parseBaseDir(p *parser, args []token) error {
	kw := args[0].Text
	if err := wantArgs(args, kw, 1, 1, "a directory path as an argument"); err != nil {
		return err
	}
	dst := &p.cfg.Global.CrtBase
	if kw == "ca-base" {
		dst = &p.cfg.Global.CABase
	}
	if *dst != "" {
		return fmt.Errorf("'%s' already specified. Continuing.", kw)
	}
	*dst = args[1].Text
	return nil
}

func parseSSLServerVerify(p *parser, args []token) error {
	if err := wantArgs(args, "ssl-server-verify", 1, 1, "'none' or 'required'"); err != nil {
		return err
	}
	v := args[1].Text
	if v != "none" && v != "required" {
		return fmt.Errorf("'ssl-server-verify' expects 'none' or 'required', got '%s'", v)
	}
	p.cfg.Global.SSLServerVerify = v
	return nil
}
