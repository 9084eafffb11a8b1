package http1

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// StripHopByHop removes the fields that describe one connection only (RFC
// 9110 §7.6.1): Connection, Keep-Alive, Proxy-Connection, TE,
// Transfer-Encoding, Upgrade and every field named in Connection. Trailer
// and Proxy-Authenticate are kept. The proxy re-adds Transfer-Encoding or
// Content-Length for the body it sends, and Upgrade/Connection for upgrades.
//
// Host and Content-Length are never removed even when Connection names them:
// letting a client delete routing or framing fields through Connection is a
// known abuse (e.g. "Connection: Content-Length").
func StripHopByHop(h *httpmsg.Headers) {
	s := *h
	// Remember the Connection values first: compaction below may overwrite
	// them. A small array avoids allocating in the common case.
	var conn [4]string
	named := conn[:0]
	for i := range s {
		if eqFoldStr(s[i].Name, "connection") {
			named = append(named, s[i].Value)
		}
	}
	j := 0
	for i := range s {
		if isHopByHop(s[i].Name) || namedIn(named, s[i].Name) {
			continue
		}
		s[j] = s[i]
		j++
	}
	clear(s[j:])
	*h = s[:j]
}

// IsHopByHop reports the connection-specific fields StripHopByHop always
// removes (not those a Connection field names).
func IsHopByHop(name string) bool { return isHopByHop(name) }

func isHopByHop(name string) bool {
	switch len(name) {
	case 2:
		return eqFoldStr(name, "te")
	case 7:
		return eqFoldStr(name, "upgrade")
	case 10:
		return eqFoldStr(name, "connection") || eqFoldStr(name, "keep-alive")
	case 16:
		return eqFoldStr(name, "proxy-connection")
	case 17:
		return eqFoldStr(name, "transfer-encoding")
	}
	return false
}

func namedIn(connValues []string, name string) bool {
	if eqFoldStr(name, "host") || eqFoldStr(name, "content-length") {
		return false
	}
	for _, v := range connValues {
		for v != "" {
			el, rest, _ := strings.Cut(v, ",")
			v = rest
			if strings.EqualFold(trimOWSString(el), name) {
				return true
			}
		}
	}
	return false
}
