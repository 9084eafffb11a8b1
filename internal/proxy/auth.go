package proxy

import (
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// authChallenge is "http-request auth [realm R]", as HAProxy 2.6's
// http_action_auth: the 401 error page (or the proxy's 401 errorfile) with
// every WWW-Authenticate header of it replaced by one asking for Basic
// credentials in the realm. It ends the rules like a deny, counts in the
// tracked entries' http_err counters and logs "LR", but it is not a
// denial: a frontend counts it as intercepted. (HAProxy answers 407 with
// Proxy-Authenticate, and reads Proxy-Authorization, only for an
// absolute-form or CONNECT request under "option http-use-proxy-header",
// which Gatehouse refuses as not implemented.)
func authChallenge(realm string) func(t *Txn) bool {
	challenge := `Basic realm="` + realm + `"`
	return func(t *Txn) bool {
		t.reply = t.authReply(challenge)
		t.termState = [2]byte{'L', 'R'}
		t.stick.Denied() // HAProxy's stream_inc_http_err_ctr
		return true
	}
}

func (t *Txn) authReply(challenge string) *Reply {
	r := t.errorReply(401)
	var h httpmsg.Headers
	var body []byte
	if r.Body != nil {
		// An errorfile: its head is rewritten, as HAProxy rewrites the
		// message it parsed from it.
		resp, b := parseRawResponse(r.Body, 401)
		h, body, r.Status = resp.Header, b, resp.Status
		h.Del("WWW-Authenticate")
	} else {
		h = httpmsg.Headers{{Name: "content-type", Value: "text/html"}}
		body = http1.ErrorPageBody(401)
	}
	h = append(h, httpmsg.Header{Name: "www-authenticate", Value: challenge})
	return &Reply{Status: r.Status, Header: h, Body: body}
}
