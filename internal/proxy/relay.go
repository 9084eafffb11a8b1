package proxy

import (
	"crypto/sha1"
	"encoding/base64"
	"io"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// relayResponse runs the response rules, writes the response to the
// client, streams its body and returns the upstream connection to the pool
// when it can carry another request.
func (t *Txn) relayResponse(srv *Server, uc *upConn) bool {
	be, fe := t.be, t.sess.fe
	resp := &t.Resp
	// One defer: with three and this many returns, Go could not open-code
	// them and pushed a record for each on every request.
	defer t.relayEnd(srv, t.startFollowing())
	t.noteResponse(srv)

	if switchedProtocols(t.Req.Method, resp.Status) {
		if !t.switchAllowed() {
			return t.badSwitch(srv, uc)
		}
		if resp.Status != 101 {
			// RFC 9110 §9.3.6: the server is now a tunnel; framing fields
			// in its 2xx mean nothing, and a client must not be led to
			// read a body.
			resp.Header.Del("Content-Length")
			resp.Header.Del("Transfer-Encoding")
		}
		// No response rules here, but the cookie is processed, as
		// HAProxy does for a 101.
		t.persistResponse(srv)
		return t.tunnel(srv, uc)
	}
	// The server connection is reused unless either side's option asks
	// to close it (http-server-close, httpclose) or the server did.
	serverKeep := !resp.Close && !t.bodyUnsent && be.ConnMode == config.ConnKeepAlive && fe.ConnMode == config.ConnKeepAlive &&
		!(resp.ContentLength < 0 && !resp.Chunked && !resp.NoBody)

	// Compression is decided on the server's head, before the rules.
	t.compResponse(resp.ContentLength >= 0 || resp.Chunked)
	// Backend response rules first, then the frontend's, as HAProxy.
	if fe.Inbound != nil {
		fe.Inbound(&t.Resp.Header)
	}
	http1.DropConnectionOptions(&resp.Header) // the rules see what HAProxy's see
	if t.runResponseRules(be.RespRules) != verdictReply {
		t.stickProxy(fe.Stick)
		t.runResponseRules(fe.RespRules)
	}
	t.checkCache(srv) // option checkcache
	if t.reply != nil || t.kill != killNone {
		// http-response deny / return replaced the response: the server's
		// body is not wanted, and its connection cannot be reused.
		if t.deniedResp {
			be.Counters.DenyResp.Add(1)
			fe.Counters.DenyResp.Add(1)
		}
		uc.close()
		return t.sendReply()
	}
	t.persistResponse(srv)
	// After the persistence cookie, as HAProxy's http_process_res_common.
	if t.hasAfterRules() {
		t.runAfterRules()
	}

	http1.StripHopByHop(&resp.Header)
	compressed := t.compHead()
	if t.down != nil {
		t.countStatus(srv)
		return t.relayToStream(srv, uc, serverKeep)
	}
	// Framing towards the client: chunked stays chunked for HTTP/1.1; a
	// body delimited by the server's close is chunked so the client
	// connection survives; HTTP/1.0 clients get the raw body ended by close.
	// An HTTP/1.0 answer keeps its version on the status line (HAProxy's
	// h1_format_htx_stline), and a 1.0 message cannot be chunked: its
	// close-delimited body closes the client connection too.
	client10 := t.Req.Major == 1 && t.Req.Minor == 0
	resp10 := resp.Major == 1 && resp.Minor == 0
	untilClose := resp.ContentLength < 0 && !resp.Chunked && !resp.NoBody
	switch {
	case (client10 || resp10) && untilClose, client10 && resp.Chunked:
		t.closeAfter = true
	case resp.Chunked || untilClose || compressed:
		resp.Header = append(resp.Header, httpmsg.Header{Name: "Transfer-Encoding", Value: "chunked"})
	}
	// A stop, or a reload that dropped this bind, since the request began.
	t.closeAfter = t.closeAfter || t.sess.lst.retiring()
	addConnection(&resp.Header, t.closeAfter, client10, resp10)
	t.countStatus(srv)

	cw := t.sess.bw
	cw.AcceptInvalid = t.be.AcceptInvalidResp // relay what it let in
	before := t.sess.out.n
	head := before + int64(cw.Buffered())
	_ = cw.WriteResponseHead(resp)
	t.logASAP(t.sess.out.n + int64(cw.Buffered()) - head)
	if resp.NoBody {
		if err := cw.Flush(); err != nil {
			t.closeAfter = true
			t.termState = [2]byte{'C', 'D'}
		}
		t.bytesOut += t.sess.out.n - before
		t.giveBack(srv, uc, serverKeep)
		return !t.closeAfter
	}
	// Bodies larger than a buffer, and streams, go out whenever the server
	// has no more for now: bulk transfers keep both sockets busy (1 MiB
	// responses: 0.87 -> 0.98 of HAProxy), and server-sent events never
	// wait for a full buffer. Small bodies leave with their head, unless
	// "option http-no-delay" (frontend or backend) asks for every byte
	// at once, as HAProxy then never holds data back (no MSG_MORE).
	flush := fe.NoDelay || be.NoDelay || resp.ContentLength < 0 || resp.ContentLength > int64(fe.Limits.BufSize)
	opt := http1.CopyOptions{Flush: flush, Chunk: untilClose && !client10 && !resp10}
	var rerr, werr error
	if compressed {
		// HTTP/1.1 only (the decision excludes 1.0): chunked, ended by
		// the server's trailers if any.
		body := uc.br.Body(http1.ResponseFraming(resp))
		rerr, werr = t.compBody(t.cacheTee(body), cw.WriteChunk, cw.Flush, body.WouldBlock)
		if rerr == nil && werr == nil {
			werr = cw.WriteLastChunk(body.Trailer())
		}
	} else if t.cache.store != nil {
		rerr, werr = t.cacheRelayH1(cw, uc.br.Body(http1.ResponseFraming(resp)), resp.Chunked && !client10 || untilClose && !client10 && !resp10, flush)
	} else if client10 && resp.Chunked {
		_, rerr, werr = copyDechunked(cw, uc.br.Body(http1.ResponseFraming(resp)))
	} else {
		_, rerr, werr = uc.br.CopyBody(cw, http1.ResponseFraming(resp), opt)
	}
	if rerr == nil && werr == nil {
		werr = cw.Flush()
	}
	t.bytesOut += t.sess.out.n - before
	if rerr != nil || werr != nil {
		if rerr != nil {
			// Deliver what the server did send: the client sees the
			// status and a short body, then the close (as with HAProxy).
			sent := t.sess.out.n
			_ = cw.Flush()
			t.bytesOut += t.sess.out.n - sent
		}
		t.noteBodyAbort(srv, rerr, werr)
		uc.close()
		t.closeAfter = true
		return false
	}
	t.compDone()
	t.cacheDone()
	t.giveBack(srv, uc, serverKeep)
	return !t.closeAfter
}

// noteResponse accounts a response head from srv and captures its fields.
// relayEnd closes relayResponse: the byte counting followBytes started
// (following) stops, the exchange's duration is counted, srv's slot goes.
func (t *Txn) relayEnd(srv *Server, following bool) {
	if following {
		t.stopFollowing()
	}
	t.noteTotal(srv)
	srv.Release()
}

func (t *Txn) noteResponse(srv *Server) {
	be := t.be
	t.acl.Resp = &t.Resp
	srv.Observe(upstream.OutcomeHTTP, t.Resp.Status)
	t.stick.Response(t.Resp.Status)
	srv.Counters.ReqTot.Add(1)
	srv.Counters.QTime.AddDuration(t.tw)
	srv.Counters.CTime.AddDuration(t.tc)
	srv.Counters.RTime.AddDuration(t.tr)
	srv.Counters.RespTime.Observe(t.tr)
	be.Counters.RespTime.Observe(t.tr)
	t.captureResponse()
	t.stickStore(srv)
}

// noteTotal accounts the whole exchange's duration once the body is through.
func (t *Txn) noteTotal(srv *Server) {
	total := t.markDone().Sub(t.tRequest)
	srv.Counters.TTime.AddDuration(total)
	srv.Counters.TotalTime.Observe(total)
	t.be.Counters.TotalTime.Observe(total)
}

// countStatus accounts the response status the client gets from srv.
func (t *Txn) countStatus(srv *Server) {
	t.status = t.Resp.Status
	t.be.Counters.CountStatus(t.status)
	srv.Counters.CountStatus(t.status)
}

// noteBodyAbort accounts a response body cut short: by the server (rerr)
// or by the client (werr), with HAProxy's termination state.
func (t *Txn) noteBodyAbort(srv *Server, rerr, werr error) {
	if rerr != nil {
		t.be.Counters.SrvAbort.Add(1)
		srv.Counters.SrvAbort.Add(1)
		if isTimeout(rerr) {
			t.termState = [2]byte{'s', 'D'}
		} else {
			t.termState = [2]byte{'S', 'D'}
		}
		return
	}
	t.sess.fe.Counters.CliAbort.Add(1)
	t.be.Counters.CliAbort.Add(1)
	if isTimeout(werr) {
		t.termState = [2]byte{'c', 'D'}
	} else {
		t.termState = [2]byte{'C', 'D'}
	}
}

// giveBack returns a healthy upstream connection to its server's pool.
// One that switched protocols (a 101, a 2xx to CONNECT) is never pooled,
// whatever path got here: the next request would go into the tunnel.
func (t *Txn) giveBack(srv *Server, uc *upConn, keep bool) {
	if !keep || uc.br.Buffered() > 0 || switchedProtocols(t.Req.Method, t.Resp.Status) {
		uc.close()
		return
	}
	// The next user sets its own deadline; the idle probe reads the raw
	// socket, which no deadline affects.
	uc.br.Release()
	uc.bw.Release()
	if uc.c.Key.Owner != 0 && !t.sess.priv.add(srv, uc.c.Key) {
		uc.close() // the session holds as many private connections as it may
		return
	}
	srv.Pool().Put(uc.c)
}

// copyDechunked sends a chunked body's data raw (for HTTP/1.0 clients),
// telling read errors from write errors.
func copyDechunked(w *http1.Writer, body io.Reader) (n int64, rerr, werr error) {
	return pump(body, func(p []byte) error { _, err := w.Write(p); return err }, nil)
}

// switchedProtocols reports a response after which the server's
// connection no longer speaks HTTP.
func switchedProtocols(method string, status int) bool {
	return status == 101 || method == "CONNECT" && status >= 200 && status < 300
}

// switchAllowed says whether the protocol switch in t.Resp answers what
// the client asked for: a 2xx to its CONNECT, or a 101 to its Upgrade with,
// for WebSocket, the Sec-WebSocket-Accept that proves the server read this
// handshake (RFC 6455 §4.1). Tunnels run over HTTP/1.1 client connections
// only.
func (t *Txn) switchAllowed() bool {
	if t.down != nil {
		return false
	}
	if t.Resp.Status != 101 {
		return true
	}
	if t.Req.Upgrade == "" {
		return false
	}
	if !http1.HasToken(t.Req.Upgrade, "websocket") {
		return true
	}
	key, _ := t.Req.Header.Get("Sec-WebSocket-Key")
	accept, ok := t.Resp.Header.Get("Sec-WebSocket-Accept")
	return ok && key != "" && accept == websocketAccept(key)
}

// websocketAccept is the Sec-WebSocket-Accept that answers key.
func websocketAccept(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// badSwitch answers 502 to a protocol switch nobody asked for, as HAProxy
// does (PH--): relaying it would hand the client a connection in a state
// it did not request, and the server's connection is no longer HTTP.
func (t *Txn) badSwitch(srv *Server, uc *upConn) bool {
	uc.close()
	srv.Observe(upstream.OutcomeHTTPInvalid, 0)
	return t.failAnswer(failInvalid)
}

// addConnection adds the Connection value HAProxy's H1 mux writes to the
// client (h1_update_res_conn_value), named in lower case as HAProxy
// writes it: "close" only on an HTTP/1.1 answer (a 1.0 one closes by
// default), "keep-alive" when the answer or the request is HTTP/1.0 (their
// default is to close).
func addConnection(h *httpmsg.Headers, closing, client10, resp10 bool) {
	if v := connValue(closing, client10, resp10); v != "" {
		h.Add("connection", v)
	}
}

func connValue(closing, client10, resp10 bool) string {
	switch {
	case closing && !resp10:
		return "close"
	case !closing && (client10 || resp10):
		return "keep-alive"
	}
	return ""
}
