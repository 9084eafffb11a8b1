package http1

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// PrepareRequestFields gives a request's fields the form HAProxy 2.6's
// rules see: the Connection options close and keep-alive are consumed
// (a Connection left empty goes), the connection-specific fields of the
// fixed list (Connection, Keep-Alive, Proxy-Connection, TE,
// Transfer-Encoding, Upgrade) stay until StripFixedHopByHop after the
// rules, so "hdr(upgrade) -i websocket" matches. Other fields a
// Connection names go now: removing them after the rules would let a
// client delete a field a rule sets (e.g. an identity header).
func PrepareRequestFields(h *httpmsg.Headers) {
	s := *h
	var conn [4]string
	named := conn[:0]
	for i := range s {
		if eqFoldStr(s[i].Name, "connection") {
			named = append(named, s[i].Value)
		}
	}
	if len(named) == 0 {
		return
	}
	j := 0
	for i := range s {
		f := s[i]
		if eqFoldStr(f.Name, "connection") {
			if f.Value = dropConnOptions(f.Value); f.Value == "" {
				continue
			}
		} else if !isHopByHop(f.Name) && namedIn(named, f.Name) {
			continue
		}
		s[j] = f
		j++
	}
	clear(s[j:])
	*h = s[:j]
}

// DropConnectionOptions consumes the close and keep-alive options of a
// message's Connection fields (a field left empty goes), as HAProxy's
// parser does before any rule sees the message: for a response, the
// http-response rules.
func DropConnectionOptions(h *httpmsg.Headers) {
	s := *h
	j := 0
	for i := range s {
		f := s[i]
		if eqFoldStr(f.Name, "connection") {
			if f.Value = dropConnOptions(f.Value); f.Value == "" {
				continue
			}
		}
		s[j] = f
		j++
	}
	clear(s[j:])
	*h = s[:j]
}

// dropConnOptions removes the close and keep-alive options from a
// Connection value, as HAProxy's parser does ("close, X-Foo": "X-Foo").
func dropConnOptions(v string) string {
	has := false
	for rest := v; rest != ""; {
		var el string
		el, rest, _ = strings.Cut(rest, ",")
		if el = trimOWSString(el); eqFoldStr(el, "close") || eqFoldStr(el, "keep-alive") || el == "" {
			has = true
			break
		}
	}
	if !has {
		return v
	}
	var b strings.Builder
	for rest := v; rest != ""; {
		var el string
		el, rest, _ = strings.Cut(rest, ",")
		if el = trimOWSString(el); eqFoldStr(el, "close") || eqFoldStr(el, "keep-alive") || el == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(el)
	}
	return b.String()
}

// StripFixedHopByHop removes the fixed list of connection-specific
// fields (not those a Connection names: PrepareRequestFields removed the
// client's before the rules).
func StripFixedHopByHop(h *httpmsg.Headers) {
	s := *h
	j := 0
	for i := range s {
		if isHopByHop(s[i].Name) {
			continue
		}
		s[j] = s[i]
		j++
	}
	clear(s[j:])
	*h = s[:j]
}
