package acl

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func httpFetches() []fetchDef {
	return []fetchDef{
		{name: "method", out: tStr, need: NeedReq, fn: fetchMethod, doc: "the request method"},
		{name: "path", out: tStr, need: NeedReq, fn: fetchPath, doc: "the path, from the first slash to before the question mark"},
		{name: "url", out: tStr, need: NeedReq, fn: fetchURL, doc: "the request-target as received"},
		{name: "query", out: tStr, need: NeedReq, fn: fetchQuery, doc: "the query string after the first '?'; nothing without '?'"},
		{name: "base", out: tStr, need: NeedReq, fn: fetchBase, doc: "the first Host header followed by the path"},
		{name: "req.ver", out: tStr, need: NeedReq, fn: fetchReqVer, doc: "the request's HTTP version, e.g. \"1.1\""},
		{name: "req_ver", out: tStr, need: NeedReq, fn: fetchReqVer, doc: "alias of req.ver"},
		{name: "req.proto_http", out: tBool, need: NeedReq, fn: fetchProtoHTTP, doc: "true when the request is valid HTTP"},
		{name: "hdr", args: "SI", out: tStr, need: NeedReq, multi: true, occArg: 1, strOcc: -1, fn: fetchHdrDir,
			doc: "req.hdr on requests, res.hdr in http-response rules; comma-separated values"},
		{name: "req.hdr", args: "SI", out: tStr, need: NeedReq, multi: true, occArg: 1, strOcc: -1, fn: fetchReqHdr,
			doc: "a request header value (comma-separated values are distinct); last one in string context"},
		{name: "req.fhdr", args: "sI", out: tStr, need: NeedReq, multi: true, occArg: 1, strOcc: -1, fn: fetchReqFhdr,
			doc: "a full request header line (no comma splitting); last one in string context"},
		{name: "hdr_cnt", args: "S", out: tInt, need: NeedReq, fn: fetchHdrCntDir, doc: "number of values of a header"},
		{name: "req.hdr_cnt", args: "S", out: tInt, need: NeedReq, fn: fetchReqHdrCnt, doc: "number of values of a request header"},
		{name: "req.fhdr_cnt", args: "S", out: tInt, need: NeedReq, fn: fetchReqFhdrCnt, doc: "number of request header lines"},
		{name: "req.cook", args: "S", out: tStr, need: NeedReq, multi: true, strOcc: -1, fn: fetchCook,
			doc: "a cookie's value from the Cookie headers; last one in string context"},
		{name: "cook", args: "S", out: tStr, need: NeedReq, multi: true, strOcc: -1, fn: fetchCook, doc: "alias of req.cook"},
		{name: "req.cook_cnt", args: "S", out: tInt, need: NeedReq, fn: fetchCookCnt, doc: "number of occurrences of a cookie"},
		{name: "cook_cnt", args: "S", out: tInt, need: NeedReq, fn: fetchCookCnt, doc: "alias of req.cook_cnt"},
		{name: "url_param", args: "sS", out: tStr, need: NeedReq, multi: true, strOcc: 1, fn: fetchURLParam,
			doc: "a query string parameter's value; first one in string context"},
		{name: "urlp", args: "sS", out: tStr, need: NeedReq, multi: true, strOcc: 1, fn: fetchURLParam, doc: "alias of url_param"},

		{name: "status", out: tInt, need: NeedResp, fn: fetchStatus, doc: "the response status code"},
		{name: "res.ver", out: tStr, need: NeedResp, fn: fetchResVer, doc: "the response's HTTP version"},
		{name: "resp_ver", out: tStr, need: NeedResp, fn: fetchResVer, doc: "alias of res.ver"},
		{name: "res.hdr", args: "SI", out: tStr, need: NeedResp, multi: true, occArg: 1, strOcc: -1, fn: fetchResHdr,
			doc: "a response header value; last one in string context"},
		{name: "shdr", args: "SI", out: tStr, need: NeedResp, multi: true, occArg: 1, strOcc: -1, fn: fetchResHdr, doc: "alias of res.hdr"},
		{name: "res.fhdr", args: "sI", out: tStr, need: NeedResp, multi: true, occArg: 1, strOcc: -1, fn: fetchResFhdr,
			doc: "a full response header line"},
		{name: "res.hdr_cnt", args: "S", out: tInt, need: NeedResp, fn: fetchResHdrCnt, doc: "number of values of a response header"},
		{name: "shdr_cnt", args: "S", out: tInt, need: NeedResp, fn: fetchResHdrCnt, doc: "alias of res.hdr_cnt"},
	}
}

