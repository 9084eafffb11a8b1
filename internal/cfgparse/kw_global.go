package cfgparse

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
)

func globalKeywords() []keyword {
	return append([]keyword{
		{name: "localpeer", where: wGlobal, syntax: "localpeer <name>",
			desc: "This process's peer name in the 'peers' sections (default: the host name); ignored after a 'peers' section or when -L gives it.", parse: parseLocalPeer},
		{name: "maxconn", where: wGlobal, syntax: "maxconn <number>",
			desc: "Maximum number of concurrent connections of the whole process.", parse: parseGlobalMaxConn},
		{name: "hard-stop-after", where: wGlobal, syntax: "hard-stop-after <time>",
			desc: "Longest time a graceful stop or reload may take before old connections are closed.", parse: parseHardStopAfter},
		{name: "log", where: wGlobal, syntax: "log <target> [len <n>] [format <fmt>] <facility> [<level> [<minlevel>]]",
			desc: "A log target; proxies with 'log global' use it.", parse: parseGlobalLog},
		{name: "tune.bufsize", where: wGlobal, syntax: "tune.bufsize <size>",
			desc: "Buffer size, which bounds the size of a request's headers.", parse: parseBufSize},
		{name: "tune.h2.header-table-size", where: wGlobal, syntax: "tune.h2.header-table-size <4096..65536>",
			desc: "HTTP/2 HPACK dynamic header table size per connection, in bytes (default 4096).", parse: parseH2Tune},
		{name: "tune.h2.initial-window-size", where: wGlobal, syntax: "tune.h2.initial-window-size <0..2147483647>",
			desc: "HTTP/2 initial stream window size advertised on both sides, in bytes (default 65536).", parse: parseH2Tune},
		{name: "tune.h2.fe.initial-window-size", where: wGlobal, syntax: "tune.h2.fe.initial-window-size <0..2147483647>",
			desc: "HTTP/2 initial stream window size on frontend connections; overrides 'tune.h2.initial-window-size'.", parse: parseH2Tune},
		{name: "tune.h2.be.initial-window-size", where: wGlobal, syntax: "tune.h2.be.initial-window-size <0..2147483647>",
			desc: "HTTP/2 initial stream window size on backend connections; overrides 'tune.h2.initial-window-size'.", parse: parseH2Tune},
		{name: "tune.h2.max-concurrent-streams", where: wGlobal, syntax: "tune.h2.max-concurrent-streams <1..2147483647>",
			desc: "Maximum concurrent HTTP/2 streams per connection on both sides (default 100).", parse: parseH2Tune},
		{name: "tune.h2.fe.max-concurrent-streams", where: wGlobal, syntax: "tune.h2.fe.max-concurrent-streams <1..2147483647>",
			desc: "Maximum concurrent HTTP/2 streams per frontend connection; overrides 'tune.h2.max-concurrent-streams'.", parse: parseH2Tune},
		{name: "tune.h2.be.max-concurrent-streams", where: wGlobal, syntax: "tune.h2.be.max-concurrent-streams <1..2147483647>",
			desc: "Maximum concurrent HTTP/2 streams per backend connection; overrides 'tune.h2.max-concurrent-streams'.", parse: parseH2Tune},
		{name: "tune.h2.max-frame-size", where: wGlobal, syntax: "tune.h2.max-frame-size <16384..16777215>",
			desc: "Largest HTTP/2 frame payload advertised and accepted, in bytes (default 16384).", parse: parseH2Tune},
		{name: "tune.h2.fe.max-total-streams", where: wGlobal, syntax: "tune.h2.fe.max-total-streams <number>",
			desc: "HTTP/2 streams a frontend connection may open before it is closed with GOAWAY (0: unlimited, the default).", parse: parseH2Tune},
		{name: "tune.h2.fe.glitches-threshold", where: wGlobal, syntax: "tune.h2.fe.glitches-threshold <number>",
			desc: "HTTP/2 protocol glitches after which a frontend connection is killed (0: no threshold, the default).", parse: parseH2Tune},
		{name: "spread-checks", where: wGlobal, syntax: "spread-checks <0..50, in percent>",
			desc: "Random variation added to health check intervals.", parse: parseSpreadChecks},
		{name: "stats", where: wGlobal, syntax: "stats socket|timeout|maxconn <args>",
			desc: "The runtime API: its sockets, idle timeout and connection limit; see 'stats socket', 'stats timeout', 'stats maxconn'.", sub: globalStatsTable},
		{name: "crt-base", where: wGlobal, syntax: "crt-base <dir>",
			desc: "Directory relative 'crt' paths are taken from.", parse: parseBaseDir},
		{name: "ca-base", where: wGlobal, syntax: "ca-base <dir>",
			desc: "Directory relative 'ca-file' paths are taken from.", parse: parseBaseDir},
		{name: "ssl-server-verify", where: wGlobal, syntax: "ssl-server-verify none|required",
			desc: "Default certificate verification of TLS servers that do not set 'verify'.", parse: parseSSLServerVerify},
		{name: "noreuseport", where: wGlobal, syntax: "noreuseport",
			desc: "Frontend listeners (bind lines of frontend and listen sections) are opened without SO_REUSEPORT, which Gatehouse otherwise sets as HAProxy does. Then no other socket, a second Gatehouse started with -sf included, can bind the same address while they listen: unlike HAProxy, Gatehouse does not pause the old process's listeners and retry, so hand over with the in-process reload instead, and a reload that must re-open a bind (its socket options changed) is refused. Sockets already open keep their option until re-opened. Log-forward and peers sockets keep SO_REUSEPORT: a reload binds their new sockets beside the old ones.", parse: parseNoReusePort},
		{name: "nosplice", where: wGlobal, syntax: "nosplice",
			desc: "Never use splice(2), even where 'option splice-*' asks for it.", parse: parseNoSplice},
		{name: "daemon", where: wGlobal, syntax: "daemon",
			desc:  "Go to the background once serving, as the -D flag: Gatehouse starts itself again in a new session (Go cannot fork) and the command returns 0 once that process serves, or the start's error. -db (and -Ws, systemd mode) keep it in the foreground, as in HAProxy.",
			parse: parseDaemon},
		{name: "master-worker", where: wGlobal, syntax: "master-worker [no-exit-on-failure]",
			desc:  "Accepted with a warning and no effect: Gatehouse is a single process that reloads its configuration in place.",
			parse: noEffect("Gatehouse is a single process that reloads its configuration in place")},
		{name: "nbthread", where: wGlobal, syntax: "nbthread <number>",
			desc:  "Accepted with a warning and no effect: the Go runtime spreads work over GOMAXPROCS threads (all CPUs by default).",
			parse: noEffect("the Go runtime spreads work over GOMAXPROCS threads (all CPUs by default); set the GOMAXPROCS environment variable instead")},
		{name: "cpu-map", where: wGlobal, syntax: "cpu-map <thread-set> <cpu-set>",
			desc:  "Accepted with a warning and no effect: goroutines are not pinned to CPUs.",
			parse: noEffect("Go schedules goroutines on any CPU; use taskset or the service manager's CPU affinity instead")},
	}, slices.Concat(processKeywords(), httpClientKeywords(), tuneKeywords(), quicGlobalKeywords(), defaultPathKeywords(), globalTLSKeywords(), sslCaptureKeywords(), serverStateGlobalKeywords(), logGlobalKeywords(), varGlobalKeywords(),
		compressionGlobalKeywords(), rateGlobalKeywords(), h1CaseGlobalKeywords(), protoGlobalKeywords())...)
}

