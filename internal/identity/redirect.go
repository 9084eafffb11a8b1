package identity

import "net/url"

// SafeRedirect returns target when it is a path on the same origin, and "/"
// otherwise. It refuses everything a browser could turn into another origin:
// scheme-relative "//host", "/\host" (browsers read '\' as '/'), any
// backslash, control characters and spaces (stripped by browsers, so "/\t/evil"
// becomes "//evil"), absolute URLs, and percent-encoded forms of those
// ("%2F%2Fevil", "/%5Cevil"), checked after decoding once more.
func SafeRedirect(target string) string {
	if safePath(target) {
		return target
	}
	return "/"
}

func safePath(s string) bool {
	if !safeShape(s) {
		return false
	}
	// Decode repeatedly: a server or browser may decode again.
	cur := s
	for range 3 {
		dec, err := url.PathUnescape(cur)
		if err != nil {
			return false
		}
		if dec == cur {
			break
		}
		if !safeDecoded(dec) {
			return false
		}
		cur = dec
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	return true
}

// safeShape checks the raw form: one leading '/', not followed by '/' or
// '\', no backslash, no control character or space anywhere.
func safeShape(s string) bool {
	if len(s) == 0 || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c == 0x7f || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// safeDecoded checks a decoded form: what a later decoder could see. Spaces
// and non-ASCII are fine there; a leading "//" or "/\", a backslash right
// after the slashes, and control characters are not.
func safeDecoded(s string) bool {
	if len(s) == 0 || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}