func fetchMethod(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Req == nil || t.Req.Method == "" {
		return sample{}, cursor{}, fNone
	}
	switch t.ParsedMethod {
	case "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT":
		return strSmp(t.ParsedMethod), cursor{}, fVal
	}
	return strSmp(t.Req.Method), cursor{}, fVal
}

// uriPath returns the path of a request-target, as httpmsg.ParseTarget
// splits it for every other stage; false when the target has none.
func uriPath(u string) (string, bool) {
	tg, _ := httpmsg.ParseTarget(u)
	return tg.Path, tg.Path != ""
}

func fetchPath(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Req == nil {
		return sample{}, cursor{}, fNone
	}
	p, ok := uriPath(t.Req.URI)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	return strSmp(p), cursor{}, fVal
}

func fetchURL(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Req == nil {
		return sample{}, cursor{}, fNone
	}
	return strSmp(t.Req.URI), cursor{}, fVal
}

func fetchQuery(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Req == nil {
		return sample{}, cursor{}, fNone
	}
	tg, _ := httpmsg.ParseTarget(t.Req.URI)
	if !tg.HasQuery {
		return sample{}, cursor{}, fNone
	}
	return strSmp(tg.Query), cursor{}, fVal
}

func fetchBase(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Req == nil {
		return sample{}, cursor{}, fNone
	}
	p, ok := uriPath(t.Req.URI)
	host, hok := t.Req.Header.Get("Host")
	if !hok {
		if !ok {
			return sample{}, cursor{}, fNone
		}
		return strSmp(p), cursor{}, fVal
	}
	b := append(append(t.fbuf[:0], trimLWS(host)...), p...)
	t.fbuf = b
	return strSmp(view(b)), cursor{}, fVal
}

func versionOf(proto string, major, minor int) string {
	if v, ok := strings.CutPrefix(proto, "HTTP/"); ok {
		return v
	}
	switch {
	case major == 1 && minor == 1:
		return "1.1"
	case major == 1 && minor == 0:
		return "1.0"
	case major == 2:
		return "2.0"
	case major == 3:
		return "3.0"
	}
	return ""
}

func fetchReqVer(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Req == nil {
		return sample{}, cursor{}, fNone
	}
	v := versionOf(t.Req.Proto, t.Req.Major, t.Req.Minor)
	if v == "" {
		return sample{}, cursor{}, fNone
	}
	return strSmp(v), cursor{}, fVal
}

func fetchResVer(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Resp == nil {
		return sample{}, cursor{}, fNone
	}
	v := versionOf(t.Resp.Proto, t.Resp.Major, t.Resp.Minor)
	if v == "" {
		return sample{}, cursor{}, fNone
	}
	return strSmp(v), cursor{}, fVal
}

func fetchProtoHTTP(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	return boolSmp(t.Req != nil), cursor{}, fVal
}

func fetchStatus(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Resp == nil {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(t.Resp.Status)), cursor{}, fVal
}

// ---- headers ----

func reqHeaders(t *Txn) (httpmsg.Headers, bool) {
	if t.Req == nil {
		return nil, false
	}
	return t.Req.Header, true
}

func resHeaders(t *Txn) (httpmsg.Headers, bool) {
	if t.Resp == nil {
		return nil, false
	}
	return t.Resp.Header, true
}

