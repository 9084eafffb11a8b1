package acl

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Captured is what HAProxy allocates for a stream's log and keeps for its
// whole life, which the capture.* fetches read: the request line as
// received and the capture slots.
type Captured interface {
	// RequestLine is the method and target as received, before any rule
	// rewrote them (an HTTP/2 target in absolute-form, as logged).
	RequestLine() (method, uri string)
	// CaptureSlot is capture slot idx of a direction; false when there is
	// no such slot or nothing was captured in it.
	CaptureSlot(idx int, response bool) (string, bool)
}

// captureFetches are HAProxy 2.6's capture.req.* and capture.res.*: usable
// in both directions and in logs, since what they read is kept.
func captureFetches() []fetchDef {
	return []fetchDef{
		{name: "capture.req.hdr", args: "i", out: tStr, fn: fetchCaptureSlot(false),
			doc: "capture slot <idx> of the request (capture request header, declare capture, http-request capture), from 0"},
		{name: "capture.res.hdr", args: "i", out: tStr, fn: fetchCaptureSlot(true),
			doc: "capture slot <idx> of the response, from 0"},
		{name: "capture.req.method", out: tStr, need: NeedReq, fn: fetchCaptureMethod,
			doc: "the request's method as received (set-method does not change it)"},
		{name: "capture.req.uri", out: tStr, need: NeedReq, fn: fetchCaptureURI,
			doc: "the request's target as received, from its first slash (no scheme nor host); none for '*' and CONNECT"},
		{name: "capture.req.ver", out: tStr, need: NeedReq, fn: fetchCaptureReqVer,
			doc: "'HTTP/1.1' for a request of HTTP/1.1 or later (HTTP/2 included), else 'HTTP/1.0'"},
		{name: "capture.res.ver", out: tStr, need: NeedResp, fn: fetchCaptureResVer,
			doc: "'HTTP/1.1' for a response of HTTP/1.1 or later, else 'HTTP/1.0'"},
	}
}

func fetchCaptureSlot(response bool) fetchFn {
	return func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
		if t.Captured == nil {
			return sample{}, cursor{}, fNone
		}
		v, ok := t.Captured.CaptureSlot(int(a.num[0]), response)
		if !ok {
			return sample{}, cursor{}, fNone
		}
		return strSmp(v), cursor{}, fVal
	}
}

func fetchCaptureMethod(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Captured == nil {
		return sample{}, cursor{}, fNone
	}
	m, _ := t.Captured.RequestLine()
	return strSmp(m), cursor{}, fVal
}

func fetchCaptureURI(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Captured == nil {
		return sample{}, cursor{}, fNone
	}
	_, uri := t.Captured.RequestLine()
	p := targetPath(uri)
	if p == "" {
		return sample{}, cursor{}, fNone
	}
	return strSmp(p), cursor{}, fVal
}

// targetPath is a request-target from its path on: origin-form as it is,
// absolute-form without its scheme and authority, nothing for the others.
func targetPath(uri string) string {
	if strings.HasPrefix(uri, "/") {
		return uri
	}
	tg, err := httpmsg.ParseTarget(uri)
	if err != nil || tg.Form != httpmsg.FormAbsolute {
		return ""
	}
	return uri[len(tg.Scheme)+len("://")+len(tg.Authority):]
}

func fetchCaptureReqVer(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Req == nil || t.Req.Method == "" {
		return sample{}, cursor{}, fNone
	}
	return strSmp(version11(t.Req.Major, t.Req.Minor)), cursor{}, fVal
}

func fetchCaptureResVer(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Resp == nil || t.Resp.Status == 0 {
		return sample{}, cursor{}, fNone
	}
	return strSmp(version11(t.Resp.Major, t.Resp.Minor)), cursor{}, fVal
}

// version11 is how HAProxy names a message's version from its "version
// 1.1 or later" flag.
func version11(major, minor int) string {
	if major > 1 || major == 1 && minor >= 1 {
		return "HTTP/1.1"
	}
	return "HTTP/1.0"
}
