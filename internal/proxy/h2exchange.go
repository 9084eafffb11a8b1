package proxy

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/h2"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// h2Exchange is the state of one request sent over an HTTP/2 upstream
// stream. The request's goroutine writes the head and waits for the
// response on the stream, which the connection's reader fills; a request
// body goes on a goroutine of its own, so gRPC's bidirectional streams and
// long uploads never wait for the response, nor it for them. Exchanges
// are pooled: the stream's buffers and timer serve the next request.
type h2Exchange struct {
	st       h2.ClientStream
	req      h2.ClientRequest
	body     *upBody // nil without a request body
	resp     h2Body  // the response body as the relay reads it
	timedOut bool
}

var h2xPool = sync.Pool{New: func() any { return new(h2Exchange) }}

// upBody is the client's request body on its way to the stream. It counts
// what crossed and tells client failures from server ones.
type upBody struct {
	n       atomic.Int64
	rerr    error // the client's read error, or errBodyAbandoned; valid after done
	done    chan struct{}
	aborted atomic.Bool
	abort   func() // unblocks a read of the client's body in progress
}

// sendH2Body copies the client's body to st, then ends the stream's
// request side. A client error resets the stream: the server must not
// take a truncated body for a whole one.
func sendH2Body(st *h2.ClientStream, src io.Reader, b *upBody) {
	defer close(b.done)
	bp := streamBufPool.Get().(*[]byte)
	defer streamBufPool.Put(bp)
	for {
		n, err := src.Read(*bp)
		if n > 0 {
			b.n.Add(int64(n))
			if _, werr := st.Write((*bp)[:n]); werr != nil {
				b.rerr = errBodyAbandoned // the stream ended first: the rest stays unread
				return
			}
		}
		if err == io.EOF {
			// The client's body was read whole, so its connection is in
			// step whatever happens to the stream (a server may answer
			// before our END_STREAM, and the stream is reset then).
			_ = st.CloseSend()
			return
		}
		if err != nil {
			b.rerr = err
			if b.aborted.Load() {
				b.rerr = errBodyAbandoned
			}
			st.Cancel()
			return
		}
	}
}

// settle waits until nothing reads the client's body any more: the
// session's reader (or the stream) is the transaction's again. The
// upstream stream must be released first, so a send waiting for its
// window gives up.
func (b *upBody) settle() {
	select {
	case <-b.done:
		return
	default:
	}
	b.aborted.Store(true)
	b.abort()
	<-b.done
}

// exchangeH2 sends the request on a reserved stream of hc and waits for
// the response head, under timeout server.
func (t *Txn) exchangeH2(srv *Server, hc *h2Conn, reused bool) failure {
	x := h2xPool.Get().(*h2Exchange)
	t.h2x = x
	var cancel <-chan struct{}
	if t.down != nil {
		// A client that resets its stream (gave up, deadline) ends the
		// server's stream too, instead of leaving it to run unheard.
		cancel = t.down.Done()
	}
	x.st.SetWait(t.serverTimeout(), cancel)
	if !t.h2Request(srv, &x.req) {
		hc.cc.Unreserve()
		return failTarget
	}
	if t.Req.Expect100 && t.down == nil {
		// No 100-continue gate worth waiting on: invite the body at
		// once, as the server would.
		t.Resp.Status = 100
		err := t.writeInterim()
		t.Resp.Reset()
		if err != nil {
			hc.cc.Unreserve()
			return failClientAbort
		}
	}
	sentAt := t.readClock()
	err := hc.cc.Start(&x.st, &x.req)
	x.req.Header = nil // the transaction's, not the pool's
	if err == nil && t.Req.HasBody() {
		t.startH2Body(x)
	}
	if err == nil {
		err = t.awaitH2Head(x)
	}
	t.now = t.readClock()
	t.tr = t.now.Sub(sentAt)
	if err == nil {
		// tune.http.maxhdr: HAProxy 2.6 decodes an HTTP/2 head into a list of
		// 2*maxhdr entries, :status and an end marker included; a response
		// needing more is a 502 (PH).
		if len(t.Resp.Header)+2 > 2*maxHdr(t.sess.fe.Limits.MaxHeaders) {
			return failInvalid
		}
		return failNone
	}
	x.st.Release()
	var sent int64
	var clientErr error
	if b := x.body; b != nil {
		b.settle()
		sent, clientErr = b.n.Load(), b.rerr
	}
	switch {
	case errors.Is(err, h2.ErrBadField):
		return failTarget
	case clientErr != nil && !errors.Is(err, h2.ErrTimeout) && !errors.Is(clientErr, errBodyAbandoned):
		return clientBodyFailure(clientErr)
	case errors.Is(err, h2.ErrTimeout):
		x.timedOut = true
		return failTimeout
	case errors.Is(err, h2.ErrCanceled):
		return failClientAbort
	case sent > 0:
		return failSendBody
	case errors.Is(err, h2.ErrRefused):
		// GOAWAY or REFUSED_STREAM: the request was not processed.
		return staleOr(true, failEmpty)
	case errors.Is(err, h2.ErrMalformed):
		return failInvalid
	}
	return staleOr(reused, failEmpty)
}

