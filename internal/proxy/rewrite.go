package proxy

import "github.com/gatehouse/gatehouse/internal/httpmsg"

// rewriteRequestLine applies the rules that change the request line:
// set-method, set-path, set-pathq, set-query, set-uri and the regex
// replace-path, replace-pathq and replace-uri. It reports false when the
// result is not a request line the codecs would accept; the caller then
// answers 500, as HAProxy's strict mode does with a failed rewrite.
func (t *Txn) rewriteRequestLine(r *Rule) bool {
	t.keepRequestLine()
	switch r.Kind {
	case RuleSetMethod:
		m := t.evalFormat(r.Value)
		if !isToken(m) {
			return false
		}
		if t.acl.ParsedMethod == "" {
			t.acl.ParsedMethod = t.Req.Method
		}
		t.Req.Method = m
		return validTarget(m, t.Req.URI)
	case RuleReplacePath, RuleReplacePathQ, RuleReplaceURI:
		tg, _ := httpmsg.ParseTarget(t.Req.URI)
		subject, kind := t.Req.URI, RuleSetURI
		switch r.Kind {
		case RuleReplacePath:
			subject, kind = tg.Path, RuleSetPath
		case RuleReplacePathQ:
			subject, kind = tg.PathQuery, RuleSetPathQ
		}
		if subject == "" {
			return true // no path: nothing to match, as in HAProxy
		}
		m := r.Regex.FindStringSubmatchIndex(subject)
		if m == nil {
			return true
		}
		tmpl := t.evalFormat(r.Value)
		start := len(t.arena)
		t.arena = expReplace(t.arena, subject, tmpl, m)
		return t.rewriteTarget(&Rule{Kind: kind}, unsafeString(t.arena[start:]))
	}
	return t.rewriteTarget(r, t.evalFormat(r.Value))
}

// keepRequestLine keeps the request line as received for the logs (as
// HAProxy's captured one) before the first change to it.
func (t *Txn) keepRequestLine() {
	if t.log.ReqMethod == "" {
		t.log.ReqMethod, t.log.ReqURI = t.Req.Method, t.Req.URI
	}
}

// expReplace appends tmpl to dst with HAProxy's exp_replace escapes: \N
// (a digit) is group N of the match m in src (nothing when the group did
// not take part), \xHH the byte HH, and a backslash before any other
// character that character.
func expReplace(dst []byte, src, tmpl string, m []int) []byte {
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '\\' || i+1 >= len(tmpl) {
			dst = append(dst, c)
			continue
		}
		i++
		switch c = tmpl[i]; {
		case c >= '0' && c <= '9':
			n := int(c - '0')
			if 2*n+1 < len(m) && m[2*n] >= 0 && m[2*n+1] >= 0 {
				dst = append(dst, src[m[2*n]:m[2*n+1]]...)
			}
		case c == 'x' && i+2 < len(tmpl) && isHex(tmpl[i+1]) && isHex(tmpl[i+2]):
			dst = append(dst, unhex(tmpl[i+1])<<4|unhex(tmpl[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isToken reports whether s is a non-empty HTTP token (RFC 9110 §5.6.2),
// what a method must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c < 0x80 && c > 0x20 && indexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
