package proxy

import (
	"github.com/gatehouse/gatehouse/internal/httpcache"
)

// checkCache is "option checkcache" as HAProxy 2.6 applies it after the
// response rules: a response that carries the server's Set-Cookie and
// that a shared cache could store with it is blocked like an
// "http-response deny" (502, termination state PH, denied responses
// counted), and the backend logs an alert naming the server.
//
// Storable, as HAProxy 2.6 decides it: a 200, 203, 204, 206, 300, 301,
// 404, 405, 410, 414 or 501 answer to a GET, HEAD, OPTIONS or TRACE, or
// with "Cache-Control: public", that has an expiry (max-age, s-maxage,
// Expires) or a validator (ETag, Last-Modified) (HAProxy 2.6.12 lets a
// response without either through, measured side by side), and neither
// "Pragma: no-cache" nor "Cache-Control: private, no-cache, no-store,
// max-age=0, s-maxage=0" after the last "public"; 'no-cache="set-cookie'
// keeps the cookie out of caches. HAProxy 2.6.12 sends the error page of
// the response's status in place of the documented 502; Gatehouse sends
// the 502.
func (t *Txn) checkCache(srv *Server) {
	be := t.be
	if !be.CheckCache || t.reply != nil || t.kill != killNone {
		return
	}
	resp := &t.Resp
	if resp.Status < 200 || (!resp.Header.Has("Set-Cookie") && !resp.Header.Has("Set-Cookie2")) {
		return
	}
	var c httpcache.Txn
	switch t.Req.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		c.Cacheable, c.Cook = true, true
	}
	switch resp.Status {
	case 200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501:
	default:
		c.Cacheable, c.Cook = false, false
	}
	c.CheckResponse(resp.Header)
	if !c.Storable() {
		return
	}
	name := "<dispatch>"
	if srv != nil {
		name = srv.Name
	}
	if be.Alert != nil {
		be.Alert("Blocking cacheable cookie in response from instance " + be.Name + ", server " + name + ".")
	}
	t.reply = t.errorReply(502)
	t.termState = [2]byte{'P', 'H'}
	t.deniedResp = true
}
