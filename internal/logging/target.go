package logging

import (
	"fmt"
	"io"
	"net"
	"strings"
)

// targetKind is where a "log" line sends messages.
type targetKind uint8

const (
	targetStdout targetKind = iota
	targetStderr
	targetUDP      // syslog over UDP
	targetUnixgram // local syslog socket (/dev/log)
	targetRing     // a "ring" section's buffer (ring.go)
)

// DefaultSyslogPort is used when a network target has no port.
const DefaultSyslogPort = "514"

// targetAddr is a parsed "log" target.
type targetAddr struct {
	kind    targetKind
	network string // "udp", "udp4", "udp6", "unixgram"
	addr    string // host:port or socket path
}

// parseTarget understands the target forms of HAProxy's "log" keyword:
// stdout, stderr, fd@1, fd@2, udp@/udp4@/udp6@/ipv4@/ipv6@ADDR[:PORT],
// ADDR[:PORT], [IPv6]:PORT, unix@PATH and /PATH (a unix datagram socket,
// e.g. /dev/log). The port defaults to 514.
func parseTarget(s string) (targetAddr, error) {
	switch s {
	case "stdout", "fd@1":
		return targetAddr{kind: targetStdout}, nil
	case "stderr", "fd@2":
		return targetAddr{kind: targetStderr}, nil
	case "":
		return targetAddr{}, fmt.Errorf("missing log target")
	}
	if name, ok := strings.CutPrefix(s, "ring@"); ok {
		return targetAddr{kind: targetRing, addr: name}, nil
	}
	network := "udp"
	if i := strings.IndexByte(s, '@'); i >= 0 {
		switch s[:i] {
		case "udp", "ipv4", "ipv6", "udp4", "udp6":
			network = map[string]string{"udp": "udp", "ipv4": "udp4", "udp4": "udp4", "ipv6": "udp6", "udp6": "udp6"}[s[:i]]
		case "unix":
			return targetAddr{kind: targetUnixgram, network: "unixgram", addr: s[i+1:]}, nil
		default:
			return targetAddr{}, fmt.Errorf("unsupported log target family '%s@' in '%s' (supported: stdout, stderr, udp@, ipv4@, ipv6@, unix@, /path)", s[:i], s)
		}
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "/") {
		return targetAddr{kind: targetUnixgram, network: "unixgram", addr: s}, nil
	}
	host, port := s, DefaultSyslogPort
	switch {
	case strings.HasPrefix(s, "["):
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			if !strings.HasSuffix(s, "]") {
				return targetAddr{}, fmt.Errorf("invalid log target '%s'", s)
			}
			h = s[1 : len(s)-1]
		} else if p != "" {
			port = p
		}
		host = h
	case strings.Count(s, ":") >= 1:
		// HAProxy takes the port after the last colon, IPv6 included.
		i := strings.LastIndexByte(s, ':')
		host, port = s[:i], s[i+1:]
		if port == "" {
			port = DefaultSyslogPort
		}
	}
	if host == "" {
		return targetAddr{}, fmt.Errorf("missing address in log target '%s'", s)
	}
	return targetAddr{kind: targetUDP, network: network, addr: net.JoinHostPort(host, port)}, nil
}

// conn is a target's connection, owned by its drain goroutine.
type conn interface {
	io.Writer
	Close() error
}

// nopCloser wraps stdout/stderr, which a Logger must not close.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// dial opens the target. A unix socket that does not exist yet (syslogd not
// started) is retried on each message by the drain goroutine.
func (ta targetAddr) dial(o *Options) (conn, error) {
	switch ta.kind {
	case targetStdout:
		return nopCloser{o.Stdout}, nil
	case targetStderr:
		return nopCloser{o.Stderr}, nil
	case targetRing:
		return ringConn{o.Rings[ta.addr]}, nil
	case targetUDP:
		a, err := net.ResolveUDPAddr(ta.network, ta.addr)
		if err != nil {
			return nil, err
		}
		c, err := net.DialUDP(ta.network, nil, a)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return c, nil
	default:
		a := &net.UnixAddr{Name: ta.addr, Net: "unixgram"}
		c, err := net.DialUnix("unixgram", nil, a)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// ringConn writes a target's lines into its ring, without the newline
// that ends them: the ring's readers frame events themselves.
type ringConn struct{ r *Ring }

func (c ringConn) Write(line []byte) (int, error) {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	c.r.Write(line)
	return n, nil
}

func (ringConn) Close() error { return nil }
