package acl

import "github.com/gatehouse/gatehouse/internal/httpmsg"

// hdrsFetches read a message's whole header block as the rules see it.
func hdrsFetches() []fetchDef {
	return []fetchDef{
		{name: "req.hdrs", out: tStr, need: NeedReq, fn: fetchReqHdrs,
			doc: "the request's header fields as lines \"name: value\" with CRLF, and the empty line that ends them"},
		{name: "req.hdr_names", args: "S", out: tStr, need: NeedReq, fn: fetchReqHdrNames,
			doc: "the request's header field names in order, joined by the first character of the argument (default ',')"},
		{name: "res.hdr_names", args: "S", out: tStr, need: NeedResp, fn: fetchResHdrNames,
			doc: "the response's header field names in order, joined by the first character of the argument (default ',')"},
	}
}

// HAProxy keeps HTTP/1 field names in lower case (HTTP/2 ones are), so
// that is how these fetches give them.
func fetchReqHdrs(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	h, ok := reqHeaders(t)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	var b []byte
	for i := range h {
		b = appendLower(b, h[i].Name)
		b = append(b, ": "...)
		b = append(b, h[i].Value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return strSmp(string(b)), cursor{}, fVal
}

func fetchReqHdrNames(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	h, ok := reqHeaders(t)
	return hdrNames(h, ok, a)
}

func fetchResHdrNames(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	h, ok := resHeaders(t)
	return hdrNames(h, ok, a)
}

func hdrNames(h httpmsg.Headers, ok bool, a *fetchArgs) (sample, cursor, fres) {
	if !ok {
		return sample{}, cursor{}, fNone
	}
	delim := byte(',')
	if a.n > 0 && a.str[0] != "" {
		delim = a.str[0][0] // only the first character counts, as in HAProxy
	}
	var b []byte
	for i := range h {
		if i > 0 {
			b = append(b, delim)
		}
		b = appendLower(b, h[i].Name)
	}
	return strSmp(string(b)), cursor{}, fVal
}
