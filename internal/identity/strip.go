package identity

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// spoofable are the identity headers the edge may set, normalized (lower
// case, '-' for '_' and '.').
var spoofable = [...]string{
	"x-forwarded-user",
	"x-forwarded-email",
	"x-forwarded-groups",
	"x-forwarded-preferred-username",
	"x-forwarded-access-token",
}

// spoofPrefix covers oauth2-proxy's X-Auth-Request-* family.
const spoofPrefix = "x-auth-request-"

// IsSpoofable reports whether a client-sent header named name could pass for
// one the edge sets about identity. '_' and '.' count as '-' and case does
// not matter, because some servers fold them together.
func IsSpoofable(name string) bool {
	if len(name) < len("x-forwarded-user") {
		return false
	}
	if normEqualPrefix(name, spoofPrefix) {
		return true
	}
	for _, s := range spoofable {
		if len(s) == len(name) && normEqualPrefix(name, s) {
			return true
		}
	}
	return false
}

// normEqualPrefix reports whether normalized name starts with want (lower
// case, '-' separators).
func normEqualPrefix(name, want string) bool {
	if len(name) < len(want) {
		return false
	}
	for i := 0; i < len(want); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '.':
			c = '-'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

// StripCookies removes from h's Cookie fields every cookie of the families
// named (each NAME, NAME_<chunk>, NAME_st_<flow>): the edge's sessions and
// login flows, which never leave the edge. A Cookie field left empty is
// removed. Nothing is allocated unless a name occurs in a Cookie field.
func StripCookies(h *httpmsg.Headers, names []string) {
	for _, n := range names {
		removeCookies(h, n)
	}
}

// StripSetCookies removes from a server's response every Set-Cookie that
// would set one of the edge's own cookies (names and their "_" family): only
// the edge issues its session, so the mesh can neither fix nor clear one.
func StripSetCookies(h *httpmsg.Headers, names []string) {
	s := *h
	j := 0
	for i := range s {
		if strings.EqualFold(s[i].Name, "Set-Cookie") && setsOurCookie(s[i].Value, names) {
			continue
		}
		s[j] = s[i]
		j++
	}
	clear(s[j:])
	*h = s[:j]
}

func setsOurCookie(v string, names []string) bool {
	k, _, _ := strings.Cut(v, "=")
	k = strings.TrimSpace(k)
	for _, n := range names {
		if isOurCookie(k, n) {
			return true
		}
	}
	return false
}

// StripSpoofable removes every spoofable identity header from h, in place.
// It does not allocate.
func StripSpoofable(h *httpmsg.Headers) {
	s := *h
	j := 0
	for i := range s {
		if !IsSpoofable(s[i].Name) {
			s[j] = s[i]
			j++
		}
	}
	clear(s[j:])
	*h = s[:j]
}
