package cfgparse

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
)

// processKeywords are the global keywords that shape the process: who it
// runs as, where, with which limits and environment. cmd/gatehouse applies
// them (internal/process); the parser only checks and records them.
func processKeywords() []keyword {
	return []keyword{
		{name: "user", where: wGlobal, syntax: "user <user name>",
			desc: "Run as this user (its uid from the passwd database) once every listener is bound and every file read. Needs a start as root.", parse: parseUser},
		{name: "uid", where: wGlobal, syntax: "uid <number>",
			desc: "Run as this user ID once every listener is bound and every file read. Needs a start as root.", parse: parseUser},
		{name: "group", where: wGlobal, syntax: "group <group name>",
			desc: "Run with this group (its gid from the group database), dropping supplementary groups, once every listener is bound.", parse: parseGroup},
		{name: "gid", where: wGlobal, syntax: "gid <number>",
			desc: "Run with this group ID, dropping supplementary groups, once every listener is bound.", parse: parseGroup},
		{name: "chroot", where: wGlobal, syntax: "chroot <jail dir>",
			desc: "Enter this directory as the root once every listener is bound and every file read, before dropping privileges. A reload then reads its files inside the jail (see docs/operations.md).", parse: parseChroot},
		{name: "pidfile", where: wGlobal, syntax: "pidfile <pidfile>",
			desc: "Write the process ID to this file at start (the -p flag overrides it); it is removed at exit.", parse: parsePidfile},
		{name: "ulimit-n", where: wGlobal, syntax: "ulimit-n <number>",
			desc: "Set RLIMIT_NOFILE (file descriptors) to this number at start; reported as Ulimit-n by 'show info' and the stats page.", parse: parseProcInt},
		{name: "fd-hard-limit", where: wGlobal, syntax: "fd-hard-limit <number>",
			desc: "Upper bound on the file descriptors the process uses whatever the system allows: RLIMIT_NOFILE is lowered to it when higher.", parse: parseProcInt},
		{name: "strict-limits", where: wGlobal, syntax: "[no] strict-limits",
			desc: "A limit that cannot be set (ulimit-n, fd-hard-limit) stops the start (the default); 'no strict-limits' makes it a warning.", parse: parseProcFlag},
		{name: "set-dumpable", where: wGlobal, syntax: "[no] set-dumpable",
			desc: "Keep the process dumpable (PR_SET_DUMPABLE) after the privilege drop and lift RLIMIT_CORE, so a crash can leave a core file.", parse: parseProcFlag},
		{name: "node", where: wGlobal, syntax: "node <name>",
			desc: "This instance's name (letters, digits, '.', '-', '_'), shown by 'show info' and on the stats page; the host name by default.", parse: parseNode},
		{name: "description", where: wGlobal, syntax: "description <text>",
			desc: "A text describing this instance, shown by 'show info' and on the stats page.", parse: parseGlobalDescription},
		{name: "setenv", where: wGlobal, syntax: "setenv <name> <value>",
			desc: "Set an environment variable; the next lines see it in \"${name}\", and the process environment gets it at start.", parse: parseEnv},
		{name: "presetenv", where: wGlobal, syntax: "presetenv <name> <value>",
			desc: "Like 'setenv', but a variable that already exists is kept.", parse: parseEnv},
		{name: "resetenv", where: wGlobal, syntax: "resetenv [<name> ...]",
			desc: "Remove every environment variable except the ones named.", parse: parseEnv},
		{name: "unsetenv", where: wGlobal, syntax: "unsetenv <name> [<name> ...]",
			desc: "Remove the named environment variables.", parse: parseEnv},
		{name: "unix-bind", where: wGlobal, syntax: "unix-bind [prefix <prefix>] [mode <mode>] [user <user>] [uid <uid>] [group <group>] [gid <gid>]",
			desc: "Defaults for UNIX-socket 'bind' lines. Checked as HAProxy checks it; it changes nothing Gatehouse runs: Gatehouse refuses UNIX-socket binds, and HAProxy 2.6 does not apply it to 'stats socket' either (TestUnixBindLeavesStatsSocket).", parse: parseUnixBind},
		{name: "max-spread-checks", where: wGlobal, syntax: "max-spread-checks <time>",
			desc: "Longest delay before the first health check of a server after a start or reload; the first checks are spread over it instead of over the check interval.", parse: parseMaxSpreadChecks},
		{name: "expose-experimental-directives", where: wGlobal, syntax: "expose-experimental-directives",
			desc: "Allow the directives HAProxy 2.6 marks experimental; of those Gatehouse has 'http-request normalize-uri', refused without it as HAProxy refuses it.", parse: parseProcFlag},
		{name: "quiet", where: wGlobal, syntax: "quiet",
			desc: "Print no message while starting, as the -q flag: no warning, no notice, and 'gatehouse -c' prints nothing on success (the exit status tells). A reload's warnings are silenced too, as HAProxy's new process stays quiet. Errors still print.", parse: parseProcFlag},
		{name: "zero-warning", where: wGlobal, syntax: "zero-warning",
			desc: "Refuse to start (and 'gatehouse -c' fails) when the configuration produced any warning, as the -dW flag does.", parse: parseProcFlag},
	}
}

