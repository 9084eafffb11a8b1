package proxy

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// handle runs one request through the frontend and backend rules, routing
// and the upstream exchange. It returns false when the client connection
// must close afterwards.
func (t *Txn) handle() bool {
	s := t.sess
	fe := s.fe
	req := &t.Req
	fe.Counters.ReqTot.Add(1)
	t.acl.ProxyAuth = fe.UseProxyHeader && req.URI != "" && req.URI[0] != '/' && req.URI[0] != '*'
	fe.Counters.ReqRate.Tick(t.tHead)
	fe.Counters.ReqHistory.Tick(t.tHead)
	if t.down != nil {
		t.bytesIn += int64(t.down.HeaderBytes())
	} else {
		t.bytesIn += int64(t.sess.br.HeadLen())
		// A retired runtime's connection with nothing to move to closes.
		t.closeAfter = req.Close || fe.ConnMode == config.ConnClose || s.lst.retiring()
	}
	t.teTrailers = acceptsTrailers(req.Header)
	// The parsed request counts on what the connection tracks (HAProxy's
	// stream_inc_http_req_ctr), before any rule tracks more.
	t.stick.CountRequest()

	// Connection-scoped fields describe the client's connection, not the
	// one to the server: the rules see them as HAProxy's do, then they go
	// (StripFixedHopByHop below); framing and upgrades are re-announced.
	http1.PrepareRequestFields(&req.Header)
	sanitizeRequest(&req.Header)
	if fe.Sanitize != nil {
		fe.Sanitize(&req.Header)
	}
	t.assignRequestIDs(&fe.RequestIDs)
	t.captureRequest()

	// tcp-request content rules come first (HAProxy's INSPECT_FE analyser
	// runs before the HTTP one).
	if t.contentRejected(fe.ContentRules) {
		s.countDenyReq()
		return t.rejectConnection(true)
	}

	// Monitor requests are answered "just after the request is parsed and
	// even before any http-request" rule, and never logged.
	if fe.MonitorURI != "" && isMonitorURI(req.URI, fe.MonitorURI) {
		fe.Counters.Intercept.Add(1)
		t.noLog = true
		status := 200
		for _, c := range fe.MonitorFail {
			if c.Match(&t.acl) {
				status = 503
				break
			}
		}
		t.reply = t.errorReply(status) // an errorfile for 200 or 503 replaces the page
		if t.reply.Body == nil {
			// HAProxy's page, on a connection that stays open.
			t.reply.Header = httpmsg.Headers{{Name: "cache-control", Value: "no-cache"}, {Name: "content-type", Value: "text/html"}}
			t.reply.Body = http1.ErrorPageBody(status)
		}
		t.termState = [2]byte{'L', 'R'}
		return t.sendReply()
	}

	// The CA's HTTP-01 check is the edge's own business: answered before
	// the rules, which could redirect it to HTTPS or ask for a login.
	if fe.ACMEChallenge != nil && (req.Method == "GET" || req.Method == "HEAD") {
		if ka, ok := fe.ACMEChallenge(pathOnly(originForm(req.URI))); ok {
			fe.Counters.Intercept.Add(1)
			t.reply = &Reply{Status: 200, AsIs: true, Header: httpmsg.Headers{{Name: "content-type", Value: "application/octet-stream"}}, Body: []byte(ka)}
			t.termState = [2]byte{'L', 'R'}
			return t.sendReply()
		}
	}

	if fe.BufferRequest && !t.waitBodyOption() {
		return false
	}
	switch t.runRequestRules(fe.ReqRules) {
	case verdictGone:
		return false
	case verdictReply:
		if t.denied {
			s.countDenyReq()
			t.captureRequestCookie()
			if fe.Self != nil {
				// A listen's cookie is read for the log of a denial.
				t.persistCookies(fe.Self)
			}
		} else {
			fe.Counters.Intercept.Add(1)
		}
		return t.sendReply()
	}
	// The stats page answers after the http-request rules, so a rule can
	// guard it ("deny if { path_beg /stats } !{ src 10.0.0.0/8 }").
	if fe.Stats != nil && hasPrefix(originForm(req.URI), fe.StatsPrefix) {
		if r, denied := serviceAccess(fe.Stats, t); r != nil {
			if denied {
				s.countDenyReq()
			} else {
				fe.Counters.Intercept.Add(1) // an auth challenge, as HAProxy counts it
			}
			t.reply = r
			t.termState = [2]byte{'L', 'R'}
			return t.sendReply()
		}
		// Counted first, as HAProxy does: the page counts itself.
		fe.Counters.Intercept.Add(1)
		t.reply = fe.Stats.Serve(t)
		t.compService(fe.Self)
		t.clk.spend()
		t.termState = [2]byte{'L', 'R'}
		return t.sendReply()
	}

	be := fe.Default
	for i := range fe.Routes {
		r := &fe.Routes[i]
		if r.Cond == nil || r.Cond.Match(&t.acl) {
			if r.Dynamic != nil {
				if dyn := r.Lookup(t.evalFormat(r.Dynamic)); dyn != nil {
					be = dyn
				}
				break
			}
			be = r.Backend
			break
		}
	}
	if be == nil {
		// A frontend without a backend (e.g. a stats-only one): HAProxy
		// answers 503.
		t.termState = [2]byte{'S', 'C'}
		t.reply = t.errorReply(503)
		return t.sendReply()
	}
	t.be = be
	t.live.setBackend(be)
	t.acl.Backend = be.Name
	t.stickProxy(be.Stick)
	t.persistChoose(be)
	be.Counters.OpenSession(t.now)
	be.Counters.ReqHistory.Tick(t.now)
	be.Counters.ReqTot.Add(1)
	keep := t.handleBackend(be)
	be.Counters.CloseSession()
	return keep
}

