package config

import "time"

// Process holds the global keywords that shape the process itself rather
// than its traffic: identity, jail, limits and environment.
type Process struct {
	// uid/gid to switch to; user/group are the names they were looked up
	// from while parsing (the passwd database is out of reach once
	// chrooted). 0: not set, as in HAProxy (root stays root).
	UID, GID    int
	User, Group string
	Chroot      string // chroot <dir>: jail entered after every bind, before the drop
	Pidfile     string // pidfile <file> (-p overrides it)
	UlimitN     int    // ulimit-n: RLIMIT_NOFILE to set; 0: leave it as Go raised it
	FDHardLimit int    // fd-hard-limit: upper bound on RLIMIT_NOFILE; 0: none
	// NoStrictLimits ("no strict-limits"): a setrlimit that fails is a
	// warning; by default (strict-limits) it stops the start.
	NoStrictLimits bool
	SetDumpable    bool   // set-dumpable: core dumps stay possible after the drop
	Node           string // node <name>: shown on the stats page and by show info
	Description    string // description <text>: likewise
	// MaxSpreadChecks bounds the delay of the first health checks after a
	// start or reload (max-spread-checks); 0: spread over the interval.
	MaxSpreadChecks time.Duration
	ZeroWarning     bool // zero-warning: any warning is fatal, as with -dW
	Quiet           bool // quiet: as -q, no warning, notice or "valid" line while starting
	Experimental    bool `json:",omitempty"` // expose-experimental-directives
	Daemon          bool // daemon: detach once serving, as -D (-db and -Ws keep the foreground)
	// UnixBind is "unix-bind": defaults for UNIX-socket binds. Gatehouse
	// refuses such binds and HAProxy 2.6 does not apply it to "stats
	// socket", so nothing reads it; it is kept for the model to be whole.
	UnixBind UnixBind
	// Env is every setenv/presetenv/resetenv/unsetenv in order, for the
	// process environment to match what the configuration saw.
	Env []EnvOp
}

// EnvOp is one environment keyword.
type EnvOp struct {
	Op    string // "setenv", "presetenv", "resetenv", "unsetenv"
	Names []string
	Value string // setenv and presetenv
}

// UnixBind holds "unix-bind prefix|mode|user|uid|group|gid".
type UnixBind struct {
	Prefix   string
	Mode     uint32 // 0: unset
	UID, GID int    // 0: unset, as in HAProxy
}