// dirHeaders are the headers of the direction being processed (hdr()).
func dirHeaders(t *Txn) (httpmsg.Headers, bool) {
	if t.InResponse {
		return resHeaders(t)
	}
	return reqHeaders(t)
}

func trimLWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// valueEnd returns the end of the comma-separated element of v starting at
// i, skipping commas inside quoted strings as HAProxy does.
func valueEnd(v string, i int) int {
	quoted := false
	for ; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ',':
			return i
		}
	}
	return len(v)
}

// nextHdr returns the header value at or after c: the next comma-separated
// element, or the next full line when full. An empty name matches any field.
func nextHdr(h httpmsg.Headers, name string, full bool, c cursor) (string, cursor, bool) {
	for ; c.i < len(h); c.i, c.j = c.i+1, 0 {
		if name != "" && !strings.EqualFold(h[c.i].Name, name) {
			continue
		}
		v := h[c.i].Value
		if full {
			return trimLWS(v), cursor{c.i + 1, 0}, true
		}
		if c.j > len(v) {
			continue
		}
		e := valueEnd(v, c.j)
		elem := trimLWS(v[c.j:e])
		if e >= len(v) {
			return elem, cursor{c.i + 1, 0}, true
		}
		return elem, cursor{c.i, e + 1}, true
	}
	return "", c, false
}

func countHdr(h httpmsg.Headers, name string, full bool) int {
	n := 0
	for c := (cursor{}); ; n++ {
		var ok bool
		if _, c, ok = nextHdr(h, name, full, c); !ok {
			return n
		}
	}
}

// hdrFetch serves every header fetch: all values in turn when occ is 0,
// otherwise the one occurrence (negative counts from the last).
func hdrFetch(h httpmsg.Headers, ok bool, a *fetchArgs, full bool, c cursor) (sample, cursor, fres) {
	if !ok {
		return sample{}, c, fNone
	}
	name := a.str[0]
	if a.occ == 0 {
		v, next, found := nextHdr(h, name, full, c)
		if !found {
			return sample{}, next, fNone
		}
		return strSmp(v), next, fVal
	}
	if c != (cursor{}) {
		return sample{}, c, fNone
	}
	if a.occ == -1 { // the last one (string context): a single pass
		last, found := "", false
		for cur := (cursor{}); ; {
			v, next, ok := nextHdr(h, name, full, cur)
			if !ok {
				break
			}
			last, found, cur = v, true, next
		}
		if !found {
			return sample{}, cursor{-1, 0}, fNone
		}
		return strSmp(last), cursor{-1, 0}, fVal
	}
	want := a.occ
	if want < 0 {
		want += countHdr(h, name, full) + 1
		if want <= 0 {
			return sample{}, c, fNone
		}
	}
	for cur := (cursor{}); ; want-- {
		v, next, found := nextHdr(h, name, full, cur)
		if !found {
			return sample{}, cursor{-1, 0}, fNone
		}
		if want == 1 {
			return strSmp(v), cursor{-1, 0}, fVal
		}
		cur = next
	}
}

func fetchHdrDir(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	h, ok := dirHeaders(t)
	return hdrFetch(h, ok, a, false, c)
}

func fetchReqHdr(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	h, ok := reqHeaders(t)
	return hdrFetch(h, ok, a, false, c)
}

func fetchReqFhdr(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	h, ok := reqHeaders(t)
	return hdrFetch(h, ok, a, true, c)
}

func fetchResHdr(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	h, ok := resHeaders(t)
	return hdrFetch(h, ok, a, false, c)
}

func fetchResFhdr(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	h, ok := resHeaders(t)
	return hdrFetch(h, ok, a, true, c)
}

func cntFetch(h httpmsg.Headers, ok bool, name string, full bool) (sample, cursor, fres) {
	if !ok {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(countHdr(h, name, full))), cursor{}, fVal
}

func fetchHdrCntDir(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	h, ok := dirHeaders(t)
	return cntFetch(h, ok, a.str[0], false)
}

