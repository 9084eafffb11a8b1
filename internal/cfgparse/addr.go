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

// envExpand expands environment variables in an address as HAProxy's
// env_expand does for every address it parses (bind, server, log,
// nameserver), quoted or not: "$NAME" or "${NAME}", the name being letters,
// digits and '_'; an unset variable (or a '$' without a name) gives
// nothing; anything after the name that is not the closing brace stays, so
// "${A-x}" is A's value followed by "-x}".
func envExpand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		j := i + 1
		brace := j < len(s) && s[j] == '{'
		if brace {
			j++
		}
		start := j
		for j < len(s) && (isEnvChar(s[j], false)) {
			j++
		}
		if v, ok := lookup(s[start:j]); ok && j > start {
			b.WriteString(v)
		}
		if brace && j < len(s) && s[j] == '}' {
			j++
		}
		i = j - 1
	}
	return b.String()
}