func parseUser(p *parser, args []token) error {
	kw := args[0].Text
	if err := wantArgs(args, kw, 1, 1, "a user name or ID"); err != nil {
		return err
	}
	pr := &p.cfg.Global.Process
	if pr.UID != 0 || pr.User != "" {
		return warning("user/uid already specified. Continuing.")
	}
	if kw == "uid" {
		n, err := strconv.ParseUint(args[1].Text, 10, 31)
		if err != nil {
			return fmt.Errorf("uid: string '%s' is not a number; use 'user' for a system user name", args[1].Text)
		}
		pr.UID = int(n)
		return nil
	}
	// Looked up now, as HAProxy does: -c finds a missing user.
	lookup := p.opt.LookupUser
	if lookup == nil {
		lookup = LookupUserID
	}
	n, err := lookup(args[1].Text)
	if err != nil {
		return fmt.Errorf("cannot find user id for '%s' (%v)", args[1].Text, err)
	}
	pr.UID, pr.User = n, args[1].Text
	return nil
}

// LookupUserID is the system's answer for a user name.
func LookupUserID(name string) (int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, fmt.Errorf("uid '%s' is not a number", u.Uid)
	}
	return n, nil
}

// LookupGroupID is the system's answer for a group name.
func LookupGroupID(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("gid '%s' is not a number", g.Gid)
	}
	return n, nil
}

func parseGroup(p *parser, args []token) error {
	kw := args[0].Text
	if err := wantArgs(args, kw, 1, 1, "a group name or ID"); err != nil {
		return err
	}
	pr := &p.cfg.Global.Process
	if pr.GID != 0 || pr.Group != "" {
		return warning("gid/group was already specified. Continuing.")
	}
	if kw == "gid" {
		n, err := strconv.ParseUint(args[1].Text, 10, 31)
		if err != nil {
			return fmt.Errorf("gid: string '%s' is not a number; use 'group' for a system group name", args[1].Text)
		}
		pr.GID = int(n)
		return nil
	}
	lookup := p.opt.LookupGroup
	if lookup == nil {
		lookup = LookupGroupID
	}
	n, err := lookup(args[1].Text)
	if err != nil {
		return fmt.Errorf("cannot find group id for '%s' (%v)", args[1].Text, err)
	}
	pr.GID, pr.Group = n, args[1].Text
	return nil
}

func parseChroot(p *parser, args []token) error {
	if err := wantArgs(args, "chroot", 1, 1, "a directory as an argument"); err != nil {
		return err
	}
	if p.cfg.Global.Process.Chroot != "" {
		return warning("chroot already specified. Continuing.")
	}
	p.cfg.Global.Process.Chroot = args[1].Text
	return nil
}

func parsePidfile(p *parser, args []token) error {
	if err := wantArgs(args, "pidfile", 1, 1, "a file name as an argument"); err != nil {
		return err
	}
	if p.cfg.Global.Process.Pidfile != "" {
		return warning("pidfile already specified. Continuing.")
	}
	p.cfg.Global.Process.Pidfile = args[1].Text
	return nil
}