func fetchReqHdrCnt(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	h, ok := reqHeaders(t)
	return cntFetch(h, ok, a.str[0], false)
}

func fetchReqFhdrCnt(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	h, ok := reqHeaders(t)
	return cntFetch(h, ok, a.str[0], true)
}

func fetchResHdrCnt(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	h, ok := resHeaders(t)
	return cntFetch(h, ok, a.str[0], false)
}

// ---- cookies ----

// nextCookie returns the value of the next cookie called name (any cookie
// when name is empty) in the Cookie headers at or after c.
func nextCookie(h httpmsg.Headers, name string, c cursor) (string, cursor, bool) {
	for ; c.i < len(h); c.i, c.j = c.i+1, 0 {
		if !strings.EqualFold(h[c.i].Name, "Cookie") {
			continue
		}
		v := h[c.i].Value
		for c.j < len(v) {
			e := strings.IndexByte(v[c.j:], ';')
			if e < 0 {
				e = len(v)
			} else {
				e += c.j
			}
			pair := trimLWS(v[c.j:e])
			c.j = e + 1
			k, val, _ := strings.Cut(pair, "=")
			if k = trimLWS(k); k == "" {
				continue
			}
			if name == "" || k == name {
				return trimLWS(val), c, true
			}
		}
	}
	return "", c, false
}

func fetchCook(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	h, ok := reqHeaders(t)
	if !ok {
		return sample{}, c, fNone
	}
	switch {
	case a.occ == 0:
		v, next, found := nextCookie(h, a.str[0], c)
		if !found {
			return sample{}, next, fNone
		}
		return strSmp(v), next, fVal
	case c != (cursor{}):
		return sample{}, c, fNone
	case a.occ > 0 || a.str[0] == "":
		// the first one (HAProxy returns the first cookie when no name is given)
		v, _, found := nextCookie(h, a.str[0], cursor{})
		if !found {
			return sample{}, cursor{-1, 0}, fNone
		}
		return strSmp(v), cursor{-1, 0}, fVal
	}
	last, found := "", false
	for cur := (cursor{}); ; {
		v, next, ok := nextCookie(h, a.str[0], cur)
		if !ok {
			break
		}
		last, found, cur = v, true, next
	}
	if !found {
		return sample{}, cursor{-1, 0}, fNone
	}
	return strSmp(last), cursor{-1, 0}, fVal
}

func fetchCookCnt(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	h, ok := reqHeaders(t)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	n := 0
	for cur := (cursor{}); ; n++ {
		var found bool
		if _, cur, found = nextCookie(h, a.str[0], cur); !found {
			break
		}
	}
	return intSmp(int64(n)), cursor{}, fVal
}

// ---- query parameters ----

func isParamDelim(c byte, extra string) bool {
	return c == '&' || c == ';' || (extra != "" && c == extra[0])
}

// nextParam returns the value of the next parameter called name in the query
// string at or after offset c.j. Names compare case-sensitively.
func nextParam(q, name, delim string, c cursor) (string, cursor, bool) {
	for c.j <= len(q) && c.j >= 0 {
		e := c.j
		for e < len(q) && !isParamDelim(q[e], delim) {
			e++
		}
		pair := q[c.j:e]
		c.j = e + 1
		if k, v, ok := strings.Cut(pair, "="); ok && k == name {
			return v, c, true
		}
	}
	return "", c, false
}

func fetchURLParam(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	if t.Req == nil {
		return sample{}, c, fNone
	}
	tg, _ := httpmsg.ParseTarget(t.Req.URI)
	if !tg.HasQuery {
		return sample{}, c, fNone
	}
	q := tg.Query
	if a.occ != 0 && c != (cursor{}) {
		return sample{}, c, fNone
	}
	v, next, found := nextParam(q, a.str[0], a.str[1], c)
	if !found {
		return sample{}, next, fNone
	}
	if a.occ != 0 {
		next = cursor{-1, 0}
	}
	return strSmp(v), next, fVal
}