// awaitH2Head waits for the final response head into t.Resp, relaying
// interim ones (103 Early Hints) to the client; a 100 Continue is not
// relayed (the body was invited already, or the client speaks HTTP/2 and
// sends it anyway).
func (t *Txn) awaitH2Head(x *h2Exchange) error {
	for {
		final, err := x.st.ReadHead(&t.Resp)
		if err != nil || final {
			return err
		}
		if t.Resp.Status != 100 {
			_ = t.writeInterim()
		}
		t.Resp.Reset()
	}
}

// startH2Body sends the request body on its own goroutine.
func (t *Txn) startH2Body(x *h2Exchange) {
	var src io.Reader
	var abort func()
	if t.down != nil {
		src = t.down.Body()
		st := t.down
		abort = func() { st.Reset(http2.ErrCodeNo) }
	} else {
		src = t.sess.br.Body(http1.RequestFraming(&t.Req))
		conn := t.sess.conn
		abort = func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) }
	}
	b := &upBody{done: make(chan struct{}), abort: abort}
	x.body = b
	go sendH2Body(&x.st, src, b)
}

var errBodyAbandoned = errors.New("proxy: request body abandoned by the upstream stream")

// h2Path is the :path of the request: exactly the origin-form of the
// request-target as httpmsg.ParseTarget splits it for the rules, so the
// bytes the rules matched are the bytes the upstream gets; "*" for
// OPTIONS *. false when no :path can carry it (CONNECT).
func h2Path(req *httpmsg.Request) (string, bool) {
	tg, err := httpmsg.ParseTarget(req.URI)
	if err != nil {
		return "", false
	}
	if tg.Form == httpmsg.FormAsterisk {
		return "*", true
	}
	return tg.OriginForm()
}

// h2Request fills out with the upstream request: the same head the rules
// left, without HTTP/1's connection-specific fields, which HTTP/2 forbids
// (h2.ClientConn drops them and Host; Expect is answered here). It
// reports false when the target cannot be sent as it is.
func (t *Txn) h2Request(srv *Server, out *h2.ClientRequest) bool {
	req := &t.Req
	path, ok := h2Path(req)
	if !ok {
		return false
	}
	scheme := "http"
	if srv.TLS != nil {
		scheme = "https"
	}
	host, _ := req.Header.Get("Host")
	*out = h2.ClientRequest{
		Method:    req.Method,
		Scheme:    scheme,
		Authority: host,
		Path:      path,
		Header:    req.Header,
		Skip:      skipH2Field,
		TE:        t.teTrailers,
		EndStream: !req.HasBody(),
	}
	return true
}

// skipH2Field: the client's TE goes only as "te: trailers" (TE above), and
// Expect is answered by the proxy.
func skipH2Field(name string) bool { return name == "te" || name == "expect" }

// relayH2Response runs the response rules and streams the response of an
// HTTP/2 server to the client, on either protocol, trailers included.
func (t *Txn) relayH2Response(srv *Server) bool {
	x := t.h2x
	be, fe := t.be, t.sess.fe
	defer srv.Release()
	defer t.noteTotal(srv)
	// The body comes from the HTTP/2 connection's reader, not through a
	// timed reader: the clock reading is stale by the end (runs first).
	defer t.clk.spend()
	defer x.finish(t)
	defer t.followBytes()()
	t.noteResponse(srv)
	t.compResponse(true) // HTTP/2 frames delimit every body
	if fe.Inbound != nil {
		fe.Inbound(&t.Resp.Header)
	}
	if t.runResponseRules(be.RespRules) != verdictReply {
		t.stickProxy(fe.Stick)
		t.runResponseRules(fe.RespRules)
	}
	t.checkCache(srv) // option checkcache
	if t.reply != nil || t.kill != killNone {
		if t.deniedResp {
			be.Counters.DenyResp.Add(1)
			fe.Counters.DenyResp.Add(1)
		}
		return t.sendReply()
	}
	t.persistResponse(srv)
	// After the persistence cookie, as HAProxy's http_process_res_common.
	if t.hasAfterRules() {
		t.runAfterRules()
	}
	t.countStatus(srv)
	if t.compHead() {
		t.Resp.ContentLength = -1 // unknown now: chunked towards HTTP/1.1
	}
	x.resp.x = x
	body := t.cacheTee(&x.resp)
	var rerr, werr error
	if t.down != nil {
		_, rerr, werr = t.relayH2ToStream(body)
	} else {
		_, rerr, werr = t.relayH2ToH1(body)
	}
	if rerr != nil || werr != nil {
		if x.timedOut {
			rerr = errH2Timeout
		}
		t.noteBodyAbort(srv, rerr, werr)
		t.closeAfter = true
		return false
	}
	t.compDone()
	t.cacheDone()
	return !t.closeAfter
}

var errH2Timeout = &timeoutError{}

type timeoutError struct{}

