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
// denial: a frontend counts it as intercepted. Under "option
// http-use-proxy-header", a proxied request (absolute-form, CONNECT) gets
// 407 with Proxy-Authenticate instead, as HAProxy's TX_USE_PX_CONN.
func authChallenge(realm string) func(t *Txn) bool {
	challenge := `Basic realm="` + realm + `"`
	return func(t *Txn) bool {
		if t.acl.ProxyAuth {
			t.reply = t.authReplyAs(407, "Proxy-Authenticate", "proxy-authenticate", challenge)
		} else {
			t.reply = t.authReply(challenge)
		}
		t.termState = [2]byte{'L', 'R'}
		t.stick.Denied() // HAProxy's stream_inc_http_err_ctr
		return true
	}
}

func (t *Txn) authReply(challenge string) *Reply {
	return t.authReplyAs(401, "WWW-Authenticate", "www-authenticate", challenge)
}

// authReplyAs is the status's error page with every field called name
// replaced by one (lower-case lname) carrying the challenge.
func (t *Txn) authReplyAs(status int, name, lname, challenge string) *Reply {
	r := t.errorReply(status)
	var h httpmsg.Headers
	var body []byte
	if r.Body != nil {
		// An errorfile: its head is rewritten, as HAProxy rewrites the
		// message it parsed from it.
		resp, b := parseRawResponse(r.Body, status)
		h, body, r.Status = resp.Header, b, resp.Status
		h.Del(name)
	} else {
		h = httpmsg.Headers{{Name: "content-type", Value: "text/html"}}
		body = http1.ErrorPageBody(status)
	}
	h = append(h, httpmsg.Header{Name: lname, Value: challenge})
	return &Reply{Status: r.Status, Header: h, Body: body}
}
