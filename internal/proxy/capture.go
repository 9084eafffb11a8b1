package proxy

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// compileCapture builds "http-request|http-response capture <sample>
// len|id": the sample, as text, goes into capture slot a.CaptureID of the
// frontend, cut to the slot's length (HAProxy's
// http_action_req_capture_by_id). An absent sample leaves the slot alone.
func compileCapture(a *config.HTTPAction, env *RuleEnv, response bool) (func(t *Txn) bool, error) {
	e, err := acl.CompileExprMaps(a.Sample, a.Pos, env.ACLs.Maps())
	if err != nil {
		return nil, err
	}
	ctx := acl.CtxHTTPRequest
	if response {
		ctx = acl.CtxHTTPResponse
	}
	if err := acl.CheckContext(e.Uses(), ctx); err != nil {
		return nil, config.Errorf(a.Pos, "'%s capture': %v", ruleKeyword(response), err)
	}
	id := a.CaptureID
	return func(t *Txn) bool {
		t.captureSample(e, id, response)
		return false
	}, nil
}

func (t *Txn) captureSample(e *acl.Expr, id int, response bool) {
	slots := &t.log.ReqCaptures
	if response {
		slots = &t.log.ResCaptures
	}
	if id >= len(*slots) {
		return // no log, or a backend rule naming a slot this frontend lacks
	}
	max := slotLen(t.sess.fe.Captures, id, response)
	out, ok := e.AppendString(nil, &t.acl)
	if !ok || max <= 0 {
		return
	}
	if len(out) > max {
		out = out[:max]
	}
	(*slots)[id] = string(out)
}

// slotLen returns the length of capture slot id of a direction.
func slotLen(caps []*config.Capture, id int, response bool) int {
	for _, c := range caps {
		if c.Response != response {
			continue
		}
		if id == 0 {
			return c.Len
		}
		id--
	}
	return 0
}

// captureCookies fills %CC and %CS for "capture cookie": the first request
// cookie and the first response Set-Cookie whose "name=value" starts with
// the configured name, cut to its length, as HAProxy's
// http_manage_client_side_cookies and http_manage_server_side_cookies.
// The response's is taken from a server's answer only.
func (t *Txn) captureCookies() {
	cc := t.sess.fe.CaptureCookie
	if cc == nil {
		return
	}
	t.captureResponseCookie()
}

// captureResponseCookie takes %CS once: before the persistence cookie
// stage rewrites the server's Set-Cookie or inserts its own.
func (t *Txn) captureResponseCookie() {
	cc := t.sess.fe.CaptureCookie
	if cc == nil || t.persist.resCookieCaptured {
		return
	}
	if t.acl.Resp != nil && t.reply == nil && (t.Resp.Status >= 200 || t.Resp.Status == 101) {
		t.persist.resCookieCaptured = true
		t.log.ResCookie = findCookie(t.Resp.Header, "Set-Cookie", cc, true)
	}
}

// captureRequestCookie takes %CC once, where HAProxy reads the request's
// cookies: when the request goes on past the rules or is denied (not for
// a redirect, a return or the stats page), before the persistence cookie
// stage strips or removes cookies.
func (t *Txn) captureRequestCookie() {
	cc := t.sess.fe.CaptureCookie
	if cc == nil || t.persist.cookieCaptured {
		return
	}
	t.persist.cookieCaptured = true
	t.log.ReqCookie = findCookie(t.Req.Header, "Cookie", cc, false)
}

func findCookie(h httpmsg.Headers, field string, cc *config.CookieCapture, set bool) string {
	for _, f := range h {
		if !strings.EqualFold(f.Name, field) {
			continue
		}
		v := f.Value
		if set {
			// One cookie per Set-Cookie; its attributes follow the ';'.
			if i := strings.IndexByte(v, ';'); i >= 0 {
				v = v[:i]
			}
			if c, ok := cookieText(v, cc, true); ok {
				return c
			}
			continue
		}
		for _, part := range strings.Split(v, ";") {
			if c, ok := cookieText(part, cc, false); ok {
				return c
			}
		}
	}
	return ""
}

// cookieText returns "name=value" without the blanks around the name, the
// '=' and the value, if it starts with cc.Name, cut to cc.Len. A
// Set-Cookie without '=' is ignored, as HAProxy ignores it.
func cookieText(s string, cc *config.CookieCapture, set bool) (string, bool) {
	s = strings.Trim(s, " \t")
	name, val, eq := strings.Cut(s, "=")
	if set && !eq {
		return "", false
	}
	if eq {
		s = strings.TrimRight(name, " \t") + "=" + strings.TrimLeft(val, " \t")
	}
	if !strings.HasPrefix(s, cc.Name) {
		return "", false
	}
	if len(s) > cc.Len {
		s = s[:cc.Len]
	}
	return s, true
}

// RequestLine is the request's method and target as the log shows them,
// cut at tune.http.logurilen (acl.Captured).
func (t *Txn) RequestLine() (method, uri string) {
	method, uri = t.Req.Method, t.Req.URI
	if t.log.ReqMethod != "" {
		method, uri = t.log.ReqMethod, t.log.ReqURI
	}
	return logging.CutRequestLine(method, uri, t.Req.Proto)
}

// CaptureSlot is a capture slot's content (acl.Captured); an empty slot
// captured nothing.
func (t *Txn) CaptureSlot(idx int, response bool) (string, bool) {
	slots := t.log.ReqCaptures
	if response {
		slots = t.log.ResCaptures
	}
	if idx < 0 || idx >= len(slots) || slots[idx] == "" {
		return "", false
	}
	return slots[idx], true
}
