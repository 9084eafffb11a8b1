package proxy

import "github.com/gatehouse/gatehouse/internal/http1"

// http-after-response: rules run on every response on its way to the
// client, the server's (after the http-response rules) and the proxy's own
// (deny, redirect, return, services, error pages) alike; the backend's
// first, then the frontend's, as HAProxy's http_eval_after_res_rules. A
// listen section's rules are its frontend's, so they run once.

// hasAfterRules reports whether any http-after-response rule applies.
func (t *Txn) hasAfterRules() bool {
	return len(t.sess.fe.AfterRules) > 0 || t.be != nil && len(t.be.AfterRules) > 0
}

// runAfterRules applies the rules to t.Resp. "allow" ends one proxy's
// rules, not the next proxy's.
func (t *Txn) runAfterRules() {
	if t.be != nil && len(t.be.AfterRules) > 0 {
		t.runResponseRules(t.be.AfterRules)
	}
	if fe := t.sess.fe; len(fe.AfterRules) > 0 {
		t.runResponseRules(fe.AfterRules)
	}
}

// afterReply runs the rules on a local answer and returns the answer they
// leave. An errorfile or a built-in error page is read into status,
// headers and body first, so rules see and change it as HAProxy's do; it
// still ends the connection, as it did. Answers to requests that could
// not be parsed are left alone (HAProxy's multiplexer sends those before
// any rule).
func (t *Txn) afterReply(r *Reply) *Reply {
	if t.noAfter || !t.hasAfterRules() {
		return r
	}
	var body []byte
	t.Resp.Reset()
	switch {
	case len(r.Header) == 1 && r.Header[0].Name == rawMarker[0].Name:
		resp, b := parseRawResponse(r.Body, r.Status)
		t.Resp.Status, t.Resp.Header, body = resp.Status, resp.Header, b
		t.closeAfter = t.closeAfter || t.down == nil
	case r.Header == nil && r.Body == nil && r.Status >= 400:
		resp, b := parseRawResponse(http1.AppendErrorResponse(nil, r.Status, ""), r.Status)
		t.Resp.Status, t.Resp.Header, body = resp.Status, resp.Header, b
		t.closeAfter = t.closeAfter || t.down == nil
	default:
		t.Resp.Status, t.Resp.Reason, body = r.Status, r.Reason, r.Body
		// A copy: services may hand out a Reply whose headers are shared.
		t.Resp.Header = append(t.Resp.Header, r.Header...)
	}
	t.acl.Resp = &t.Resp
	t.runAfterRules()
	return &Reply{Status: t.Resp.Status, Reason: t.Resp.Reason, Header: t.Resp.Header, Body: body, AsIs: r.AsIs}
}
