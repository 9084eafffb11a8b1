package proxy

import (
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// normalizeURI applies "http-request normalize-uri" as HAProxy 2.6's
// http_action_normalize_uri: the path normalizers work on the path (the
// query stays), query-sort-by-name on the query, the percent and fragment
// ones on path and query together. It reports false when a strict
// percent normalizer met an invalid sequence (HAProxy answers 400).
func (t *Txn) normalizeURI(r *Rule) bool {
	tg, _ := httpmsg.ParseTarget(t.Req.URI)
	if tg.PathQuery == "" {
		return true // no path: nothing to do, as in HAProxy
	}
	t.keepRequestLine()
	var out string
	kind := RuleSetPathQ
	switch r.Name {
	case "path-merge-slashes":
		out, kind = mergeSlashes(tg.Path), RuleSetPath
	case "path-strip-dot":
		out, kind = stripDot(tg.Path), RuleSetPath
	case "path-strip-dotdot":
		out, kind = stripDotDot(tg.Path, r.On), RuleSetPath
	case "query-sort-by-name":
		if !tg.HasQuery {
			return true
		}
		out, kind = sortQuery(tg.Query), RuleSetQuery
	case "percent-decode-unreserved", "percent-to-uppercase":
		var ok bool
		if out, ok = percentNormalize(tg.PathQuery, r.Name == "percent-decode-unreserved", r.On); !ok {
			return false
		}
	case "fragment-strip":
		out, _, _ = strings.Cut(tg.PathQuery, "#")
	case "fragment-encode":
		out = strings.ReplaceAll(tg.PathQuery, "#", "%23")
	}
	uri := t.Req.URI
	if !t.rewriteTarget(&Rule{Kind: kind}, out) {
		t.Req.URI = uri // cannot happen with these normalizers; never leave a broken target
	}
	return true
}

func mergeSlashes(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		b.WriteByte(p[i])
		if p[i] == '/' {
			for i+1 < len(p) && p[i+1] == '/' {
				i++
			}
		}
	}
	return b.String()
}

// stripDot drops the "." segments (uri_normalizer_path_dot).
func stripDot(p string) string {
	var b strings.Builder
	for rest := p; rest != ""; {
		seg, after, found := strings.Cut(rest, "/")
		rest = after
		if seg == "." {
			continue
		}
		b.WriteString(seg)
		if found {
			b.WriteByte('/')
		}
	}
	return b.String()
}

// stripDotDot is uri_normalizer_path_dotdot: from the end, each "/../"
// removes the segment before it; unconsumed ones stay unless full.
func stripDotDot(p string, full bool) string {
	out := make([]byte, len(p)+4)
	head := len(out)
	off := len(p) - 1
	up := 0
	if off >= 2 && strings.HasPrefix(p[off-2:], "/..") {
		up++
		off -= 2
	}
	for off >= 0 {
		if off >= 3 && strings.HasPrefix(p[off-3:], "/../") {
			up++
			off -= 3
			continue
		}
		if up > 0 {
			off--
			if off >= 0 {
				up--
				for off >= 0 && p[off] != '/' {
					off--
				}
			}
		} else {
			head--
			out[head] = p[off]
			off--
			for off >= 0 && p[off] != '/' {
				head--
				out[head] = p[off]
				off--
			}
		}
	}
	prefix := ""
	if up > 0 {
		prefix = "/"
		if !full {
			prefix = strings.Repeat("/..", up) + "/"
		}
	}
	return prefix + string(out[head:])
}

// sortQuery sorts '&'-separated parameters by name, stably
// (uri_normalizer_query_sort; a trailing empty parameter is dropped, as
// there).
func sortQuery(q string) string {
	var params []string
	for rest := q; rest != ""; {
		var p string
		p, rest, _ = strings.Cut(rest, "&")
		params = append(params, p)
	}
	name := func(s string) string { n, _, _ := strings.Cut(s, "="); return n }
	sort.SliceStable(params, func(i, j int) bool { return name(params[i]) < name(params[j]) })
	return strings.Join(params, "&")
}

// percentNormalize decodes unreserved %XX sequences (decode) or uppercases
// their hex digits; strict refuses a '%' not followed by two hex digits.
func percentNormalize(s string, decode, strict bool) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			h1, h2 := s[i+1], s[i+2]
			i += 2
			if v := unhex(h1)<<4 | unhex(h2); decode && isUnreserved(v) {
				b.WriteByte(v)
			} else if decode {
				b.WriteByte('%')
				b.WriteByte(h1)
				b.WriteByte(h2)
			} else {
				b.WriteByte('%')
				b.WriteByte(upperHex(h1))
				b.WriteByte(upperHex(h2))
			}
			continue
		}
		if strict {
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

func isUnreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
