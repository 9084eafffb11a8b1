package cfgparse

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// globalStatsTable is the global section's "stats" keywords: the runtime
// API's sockets and the limits every one of them shares.
func globalStatsTable() []keyword {
	return []keyword{
		{name: "socket", where: wGlobal,
			syntax: "stats socket <path>|unix@<path>|ipv4@<addr:port>|ipv6@<addr:port>|<addr:port> [level user|operator|admin] [mode <octal>] [user <name>] [uid <id>] [group <name>] [gid <id>] [expose-fd listeners]",
			desc: "A runtime API socket; several may be declared. A unix socket file gets 'mode', 'user'/'uid' and 'group'/'gid'; " +
				"'level' restricts the commands (operator by default). 'expose-fd listeners' is implied (a NOTICE says so, which 'zero-warning' does not count): " +
				"Gatehouse reloads in process, so its listening sockets stay open and are never handed to another process.",
			parse: parseStatsSocket},
		{name: "timeout", where: wGlobal, syntax: "stats timeout <time>",
			desc: "Idle timeout of a runtime API session (default 10s).", parse: parseStatsTimeout},
		{name: "maxconn", where: wGlobal, syntax: "stats maxconn <number>",
			desc: "Concurrent connections each runtime API socket accepts (default 10); more wait in the system's backlog.", parse: parseStatsMaxConn},
		{name: "bind-process", where: wGlobal, syntax: "stats bind-process all|odd|even|1[-[1]] ...",
			desc: "Deprecated in HAProxy 2.6, which has one process and accepts only the values that select it (1, all, odd, even); the runtime API runs in Gatehouse's one process, as HAProxy 2.6's does. Other process numbers are an error, as in HAProxy.", parse: parseStatsBindProcess},
	}
}

func parseStatsTimeout(p *parser, args []token) error {
	if len(args) != 3 {
		return fmt.Errorf("'stats timeout' expects a timeout in milliseconds.")
	}
	d, err := parseDuration(args[2].Text)
	if err != nil || d <= 0 {
		return fmt.Errorf("'stats timeout' expects a positive value, got '%s'.", args[2].Text)
	}
	p.cfg.Global.StatsTimeout = d
	return nil
}

func parseStatsMaxConn(p *parser, args []token) error {
	if len(args) != 3 {
		return fmt.Errorf("'stats maxconn' expects a positive value.")
	}
	n, err := strconv.Atoi(args[2].Text)
	if err != nil || n <= 0 {
		return fmt.Errorf("'stats maxconn' expects a positive value, got '%s'.", args[2].Text)
	}
	p.cfg.Global.StatsMaxConn = n
	return nil
}

// socketOpts are the bind options a "stats socket" line takes.
var socketOpts = []string{"level", "mode", "user", "uid", "group", "gid", "expose-fd"}

func parseStatsSocket(p *parser, args []token) error {
	if len(args) < 3 {
		return fmt.Errorf("'stats socket' expects a path or an address")
	}
	s := &config.StatsSocket{Pos: p.pos(), Level: "operator"}
	if err := socketAddress(s, args[2].Text); err != nil {
		return err
	}
	for i := 3; i < len(args); i += 2 {
		opt := args[i].Text
		if i+1 >= len(args) {
			return fmt.Errorf("'stats socket' : '%s' expects an argument", opt)
		}
		if err := socketOption(p, s, opt, args[i+1].Text); err != nil {
			return err
		}
	}
	p.cfg.Global.StatsSockets = append(p.cfg.Global.StatsSockets, s)
	return nil
}

// socketAddress reads a socket's address as HAProxy's str2sa_range does:
// a path (or unix@path) is a unix socket, ipv4@/ipv6@ or host:port a TCP
// one; the other families HAProxy knows have no counterpart here.
func socketAddress(s *config.StatsSocket, addr string) error {
	switch {
	case strings.HasPrefix(addr, "unix@"):
		s.Path = strings.TrimPrefix(addr, "unix@")
	case strings.HasPrefix(addr, "ipv4@"):
		s.Net, s.Path = "tcp4", strings.TrimPrefix(addr, "ipv4@")
	case strings.HasPrefix(addr, "ipv6@"):
		s.Net, s.Path = "tcp6", strings.TrimPrefix(addr, "ipv6@")
	case strings.Contains(addr, "@"):
		return fmt.Errorf("'stats socket' : address family of '%s' is not supported; use a unix socket path, ipv4@ or ipv6@", addr)
	case strings.HasPrefix(addr, "/") || !strings.Contains(addr, ":"):
		s.Path = addr
	default:
		s.Net, s.Path = "tcp", addr
	}
	if s.Path == "" {
		return fmt.Errorf("'stats socket' expects a path or an address")
	}
	if s.Net == "" {
		return nil
	}
	hp, err := splitHostPort(s.Path, true)
	if err != nil {
		return fmt.Errorf("'stats socket' : %v", err)
	}
	if hp.Port == 0 {
		return fmt.Errorf("'stats socket' : invalid port in '%s'", addr)
	}
	s.Path = net.JoinHostPort(hp.Host, strconv.Itoa(hp.Port))
	return nil
}

func socketOption(p *parser, s *config.StatsSocket, opt, val string) error {
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
	case "uid", "gid":
		n, err := strconv.ParseUint(val, 10, 31)
		if err != nil {
			return fmt.Errorf("'stats socket' : '%s' expects a numeric ID, got '%s'", opt, val)
		}
		id := int(n)
		if opt == "uid" {
			s.UID = &id
		} else {
			s.GID = &id
		}
	case "user":
		lookup := p.opt.LookupUser
		if lookup == nil {
			lookup = LookupUserID
		}
		id, err := lookup(val)
		if err != nil {
			return fmt.Errorf("'stats socket' : unknown user '%s' in 'user' (%v)", val, err)
		}
		s.UID = &id
	case "group":
		lookup := p.opt.LookupGroup
		if lookup == nil {
			lookup = LookupGroupID
		}
		id, err := lookup(val)
		if err != nil {
			return fmt.Errorf("'stats socket' : unknown group '%s' in 'group' (%v)", val, err)
		}
		s.GID = &id
	case "expose-fd":
		if val != "listeners" {
			return fmt.Errorf("'stats socket' : 'expose-fd' only supports 'listeners' (got '%s')", val)
		}
		// What it is for, listening sockets surviving a reload, is how
		// Gatehouse reloads anyway: a notice, not a warning.
		p.infof("NOTICE", "'stats socket' : 'expose-fd listeners' is implied in Gatehouse: reload is in process, listening sockets stay open.")
	default:
		if best := bestMatch(opt, socketOpts); best != "" {
			return fmt.Errorf("'stats socket' : unknown keyword '%s'. Did you mean '%s' maybe ?", opt, best)
		}
		return fmt.Errorf("'stats socket' : unknown keyword '%s'; Gatehouse supports '%s'", opt, strings.Join(socketOpts, "', '"))
	}
	return nil
}