// handleBackend is the rest of handle once be is chosen. It is apart so
// that the backend's session count needs no defer: in a function with
// this many returns Go cannot open-code one and pushes a record on every
// request instead.
func (t *Txn) handleBackend(be *Backend) bool {
	s := t.sess
	fe := s.fe
	req := &t.Req
	if be.Stats != nil && hasPrefix(originForm(req.URI), be.StatsPrefix) {
		if r, denied := serviceAccess(be.Stats, t); r != nil {
			if denied {
				s.countDenyReq()
				be.Counters.DenyReq.Add(1)
			}
			t.reply = r
			t.termState = [2]byte{'L', 'R'}
			return t.sendReply()
		}
		t.reply = be.Stats.Serve(t)
		t.compService(be)
		t.clk.spend()
		t.termState = [2]byte{'L', 'R'}
		return t.sendReply()
	}
	if t.contentRejected(be.ContentRules) {
		s.countDenyReq() // HAProxy counts it in the frontend only
		return t.rejectConnection(false)
	}
	if be.BufferRequest && !t.waitBodyOption() {
		return false
	}
	if be != nil && len(be.ReqRules) > 0 {
		switch t.runRequestRules(be.ReqRules) {
		case verdictGone:
			return false
		case verdictReply:
			if t.denied {
				be.Counters.DenyReq.Add(1)
				t.captureRequestCookie()
				t.persistCookies(be)
			}
			return t.sendReply()
		}
	}
	t.captureRequestCookie()
	t.persistRoute(be)
	t.stickMatch(be)

	// The compression filter reads Accept-Encoding as the rules left it.
	t.compRequest(fe, be)
	if fe.Outbound != nil {
		fe.Outbound(&req.Header)
	}
	http1.StripFixedHopByHop(&req.Header)
	// The truth about the client goes last, after every rule.
	t.sendRequestIDs()
	ff := be.ForwardFor
	if ff == nil {
		ff = fe.ForwardFor
	}
	t.arena = ff.apply(&req.Header, t.acl.Src.Addr(), t.arena) // set-src applies
	t.arena = addOriginalTo(fe.OriginalTo, be.OriginalTo, &req.Header, t.acl.Dst.Addr(), t.arena)
	if s.tls {
		req.Header.Add("X-Forwarded-Proto", "https")
	} else {
		req.Header.Add("X-Forwarded-Proto", "http")
	}
	if be.ConnMode == config.ConnClose {
		t.closeAfter = true
	}
	// HAProxy announces the server connection's fate where the request's
	// version does not imply it: close after this exchange (server-close
	// or close on either side, unless told to pretend keep-alive) for
	// HTTP/1.1, keep-alive for HTTP/1.0, which goes out as 1.0. A 1.0
	// exchange persists only if the response agrees (resp.Close, relay.go).
	keep := be.ConnMode == config.ConnKeepAlive && fe.ConnMode == config.ConnKeepAlive || be.PretendKeepAlive
	if req.Upgrade == "" {
		if req.Major == 1 && req.Minor == 0 {
			if keep {
				req.Header.Add("Connection", "keep-alive")
			}
		} else if !keep {
			req.Header.Add("Connection", "close")
		}
	}
	if req.Chunked {
		req.Header.Add("Transfer-Encoding", "chunked")
	}
	if req.Upgrade != "" {
		req.Header.Add("Connection", "upgrade")
		req.Header.Add("Upgrade", req.Upgrade)
	}
	return t.forward()
}

// sanitizeTrailers treats the client's request trailers as the head was
// treated before the rules: forwarding and identity fields a client must
// not set cannot come in by the trailers either.
func (fe *Frontend) sanitizeTrailers(h *httpmsg.Headers) {
	sanitizeRequest(h)
	if fe.SanitizeTrailers != nil {
		fe.SanitizeTrailers(h)
	}
}

// acceptsTrailers reports "TE: trailers": the one TE value that crosses a
// proxy, since gRPC servers insist on it.
func acceptsTrailers(h httpmsg.Headers) bool {
	for i := range h {
		if equalFoldASCII(h[i].Name, "TE") {
			for _, v := range splitComma(h[i].Value) {
				if equalFoldASCII(v, "trailers") {
					return true
				}
			}
		}
	}
	return false
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// originForm is the request-target's path and query as httpmsg.ParseTarget
// splits it ("/p?q" of "http://h/p?q"), "" when it has none: the stats
// uri matches there, as in HAProxy.
// pathOnly is an origin-form target without its query.
func pathOnly(target string) string {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		return target[:i]
	}
	return target
}

func originForm(uri string) string {
	tg, _ := httpmsg.ParseTarget(uri)
	p, _ := tg.OriginForm()
	return p
}

// isMonitorURI tells whether a request-target is the monitor-uri: one
// starting with '/' is compared with the target's path and query (so an
// absolute-form target, HTTP/2's habit, matches too), any other with the
// whole target, as HAProxy 2.6 compares them.
func isMonitorURI(target, monitor string) bool {
	if target == monitor {
		return true
	}
	if monitor[0] != '/' {
		return false
	}
	tg, _ := httpmsg.ParseTarget(target)
	p, ok := tg.OriginForm()
	return ok && p == monitor
}
