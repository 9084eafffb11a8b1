// Package httpcomp is HTTP response compression as HAProxy 2.6's
// compression filter does it: which algorithm a request accepts, whether a
// response may be compressed, the head a compressed response gets, and
// streaming encoders that never hold more than a buffer of a body.
package httpcomp

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Algo is a compression algorithm of "compression algo".
type Algo uint8

const (
	None Algo = iota
	Identity
	Deflate    // zlib format (RFC 1950), "Content-Encoding: deflate"
	RawDeflate // raw deflate (RFC 1951), also announced as "deflate"
	Gzip
)

var algoNames = [...]string{None: "", Identity: "identity", Deflate: "deflate", RawDeflate: "raw-deflate", Gzip: "gzip"}

// ParseAlgo reads a configuration name.
func ParseAlgo(name string) (Algo, bool) {
	for a, n := range algoNames {
		if a != int(None) && n == name {
			return Algo(a), true
		}
	}
	return None, false
}

// Names lists the configuration names, for messages and the reference.
func Names() []string { return algoNames[1:] }

// String is the configuration name.
func (a Algo) String() string { return algoNames[a] }

// Token is the content-coding the algorithm answers to in Accept-Encoding
// and announces in Content-Encoding (raw-deflate is "deflate").
func (a Algo) Token() string {
	if a == RawDeflate {
		return "deflate"
	}
	return algoNames[a]
}

// Negotiate chooses the algorithm for a request among algos (in HAProxy's
// preference order: the last one configured first). matched reports a
// choice made from Accept-Encoding, after which "compression offload"
// removes that header; an implicit identity is not such a choice. It is
// select_compression_request_header of HAProxy 2.6: per element of every
// Accept-Encoding header, the first algorithm whose token matches (any for
// "*") is taken when the element's q-value beats the best so far, so q=0
// never selects and the first of equal q-values wins. Old "Mozilla/4"
// clients other than MSIE 6 SP2 and later get nothing.
func Negotiate(h httpmsg.Headers, algos []Algo) (algo Algo, matched bool) {
	if len(algos) == 0 {
		return None, false
	}
	if ua, ok := h.Get("User-Agent"); ok && oldMozilla(trimLWS(ua)) {
		return None, false
	}
	best := 0
	for i := range h {
		if !strings.EqualFold(h[i].Name, "Accept-Encoding") {
			continue
		}
		for v := range elements(h[i].Value) {
			tok := v[:tokenLen(v)]
			q := qvalue(v[len(tok):])
			if q <= best {
				continue
			}
			for _, a := range algos {
				if strings.HasPrefix(v, "*") || strings.EqualFold(tok, a.Token()) {
					algo, best = a, q
					break
				}
			}
		}
	}
	if algo != None {
		return algo, true
	}
	for _, a := range algos {
		if a == Identity {
			return Identity, false // identity is implicit: it needs no header
		}
	}
	return None, false
}

// oldMozilla reports a User-Agent HAProxy refuses to compress for:
// "Mozilla/4" unless it is MSIE 7 and later or MSIE 6 with XP SP2, by the
// fixed offsets HAProxy checks.
func oldMozilla(ua string) bool {
	if len(ua) < 9 || ua[:9] != "Mozilla/4" {
		return false
	}
	return len(ua) < 31 || ua[25:30] != "MSIE " || ua[30] < '6' ||
		ua[30] == '6' && (len(ua) < 54 || ua[51:54] != "SV1")
}

// elements yields the comma-separated elements of a header value as
// HAProxy's http_find_header splits them: commas inside quoted strings do
// not split, and each element is trimmed of linear white space.
func elements(v string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for {
			v = trimLeftLWS(v)
			end := valueEnd(v)
			if !yield(trimRightLWS(v[:end])) || end == len(v) {
				return
			}
			v = v[end+1:]
		}
	}
}

// valueEnd is the index of the comma ending the first element of v (len(v)
// when none), skipping quoted strings and their escapes.
func valueEnd(v string) int {
	quoted, pair := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case pair:
			pair = false
		case quoted:
			if c == '\\' {
				pair = true
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == ',':
			return i
		}
	}
	return len(v)
}

// qvalue finds the first "q=" parameter after an element's token, as
// HAProxy does (case-sensitive "q=", parameters separated by ';'), and
// returns it in thousandths; no q parameter is 1000.
func qvalue(p string) int {
	for {
		p = trimLeftLWS(p)
		if p == "" || p[0] != ';' {
			return 1000
		}
		p = trimLeftLWS(p[1:])
		if p == "" {
			return 1000
		}
		// HAProxy compares at most the two bytes left: a lone "q" at
		// the end counts as "q=" followed by nothing.
		if n := min(len(p), 2); p[:n] == "q="[:n] {
			if n < 2 {
				return 1000
			}
			return parseQ(p[2:])
		}
		i := strings.IndexByte(p, ';')
		if i < 0 {
			return 1000
		}
		p = p[i:]
	}
}

// parseQ is http_parse_qvalue: a digit, then '.' and up to three digits;
// anything unexpected ends it with what was read so far (1000 when not
// even the first digit is there); capped at 1000.
func parseQ(s string) int {
	if s == "" || !isDigit(s[0]) {
		return 1000
	}
	q := int(s[0]-'0') * 1000
	if len(s) > 1 && s[1] == '.' {
		mul := 100
		for i := 2; i < len(s) && i < 5 && isDigit(s[i]); i++ {
			q += int(s[i]-'0') * mul
			mul /= 10
		}
	}
	return min(q, 1000)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// tokenLen is the length of the RFC 9110 token at the start of v.
func tokenLen(v string) int {
	for i := 0; i < len(v); i++ {
		if !isTchar(v[i]) {
			return i
		}
	}
	return len(v)
}

func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trimLeftLWS(s string) string {
	for len(s) > 0 && isLWS(s[0]) {
		s = s[1:]
	}
	return s
}

func trimRightLWS(s string) string {
	for len(s) > 0 && isLWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func trimLWS(s string) string { return trimRightLWS(trimLeftLWS(s)) }
