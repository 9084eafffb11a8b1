package http1

// Byte classes as lookup tables: one load per byte beats a chain of
// comparisons in the hot loops.
const (
	cToken = 1 << iota // tchar (RFC 9110 §5.6.2)
	cValue             // field-vchar, SP or HTAB (RFC 9110 §5.5)
	cURI               // allowed in a request-target: VCHAR except '#'
	cHost              // allowed in a Host / authority
	// cURIInvalid: what "option accept-invalid-http-request" adds to a
	// request-target, as HAProxy 2.6's parser: '#' and bytes 0x80-0xff.
	// Controls, space and DEL stay refused.
	cURIInvalid
)

var charClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c >= 0x21 && c <= 0x7e || c >= 0x80 || c == ' ' || c == '\t' {
			t[c] |= cValue
		}
		if c >= 0x21 && c <= 0x7e && c != '#' {
			t[c] |= cURI
		}
		if c >= 0x21 && c <= 0x7e || c >= 0x80 {
			t[c] |= cURIInvalid
		}
		if isAlnum(byte(c)) {
			t[c] |= cToken | cHost
		}
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] |= cToken
	}
	for _, c := range "-._~!$&'()*+,;=:[]%" {
		t[c] |= cHost
	}
	return t
}()

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// allClass reports whether every byte of b has class c.
func allClass(b []byte, c uint8) bool {
	for _, x := range b {
		if charClass[x]&c == 0 {
			return false
		}
	}
	return true
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func trimOWSString(s string) string {
	for len(s) > 0 && isOWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// lower is ASCII-only case folding.
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// eqFold compares b with the lower-case ASCII string s, ignoring case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// eqFoldStr is eqFold for strings.
func eqFoldStr(a, s string) bool {
	if len(a) != len(s) {
		return false
	}
	for i := range len(a) {
		if lower(a[i]) != s[i] {
			return false
		}
	}
	return true
}