// parseProcInt parses the keywords that take one non-negative count.
func parseProcInt(p *parser, args []token) error {
	kw := args[0].Text
	if err := wantArgs(args, kw, 1, 1, "an integer argument"); err != nil {
		return err
	}
	pr := &p.cfg.Global.Process
	dst := map[string]*int{"ulimit-n": &pr.UlimitN, "fd-hard-limit": &pr.FDHardLimit}[kw]
	if kw == "ulimit-n" && *dst != 0 {
		return warning("ulimit-n already specified. Continuing.")
	}
	n, err := parseInt("'"+kw+"'", args[1].Text, 0, 1<<30)
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

// parseProcFlag parses the flags; strict-limits and set-dumpable take "no".
func parseProcFlag(p *parser, args []token) error {
	kw := args[0].Text
	if err := wantArgs(args, kw, 0, 0, "no argument"); err != nil {
		return err
	}
	pr := &p.cfg.Global.Process
	switch kw {
	case "strict-limits":
		pr.NoStrictLimits = p.negated
	case "set-dumpable":
		pr.SetDumpable = !p.negated
	case "expose-experimental-directives":
		pr.Experimental = true
	case "quiet":
		pr.Quiet = true
	case "zero-warning":
		if p.negated {
			return fmt.Errorf("'no zero-warning' is not supported; remove 'zero-warning' instead")
		}
		pr.ZeroWarning = true
	}
	return nil
}

func parseNode(p *parser, args []token) error {
	if err := wantArgs(args, "node", 1, 1, "a node name"); err != nil {
		return err
	}
	name := args[1].Text
	valid := name != ""
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			valid = false
		}
	}
	if !valid {
		return fmt.Errorf("'node' requires valid node name - non-empty string with digits(0-9), letters(A-Z, a-z), dot(.), hyphen(-) or underscode(_).")
	}
	p.cfg.Global.Process.Node = name
	return nil
}

// parseGlobalDescription joins every word with one space, as HAProxy does.
func parseGlobalDescription(p *parser, args []token) error {
	if err := wantArgs(args, "description", 1, -1, "a string argument"); err != nil {
		return err
	}
	words := make([]string, 0, len(args)-1)
	for _, a := range args[1:] {
		words = append(words, a.Text)
	}
	p.cfg.Global.Process.Description = strings.Join(words, " ")
	return nil
}

func parseMaxSpreadChecks(p *parser, args []token) error {
	if err := wantArgs(args, "max-spread-checks", 1, 1, "a time argument"); err != nil {
		return err
	}
	d, err := parseDuration(args[1].Text)
	if err != nil {
		return fmt.Errorf("'max-spread-checks': %v", err)
	}
	p.cfg.Global.Process.MaxSpreadChecks = d
	return nil
}

// parseUnixBind checks "unix-bind" as HAProxy does (an unknown user or
// group is an error), more strictly for numbers and modes.
func parseUnixBind(p *parser, args []token) error {
	ub := &p.cfg.Global.Process.UnixBind
	for i := 1; i < len(args); i += 2 {
		opt := args[i].Text
		if !contains([]string{"prefix", "mode", "uid", "gid", "user", "group"}, opt) {
			return fmt.Errorf("'unix-bind' only supports the 'prefix', 'mode', 'uid', 'gid', 'user' and 'group' options.")
		}
		if i+1 >= len(args) {
			return fmt.Errorf("'unix-bind' : '%s' expects an argument", opt)
		}
		val := args[i+1].Text
		switch opt {
		case "prefix":
			if ub.Prefix != "" {
				p.warnf("unix-bind 'prefix' already specified. Continuing.")
				continue
			}
			ub.Prefix = val
		case "mode":
			m, err := strconv.ParseUint(val, 8, 32)
			if err != nil || m > 0o7777 {
				return fmt.Errorf("'unix-bind' : 'mode' expects an octal file mode, got '%s'", val)
			}
			ub.Mode = uint32(m)
		case "uid", "gid":
			n, err := strconv.ParseUint(val, 10, 31)
			if err != nil {
				return fmt.Errorf("'unix-bind' : '%s' expects a number, got '%s'", opt, val)
			}
			if opt == "uid" {
				ub.UID = int(n)
			} else {
				ub.GID = int(n)
			}
		case "user", "group":
			lookup, dst, what := p.opt.LookupUser, &ub.UID, "user"
			if opt == "group" {
				lookup, dst, what = p.opt.LookupGroup, &ub.GID, "group"
			}
			if lookup == nil {
				lookup = map[string]func(string) (int, error){"user": LookupUserID, "group": LookupGroupID}[what]
			}
			n, err := lookup(val)
			if err != nil {
				return fmt.Errorf("'unix-bind' : '%s' unknown %s.", val, what)
			}
			*dst = n
		}
	}
	return nil
}
