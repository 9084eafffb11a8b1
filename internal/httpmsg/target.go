package httpmsg

import (
	"errors"
	"strings"
)

// Form is the shape of a request-target (RFC 9112 §3.2).
type Form uint8

const (
	FormInvalid   Form = iota
	FormOrigin         // "/path?query"
	FormAbsolute       // "scheme://authority/path?query"
	FormAuthority      // "host:port", for CONNECT
	FormAsterisk       // "*", for OPTIONS
)

// Errors of ParseTarget. Codecs answer 400 to each.
var (
	ErrTarget         = errors.New("invalid request-target")
	ErrUserinfo       = errors.New("userinfo in request-target")
	ErrEmptyAuthority = errors.New("empty authority in request-target")
)

// Target is a request-target split into its parts. The strings alias the
// parsed one.
type Target struct {
	Form Form
	// Scheme is the scheme of an absolute-form target as received (schemes
	// compare case-insensitively).
	Scheme string
	// Authority is host[:port] of an absolute-form or authority-form target.
	Authority string
	// Path runs from the first byte after the authority (origin-form: the
	// first byte) to before the first '?'. An absolute-form target may have
	// an empty path (and then no query), which means "/" (RFC 9112 §3.2.1).
	Path string
	// Query follows the first '?'; HasQuery tells "/p?" from "/p".
	Query    string
	HasQuery bool
	// PathQuery is Path and, with its '?', Query: the target without
	// scheme and authority, as received.
	PathQuery string
}

// ParseTarget parses a request-target the one way every part of the proxy
// must agree on: what rules match, what identity decides on and what an
// upstream receives come from this split. Strict: only the four forms of
// RFC 9112 §3.2, bytes of VCHAR except '#' (no fragment), an absolute-form
// scheme made of scheme characters only, a non-empty authority without
// userinfo followed by "/" or nothing, and an authority-form with a port.
// Anything else is an error, never reinterpreted.
func ParseTarget(s string) (Target, error) { return parseTarget(s, false) }

// ParseTargetInvalid is ParseTarget for "option accept-invalid-http-request":
// the path and query may also hold '#' and bytes 0x80-0xff, as HAProxy 2.6
// then admits them.
func ParseTargetInvalid(s string) (Target, error) { return parseTarget(s, true) }

// SplitTarget is the split of a target a parser admitted, by ParseTarget or
// ParseTargetInvalid; invalid targets give a Target of FormInvalid.
func SplitTarget(s string) Target {
	t, err := parseTarget(s, false)
	if err != nil {
		t, _ = parseTarget(s, true)
	}
	return t
}

func parseTarget(s string, lax bool) (Target, error) {
	if s == "" {
		return Target{}, ErrTarget
	}
	switch {
	case s[0] == '/':
		if !allTarget(s, lax) {
			return Target{}, ErrTarget
		}
		t := Target{Form: FormOrigin}
		t.splitPathQuery(s)
		return t, nil
	case s == "*":
		return Target{Form: FormAsterisk}, nil
	}
	if n := schemeLen(s); n > 0 && len(s) >= n+3 && s[n:n+3] == "://" {
		rest := s[n+3:]
		end := 0
		for end < len(rest) && rest[end] != '/' && rest[end] != '?' {
			end++
		}
		auth := rest[:end]
		switch {
		case auth == "":
			return Target{}, ErrEmptyAuthority
		case strings.IndexByte(auth, '@') >= 0:
			return Target{}, ErrUserinfo
		case !allHost(auth) || !allTarget(rest[end:], lax):
			return Target{}, ErrTarget
		case end < len(rest) && rest[end] != '/':
			// "http://h?q": a query without a path, which HAProxy refuses
			// too; only "http://h" stands for "/".
			return Target{}, ErrTarget
		}
		t := Target{Form: FormAbsolute, Scheme: s[:n], Authority: auth}
		t.splitPathQuery(rest[end:])
		return t, nil
	}
	// authority-form: host ":" port, nothing else.
	if _, _, ok := SplitAuthority(s); ok {
		return Target{Form: FormAuthority, Authority: s}, nil
	}
	return Target{}, ErrTarget
}

func (t *Target) splitPathQuery(s string) {
	t.PathQuery = s
	if i := strings.IndexByte(s, '?'); i >= 0 {
		t.Path, t.Query, t.HasQuery = s[:i], s[i+1:], true
		return
	}
	t.Path = s
}

// OriginForm returns the target as it is sent in origin-form (RFC 9112
// §3.2.1), e.g. as HTTP/2's :path: PathQuery, "/" for an empty path.
// ok is false for authority-form, asterisk-form and invalid targets.
func (t *Target) OriginForm() (s string, ok bool) {
	if t.Form != FormOrigin && t.Form != FormAbsolute {
		return "", false
	}
	if t.Path == "" {
		return "/", true // "http://h"
	}
	return t.PathQuery, true
}

// schemeLen returns the length of the scheme at the start of s (ALPHA
// *( ALPHA / DIGIT / "+" / "-" / "." )), 0 when s does not start with one.
func schemeLen(s string) int {
	if !isAlpha(s[0]) {
		return 0
	}
	i := 1
	for i < len(s) && (isAlpha(s[i]) || isDigit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.') {
		i++
	}
	return i
}

// allTarget: VCHAR except '#', the bytes a request-target may hold.
func allTarget(s string, lax bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '#' {
			if !lax || c < 0x21 || c == 0x7f {
				return false
			}
		}
	}
	return true
}

// allHost: the bytes of a host[:port] (reg-name, IP literal, port).
func allHost(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) {
			continue
		}
		switch c {
		case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '[', ']', '%':
			continue
		}
		return false
	}
	return true
}

// SplitAuthority splits a target in authority-form (RFC 9112 §3.2.3:
// uri-host ":" port, as CONNECT sends it) and validates both parts: a
// bracketed IPv6 literal or a reg-name (no userinfo, no second colon, valid
// percent-escapes), and a port in 1..65535 without sign or leading junk.
func SplitAuthority(u string) (host, port string, ok bool) {
	i := strings.LastIndexByte(u, ':')
	if i <= 0 {
		return "", "", false
	}
	host, port = u[:i], u[i+1:]
	if len(port) == 0 || len(port) > 5 {
		return "", "", false
	}
	n := 0
	for j := 0; j < len(port); j++ {
		if !isDigit(port[j]) {
			return "", "", false
		}
		n = n*10 + int(port[j]-'0')
	}
	if n == 0 || n > 65535 {
		return "", "", false
	}
	if host[0] == '[' {
		if len(host) < 4 || host[len(host)-1] != ']' {
			return "", "", false
		}
		for j := 1; j < len(host)-1; j++ {
			if c := host[j]; !isHex(c) && c != ':' && c != '.' {
				return "", "", false
			}
		}
		return host, port, true
	}
	for j := 0; j < len(host); j++ {
		switch c := host[j]; {
		case c == '%':
			if j+2 >= len(host) || !isHex(host[j+1]) || !isHex(host[j+2]) {
				return "", "", false
			}
		case c == ':' || c == '[' || c == ']' || !allHost(host[j:j+1]):
			return "", "", false
		}
	}
	return host, port, true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