func (*timeoutError) Error() string   { return "proxy: timeout server" }
func (*timeoutError) Timeout() bool   { return true }
func (*timeoutError) Temporary() bool { return true }

// finish ends the exchange: the stream is released (reset if it is still
// open) and nothing reads the client's body any more.
func (x *h2Exchange) finish(t *Txn) {
	if x == nil {
		return
	}
	x.st.Release()
	if b := x.body; b != nil {
		b.settle()
		t.bytesIn += b.n.Load()
		if b.rerr != nil {
			// The body was not read to its end: on HTTP/1 its rest would
			// be taken for the next request.
			t.closeAfter = true
		}
	}
	t.h2x = nil
	x.body, x.timedOut = nil, false
	x.st.SetWait(0, nil)
	h2xPool.Put(x)
}

func (t *Txn) relayH2ToStream(body io.Reader) (n int64, rerr, werr error) {
	st, resp := t.down, &t.Resp
	if !resp.NoBody && resp.ContentLength == 0 {
		// An empty body: wait for its end before the head goes out, so a
		// response that ended with its head (gRPC's trailers-only errors,
		// grpc-status in the head) ends with its head here too.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return 0, err, nil
		}
		if !resp.Header.Has("Trailer") && len(t.h2x.st.Trailers()) == 0 {
			resp.NoBody = true
		}
	}
	if err := st.WriteHead(resp, resp.NoBody); err != nil {
		return 0, nil, err
	}
	t.logASAP(st.BytesOut() - t.bytesOut)
	if resp.NoBody {
		return 0, nil, nil
	}
	// A stream's head goes out at once: gRPC clients wait for it.
	if err := st.Flush(); err != nil {
		return 0, nil, err
	}
	if t.comp.on {
		rerr, werr = t.compBody(body, streamWrite(st), st.Flush, nil)
	} else {
		n, rerr, werr = relayBodyToStream(st, body, nil)
	}
	if rerr != nil {
		st.Reset(http2.ErrCodeInternal)
		return n, rerr, werr
	}
	if werr == nil {
		werr = st.Close(t.h2x.st.Trailers())
	}
	return n, nil, werr
}

// relayH2ToH1 writes the response to an HTTP/1 client: with its length
// when the server gave one and announced no trailers, else chunked
// (HTTP/1.1, trailers in the last chunk) or delimited by close (HTTP/1.0).
func (t *Txn) relayH2ToH1(body io.Reader) (n int64, rerr, werr error) {
	s, resp := t.sess, &t.Resp
	client10 := t.Req.Major == 1 && t.Req.Minor == 0
	chunked := false
	if !client10 && !resp.NoBody && resp.Header.Has("Trailer") {
		// Only chunked framing carries trailers in HTTP/1.1.
		resp.ContentLength = -1
	}
	if !resp.NoBody && resp.ContentLength == 0 && !resp.Header.Has("Content-Length") {
		// Ended with its head: say so, or HTTP/1 would read until close.
		resp.Header.Add("Content-Length", "0")
	}
	if !resp.NoBody && resp.ContentLength < 0 {
		resp.Header.Del("Content-Length")
		if client10 {
			t.closeAfter = true
		} else {
			chunked = true
			resp.Header.Add("Transfer-Encoding", "chunked")
		}
	}
	addConnection(&resp.Header, t.closeAfter, client10, false)
	bw := s.bw
	before := s.out.n
	defer func() { t.bytesOut += s.out.n - before }()
	if err := bw.WriteResponseHead(resp); err != nil {
		return 0, nil, err
	}
	t.logASAP(s.out.n + int64(bw.Buffered()) - before)
	if resp.NoBody {
		return 0, nil, bw.Flush()
	}
	write := func(p []byte) error { _, err := bw.Write(p); return err }
	if chunked {
		write = bw.WriteChunk
	}
	if t.comp.on {
		rerr, werr = t.compBody(body, write, bw.Flush, nil)
	} else {
		n, rerr, werr = pump(body, write, bw.Flush)
	}
	if rerr != nil {
		_ = bw.Flush()
	}
	if rerr != nil || werr != nil {
		return n, rerr, werr
	}
	if chunked {
		if err := bw.WriteLastChunk(t.h2x.st.Trailers()); err != nil {
			return n, nil, err
		}
	}
	return n, nil, bw.Flush()
}

// h2Body reads the response body under timeout server as an inactivity
// bound (h2.ClientStream.SetWait): a gRPC stream lives as long as
// messages keep coming.
type h2Body struct{ x *h2Exchange }

func (b *h2Body) Read(p []byte) (int, error) {
	n, err := b.x.st.Read(p)
	if err == h2.ErrTimeout {
		b.x.timedOut = true
	}
	return n, err
}

// maxHdr is the tune.http.maxhdr value behind http1.Limits.MaxHeaders,
// which leaves out the start line (negative: maxhdr 1; 0: the default).
func maxHdr(fields int) int {
	switch {
	case fields < 0:
		return 1
	case fields == 0:
		return http1.DefaultMaxHeaders + 1
	}
	return fields + 1
}
