package cfgparse

import (
	"fmt"
	"strings"
)

// hostPort is one parsed "[host]:port" address.
type hostPort struct {
	Host string // "" for any address
	Port int    // 0 when absent and allowed
}

// splitHostPort splits "host:port", "[v6]:port", ":port", "*:port" or
// ":::port" (IPv6 any). portRequired reports a missing port; otherwise a
// missing port is 0.
func splitHostPort(s string, portRequired bool) (hostPort, error) {
	if strings.Contains(s, "@") {
		return hostPort{}, fmt.Errorf("address prefixes such as '%s' are not supported by Gatehouse", s[:strings.Index(s, "@")+1])
	}
	if strings.HasPrefix(s, "/") {
		return hostPort{}, fmt.Errorf("UNIX socket addresses ('%s') are not supported by Gatehouse", s)
	}
	var host, port string
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return hostPort{}, fmt.Errorf("missing ']' in address '%s'", s)
		}
		host, port = s[1:end], strings.TrimPrefix(s[end+1:], ":")
		if rest := s[end+1:]; rest != "" && !strings.HasPrefix(rest, ":") {
			return hostPort{}, fmt.Errorf("unexpected '%s' after ']' in address '%s'", rest, s)
		}
	case strings.Contains(s, ":"):
		i := strings.LastIndexByte(s, ':')
		host, port = s[:i], s[i+1:]
	default:
		host = s
	}
	if host == "*" {
		host = ""
	}
	hp := hostPort{Host: host}
	if port == "" {
		if portRequired {
			return hostPort{}, fmt.Errorf("missing port number in '%s'", s)
		}
		return hp, nil
	}
	if strings.ContainsAny(port, "+-") {
		return hostPort{}, fmt.Errorf("port offsets and ranges ('%s') are not supported by Gatehouse", port)
	}
	n, err := parsePort("port", port)
	if err != nil {
		return hostPort{}, fmt.Errorf("invalid port '%s' in address '%s'", port, s)
	}
	hp.Port = n
	return hp, nil
}