func parseDaemon(p *parser, args []token) error {
	if err := wantArgs(args, "daemon", 0, 0, "no argument"); err != nil {
		return err
	}
	p.cfg.Global.Process.Daemon = true
	return nil
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

// h2Setting is where a tune.h2.* value goes and the range HAProxy accepts.
type h2Setting struct {
	field  func(*config.H2Tune) *int
	lo, hi int
}

var h2Settings = map[string]h2Setting{
	"tune.h2.header-table-size":         {func(t *config.H2Tune) *int { return &t.HeaderTableSize }, 4096, 65536},
	"tune.h2.initial-window-size":       {func(t *config.H2Tune) *int { return &t.InitialWindowSize }, 0, math.MaxInt32},
	"tune.h2.fe.initial-window-size":    {func(t *config.H2Tune) *int { return &t.FEInitialWindowSize }, 0, math.MaxInt32},
	"tune.h2.be.initial-window-size":    {func(t *config.H2Tune) *int { return &t.BEInitialWindowSize }, 0, math.MaxInt32},
	"tune.h2.max-concurrent-streams":    {func(t *config.H2Tune) *int { return &t.MaxConcurrentStreams }, 1, math.MaxInt32},
	"tune.h2.fe.max-concurrent-streams": {func(t *config.H2Tune) *int { return &t.FEMaxConcurrentStreams }, 1, math.MaxInt32},
	"tune.h2.be.max-concurrent-streams": {func(t *config.H2Tune) *int { return &t.BEMaxConcurrentStreams }, 1, math.MaxInt32},
	"tune.h2.max-frame-size":            {func(t *config.H2Tune) *int { return &t.MaxFrameSize }, 16384, 16777215},
	"tune.h2.fe.max-total-streams":      {func(t *config.H2Tune) *int { return &t.FEMaxTotalStreams }, 0, math.MaxInt32},
	"tune.h2.fe.glitches-threshold":     {func(t *config.H2Tune) *int { return &t.FEGlitchesThreshold }, 0, math.MaxInt32},
}

// parseH2Tune parses the tune.h2.* keywords, which all take one integer
// within HAProxy's range for that keyword; a later line overrides an
// earlier one, as in HAProxy.
func parseH2Tune(p *parser, args []token) error {
	kw := args[0].Text
	set, ok := h2Settings[kw]
	if !ok {
		return fmt.Errorf("'%s' has no HTTP/2 setting (internal error)", kw)
	}
	if err := wantArgs(args, kw, 1, 1, "an integer argument"); err != nil {
		return err
	}
	if n, err := strconv.ParseInt(args[1].Text, 10, 64); err == nil && n == 0 && set.lo == 1 {
		// HAProxy reads 0 as "no limit", which it strongly discourages;
		// Gatehouse always bounds concurrent streams.
		return fmt.Errorf("'%s': 0 (no limit) is not supported by Gatehouse; set a value of at least 1 (HAProxy's default is 100)", kw)
	}
	n, err := parseInt("'"+kw+"'", args[1].Text, set.lo, set.hi)
	if err != nil {
		return err
	}
	*set.field(&p.cfg.Global.H2) = n
	return nil
}

func parseNoReusePort(p *parser, args []token) error {
	if err := wantArgs(args, "noreuseport", 0, 0, "no argument"); err != nil {
		return err
	}
	p.cfg.Global.NoReusePort = true
	return nil
}

func parseNoSplice(p *parser, args []token) error {
	if err := wantArgs(args, "nosplice", 0, 0, "no argument"); err != nil {
		return err
	}
	p.cfg.Global.NoSplice = true
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
