package acl

import "strings"

// BodySource gives the request body the rules can see: what "option
// http-buffer-request" or "http-request wait-for-body" waited for, else
// what arrived with the head; complete when that is the whole body.
type BodySource interface {
	AvailableBody() (data []byte, complete bool)
}

// bodyFetches are HAProxy 2.6's req.body family.
func bodyFetches() []fetchDef {
	return []fetchDef{
		{name: "req.body", out: tBin, need: NeedReq, fn: fetchReqBody,
			doc: "the request body available (see option http-buffer-request, http-request wait-for-body)"},
		{name: "req.body_len", out: tInt, need: NeedReq, fn: fetchReqBodyLen,
			doc: "the length of the request body available; less than the whole body when it did not fit the buffer"},
		{name: "req.body_size", out: tInt, need: NeedReq, fn: fetchReqBodySize,
			doc: "the advertised length of the request body (Content-Length), or the length available of a chunked one"},
		{name: "req.body_param", args: "S", out: tStr, need: NeedReq, multi: true, strOcc: 1, fn: fetchReqBodyParam,
			doc: "the value of the first parameter <name> (case-sensitive; the first one when no name is given) of a url-encoded request body, not decoded; ACLs try every one"},
	}
}

func availableBody(t *Txn) ([]byte, bool) {
	if t.Body == nil || t.Req == nil || t.Req.Method == "" {
		return nil, false
	}
	b, _ := t.Body.AvailableBody()
	return b, true
}

func fetchReqBody(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	b, ok := availableBody(t)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	return sample{typ: tBin, s: view(b)}, cursor{}, fVal
}

func fetchReqBodyLen(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	b, ok := availableBody(t)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(len(b))), cursor{}, fVal
}

func fetchReqBodySize(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	b, ok := availableBody(t)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	if !t.Req.Chunked && t.Req.ContentLength >= 0 {
		return intSmp(t.Req.ContentLength), cursor{}, fVal
	}
	return intSmp(int64(len(b))), cursor{}, fVal
}

// fetchReqBodyParam walks the '&'-separated parameters of the body from
// cursor c.j, as url_param walks a query.
func fetchReqBodyParam(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	b, ok := availableBody(t)
	if !ok || a.occ != 0 && c != (cursor{}) {
		return sample{}, c, fNone
	}
	body := view(b)
	name := a.str[0]
	for c.j >= 0 && c.j <= len(body) {
		e := strings.IndexByte(body[c.j:], '&')
		if e < 0 {
			e = len(body)
		} else {
			e += c.j
		}
		pair := body[c.j:e]
		c.j = e + 1
		k, v, _ := strings.Cut(pair, "=")
		if pair != "" && (name == "" || k == name) {
			if a.occ != 0 {
				c = cursor{-1, 0}
			}
			return strSmp(v), c, fVal
		}
	}
	return sample{}, c, fNone
}
