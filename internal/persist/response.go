package persist

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Response is what the response side needs to know of the transaction.
type Response struct {
	Now int64 // Unix time
	// Server is true when a server answered; Value is its cookie value
	// ("" when it has none: the client's cookie is then cleared).
	Server bool
	Value  string
	Method string
	Status int
}

// Response rewrites the server's Set-Cookie headers for the persistence
// cookie and inserts it when needed, after the http-response rules, as
// HAProxy 2.6's http_manage_server_side_cookies and
// http_process_res_common do. Only a server's final (or 101) response
// comes here.
func (c *Cookie) Response(h *httpmsg.Headers, st *State, r Response) {
	out := (*h)[:0]
	for _, f := range *h {
		if !strings.EqualFold(f.Name, "Set-Cookie") {
			out = append(out, f)
			continue
		}
		v, keep := c.setCookie(f.Value, st, r)
		if keep {
			f.Value = v
			out = append(out, f)
		}
	}
	clear((*h)[len(out):])
	*h = out

	if !r.Server || c.Mode != Insert || (st.Resp == RespPassed && c.Preserve) || st.Ignore {
		return
	}
	if c.PostOnly && r.Method != "POST" {
		return
	}
	// Inserted when the client's cookie did not bring it here, or its
	// dates need to be set, refreshed or dropped.
	refresh := (c.MaxIdle != 0 || st.last != 0) && (st.last == 0 || int32(int64(st.last)-r.Now) < 0)
	if st.Direct && !refresh && !(c.MaxLife != 0 && st.first == 0) && !(c.MaxLife == 0 && st.first != 0) {
		return
	}
	var b strings.Builder
	b.WriteString(c.Name)
	if r.Value == "" {
		// A server without a cookie (a backup) clears the client's.
		b.WriteString("=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/")
	} else {
		b.WriteString("=" + r.Value)
		if c.MaxIdle != 0 || c.MaxLife != 0 {
			var d [5]byte
			b.WriteByte(dateDelim)
			b.Write(s30ToB64(&d, int32((r.Now+3)>>2)))
			if c.MaxLife != 0 {
				first := int32((r.Now + 3) >> 2)
				if st.first != 0 {
					first = int32(st.first >> 2)
				}
				b.WriteByte(dateDelim)
				b.Write(s30ToB64(&d, first))
			}
		}
		b.WriteString("; path=/")
	}
	b.WriteString(c.attrs)
	h.Add("Set-Cookie", b.String())
	if r.Value != "" && st.Direct {
		st.Resp = RespUpdated
	} else {
		st.Resp = RespInserted
	}
	if c.NoCache && cacheable(*h, r) {
		// An HTTP/1.0 cache would keep the cookie with the page.
		h.Add("Cache-control", "private")
	}
}

// setCookie handles one Set-Cookie header: only its first cookie counts
// (the attributes follow it).
func (c *Cookie) setCookie(v string, st *State, r Response) (out string, keep bool) {
	b := []byte(v)
	hdrEnd := len(b)
	attBeg := 0
	for attBeg < hdrEnd && isSPHT(b[attBeg]) {
		attBeg++
	}
	equal, attEnd := attBeg, attBeg
	for equal < hdrEnd {
		ch := b[equal]
		if ch == '=' || ch == ';' {
			break
		}
		equal++
		if !isSPHT(ch) {
			attEnd = equal
		}
	}
	if equal >= hdrEnd || b[equal] != '=' {
		return v, true // no '=': not a cookie anyone handles
	}
	valBeg := equal + 1
	for valBeg < hdrEnd && isSPHT(b[valBeg]) {
		valBeg++
	}
	next := cookieValueEnd(b, valBeg, hdrEnd)
	valEnd := next
	for valEnd > valBeg && isSPHT(b[valEnd-1]) {
		valEnd--
	}
	if attEnd != equal || valBeg > equal+1 {
		stripped := 0
		if attEnd != equal {
			copy(b[attEnd:], b[equal:hdrEnd])
			stripped = attEnd - equal
			equal += stripped
			valBeg += stripped
		}
		if valBeg > equal+1 {
			copy(b[equal+1:], b[valBeg:hdrEnd+stripped])
			after := equal + 1 - valBeg
			valBeg += after
			stripped += after
		}
		valEnd += stripped
		hdrEnd += stripped
		b = b[:hdrEnd]
	}
	if st.Ignore || attEnd-attBeg != len(c.Name) || string(b[attBeg:attEnd]) != c.Name {
		return string(b), true
	}
	st.Resp = RespPassed
	switch {
	case c.Preserve:
		// The server manages the cookie itself (a logout clears it).
	case (r.Server && c.Mode == Insert) || (st.Direct && c.Indirect):
		st.Resp = RespDeleted
		return "", false
	case r.Server && r.Value != "" && c.Mode == Rewrite:
		st.Resp = RespRewrote
		return string(b[:valBeg]) + r.Value + string(b[valEnd:]), true
	case r.Server && r.Value != "" && c.Mode == Prefix:
		st.Resp = RespRewrote
		return string(b[:valBeg]) + r.Value + string(prefixDelim) + string(b[valBeg:]), true
	}
	return string(b), true
}

// cacheable is HAProxy 2.6's idea of a response a shared cache may keep,
// for "nocache": a safe method, a status cacheable by default, no Pragma:
// no-cache or Cache-Control saying otherwise, and an explicit lifetime
// (max-age, s-maxage, Expires) or a validator (ETag, Last-Modified).
func cacheable(h httpmsg.Headers, r Response) bool {
	ok := false
	switch r.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		ok = true
	}
	switch r.Status {
	case 200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501:
	default:
		ok = false
	}
	if p, found := h.Get("Pragma"); found && strings.EqualFold(p, "no-cache") {
		return false
	}
	fresh := false
	for _, f := range h {
		if !strings.EqualFold(f.Name, "Cache-Control") {
			continue
		}
		for _, v := range strings.Split(f.Value, ",") {
			v = strings.Trim(v, " \t")
			switch {
			case strings.EqualFold(v, "public"):
				ok = true
			case strings.EqualFold(v, "private"), strings.EqualFold(v, "no-cache"), strings.EqualFold(v, "no-store"),
				strings.EqualFold(v, "max-age=0"), strings.EqualFold(v, "s-maxage=0"):
				ok = false
			case hasPrefixFold(v, "s-maxage"), hasPrefixFold(v, "max-age"):
				fresh = true
			}
		}
	}
	if !fresh && !h.Has("Expires") && !h.Has("ETag") && !h.Has("Last-Modified") {
		return false
	}
	return ok
}

func hasPrefixFold(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }
