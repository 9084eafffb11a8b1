package proxy

import (
	"bytes"
	"io"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// ErrorPages are a proxy's error pages by status: complete HTTP
// responses (errorfile, errorloc, an http-errors section's) or replies
// built per request (http-error with a string, a format or fields).
type ErrorPages struct {
	Raw     map[int][]byte
	Replies map[int]*Rule
}

// errorReply builds HAProxy's error answer for status, honouring the
// backend's error pages first, then the frontend's.
func (t *Txn) errorReply(status int) *Reply {
	for _, e := range [2]*ErrorPages{t.backendErrors(), t.sess.fe.Errors} {
		if e == nil {
			continue
		}
		if raw := e.Raw[status]; raw != nil {
			return &Reply{Status: status, Header: rawMarker, Body: raw}
		}
		if r := e.Replies[status]; r != nil {
			return t.returnReply(r)
		}
	}
	return &Reply{Status: status}
}

func (t *Txn) backendErrors() *ErrorPages {
	if t.be == nil {
		return nil
	}
	return t.be.Errors
}

// rawMarker flags a Reply whose Body is a complete HTTP response (errorfile).
var rawMarker = httpmsg.Headers{{Name: "\x00raw", Value: ""}}

// returnReply builds the answer of "return" and "deny": the proxy's error
// page, an errorfile as it is, or a status with an optional body and
// fields (an empty body when none was given, never an error page).
func (t *Txn) returnReply(r *Rule) *Reply {
	switch {
	case r.ErrorPage:
		rep := t.errorReply(r.Status)
		if rep.Body == nil && r.Status < 400 {
			// HAProxy's page for 200, which the bare-error path below 400
			// does not write.
			rep.Header = httpmsg.Headers{{Name: "cache-control", Value: "no-cache"}, {Name: "content-type", Value: "text/html"}}
			rep.Body = http1.ErrorPageBody(r.Status)
		}
		return rep
	case r.RawReply:
		return &Reply{Status: r.Status, Header: rawMarker, Body: r.Static}
	}
	rep := &Reply{Status: r.Status, Body: r.Static, AsIs: true}
	if t.acl.InResponse {
		// HAProxy empties the response before it builds the answer
		// that replaces it: its formats see no response.
		resp := t.acl.Resp
		t.acl.Resp = nil
		defer func() { t.acl.Resp = resp }()
	}
	if r.Value != nil {
		rep.Body = []byte(t.evalFormat(r.Value))
	}
	// Never nil: a nil Header with no body is taken for a bare error.
	rep.Header = make(httpmsg.Headers, 0, len(r.Headers)+1)
	if r.ContentType != "" {
		rep.Header = append(rep.Header, httpmsg.Header{Name: "Content-Type", Value: r.ContentType})
	}
	for _, h := range r.Headers {
		// As HAProxy: a header whose format renders empty is not sent.
		if v := t.evalFormat(h.Value); v != "" {
			rep.Header = append(rep.Header, httpmsg.Header{Name: h.Name, Value: v})
		}
	}
	return rep
}

// redirectReply builds the answer of "http-request redirect"; nil when
// ignore-empty skips it.
func (t *Txn) redirectReply(r *Rule) *Reply {
	code := r.Status
	if code == 0 {
		code = 302
	}
	var loc []byte
	target := t.evalFormat(r.Value)
	if r.IgnoreEmpty && target == "" {
		return nil
	}
	switch r.Redirect {
	case RedirectLocation:
		loc = append(loc, target...)
	case RedirectPrefix:
		if target != "/" { // "prefix /" keeps the path as is
			loc = append(loc, target...)
		}
		path := t.redirectPath(r.DropQuery)
		if len(loc) == 0 {
			// Nothing before the path: "//host" or "/\host" would be
			// read by a browser as another origin.
			path = oneLeadingSlash(path)
		}
		loc = append(loc, path...)
	case RedirectScheme:
		host, _ := t.Req.Header.Get("Host")
		loc = append(loc, target...)
		loc = append(loc, "://"...)
		loc = append(loc, host...)
		loc = append(loc, t.redirectPath(r.DropQuery)...)
	}
	if r.AppendSlash && len(loc) > 0 && loc[len(loc)-1] != '/' && r.Redirect != RedirectLocation {
		loc = append(loc, '/')
	}
	rep := &Reply{
		Status: code,
		Header: httpmsg.Headers{{Name: "Location", Value: string(loc)}, {Name: "Content-Length", Value: "0"}},
	}
	if r.Cookie != "" {
		rep.Header = append(rep.Header, httpmsg.Header{Name: "Set-Cookie", Value: r.Cookie})
	}
	return rep
}

// redirectPath is the request's path and query for a prefix or scheme
// redirect, split by httpmsg.ParseTarget: without the scheme and authority
// of an absolute-form target, without the query for drop-query, and "/"
// when the target has no path ("*", authority-form).
func (t *Txn) redirectPath(dropQuery bool) string {
	tg, _ := httpmsg.ParseTarget(t.Req.URI)
	p, ok := tg.OriginForm()
	switch {
	case !ok:
		return "/"
	case dropQuery && tg.Path == "":
		return "/"
	case dropQuery:
		return tg.Path
	}
	return p
}

// oneLeadingSlash collapses a leading run of '/' and '\\' to one '/'.
func oneLeadingSlash(p string) string {
	i := 0
	for i < len(p) && (p[i] == '/' || p[i] == '\\') {
		i++
	}
	if i <= 1 {
		return p
	}
	return "/" + p[i:]
}

// bodyAllowed reports whether a response of this status may carry a body,
// and so a Content-Length (RFC 9110 §8.6: never on 1xx and 204).
func bodyAllowed(status int) bool { return status >= 200 && status != 204 && status != 304 }

// sendError writes a bare error answer (for requests that could not be
// parsed) and closes.
func (t *Txn) sendError(status int) {
	t.reply = t.errorReply(status)
	t.closeAfter = true
	t.noAfter = true
	t.sendReply()
}

// sendReply writes t.reply to the client. It returns false when the client
// connection must close.
func (t *Txn) sendReply() bool {
	t.vars.ToResponse()
	s := t.sess
	r := t.reply
	if r == nil {
		r = t.errorReply(500)
	}
	if t.cache.hit {
		r = t.cacheHitRules(r)
	}
	if t.kill != killNone {
		return t.killClient()
	}
	if t.tarpit && !t.tarpitWait() {
		return false
	}
	r = t.afterReply(r)
	t.status = r.Status
	if t.be != nil {
		// The proxy's own answers (errors, denials) count in the
		// backend's hrsp_* as HAProxy counts them, not in a server's.
		t.be.Counters.CountStatus(r.Status)
	}
	if t.down != nil {
		// HTTP/2: the stream ends with the answer; an unread request body
		// is the stream's to refuse (RST_STREAM NO_ERROR), not a reason to
		// close the connection.
		return t.replyToStream(r)
	}
	if t.bodyTaken {
		// A service read what it wanted of the body; whatever it left
		// would be taken for the next request.
		t.closeAfter = true
	} else if t.Req.HasBody() && !t.closeAfter {
		// The request body was not read: drop it if it is small, otherwise
		// close rather than read an unbounded body.
		if !discardBody(s.br, &t.Req, 1<<20) {
			t.closeAfter = true
		}
	}
	bw := s.bw
	before := s.out.n
	client10 := t.Req.Major == 1 && t.Req.Minor == 0
	if len(r.Header) == 1 && r.Header[0].Name == rawMarker[0].Name {
		_, _ = bw.Write(r.Body)
		t.closeAfter = true
	} else if r.Header == nil && r.Body == nil && r.Status >= 400 {
		// The built-in page keeps the connection as HAProxy's own answers
		// do, and as them sends no body to a HEAD.
		page := http1.AppendErrorResponseConn(nil, r.Status, "", connValue(t.closeAfter, client10, false))
		if t.Req.Method == "HEAD" {
			page = page[:bytes.Index(page, []byte("\r\n\r\n"))+4]
		}
		_, _ = bw.Write(page)
	} else {
		var resp httpmsg.Response
		resp.Status, resp.Reason = r.Status, r.Reason
		resp.Proto = "HTTP/1.1"
		resp.Major, resp.Minor = 1, 1
		// A copy: services may hand out a Reply whose headers are shared.
		resp.Header = append(make(httpmsg.Headers, 0, len(r.Header)+3), r.Header...)
		if !resp.Header.Has("Content-Length") && bodyAllowed(r.Status) {
			resp.Header = append(resp.Header, httpmsg.Header{Name: "Content-Length", Value: strconv.Itoa(len(r.Body))})
		}
		if !resp.Header.Has("Cache-Control") && r.Status >= 400 && !r.AsIs {
			resp.Header = append(resp.Header, httpmsg.Header{Name: "Cache-Control", Value: "no-cache"})
		}
		// HTTP/1.1 on the status line whatever the request's version, as
		// HAProxy's own answers; a kept HTTP/1.0 connection says so.
		addConnection(&resp.Header, t.closeAfter, client10, false)
		_ = bw.WriteResponseHead(&resp)
		if t.Req.Method != "HEAD" {
			_, _ = bw.Write(r.Body)
		}
	}
	if err := bw.Flush(); err != nil {
		t.closeAfter = true
	}
	t.bytesOut += s.out.n - before
	return !t.closeAfter
}

// discardBody reads and drops a request body of at most limit bytes, so
// the connection can carry the next request. It reports false when the
// body is larger or broken: the connection must then close.
func discardBody(br *http1.Reader, req *httpmsg.Request, limit int64) bool {
	if !req.Chunked && req.ContentLength > limit {
		return false
	}
	n, err := io.Copy(io.Discard, io.LimitReader(br.Body(http1.RequestFraming(req)), limit+1))
	return err == nil && n <= limit
}
