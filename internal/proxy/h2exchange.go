package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// h2Exchange is the state of one request sent over an HTTP/2 upstream
// stream: the request body flows on x/net's writer goroutine while the
// response streams back on ours, so gRPC's bidirectional streams and
// long uploads never wait for each other.
type h2Exchange struct {
	cancel   context.CancelFunc
	body     *upBody // nil without a request body
	resp     *http.Response
	timedOut atomic.Bool
	// bodyTimer enforces timeout server while the response body streams.
	bodyTimer *time.Timer
}

// upBody is the client's request body as the HTTP/2 transport reads it.
// It counts what crossed and tells client failures from server ones.
type upBody struct {
	r     io.Reader
	n     atomic.Int64
	rerr  error // the client's read error; valid after done
	done  chan struct{}
	once  sync.Once
	abort func() // unblocks a read in progress (the transport gave up on the body)
}

func (b *upBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n.Add(int64(n))
	if err != nil {
		b.end(err)
	}
	return n, err
}

func (b *upBody) end(err error) {
	b.once.Do(func() {
		if err != io.EOF {
			b.rerr = err
		}
		close(b.done)
	})
}

// Close is the transport giving the body back: finished, or abandoned
// because the stream ended first.
func (b *upBody) Close() error {
	select {
	case <-b.done:
	default:
		b.abort()
	}
	return nil
}

// settle waits until nothing reads the client's body any more: the
// session's reader (or the stream) is the transaction's again.
func (b *upBody) settle() {
	select {
	case <-b.done:
		return
	default:
	}
	b.abort()
	<-b.done
}

// exchangeH2 sends the request on a reserved stream of hc and waits for
// the response head, under timeout server.
func (t *Txn) exchangeH2(srv *Server, hc *h2Conn, reused bool) failure {
	x := &h2Exchange{}
	t.h2x = x
	ctx, cancel := context.WithCancel(context.Background())
	x.cancel = cancel
	if t.down != nil {
		// A client that resets its stream (gave up, deadline) ends the
		// server's stream too, instead of leaving it to run unheard.
		go cancelOnReset(ctx, cancel, t.down.Done())
	}
	req := t.h2Request(srv, ctx)
	if req == nil {
		return failTarget
	}
	if t.Req.Expect100 && t.down == nil {
		// The HTTP/2 transport has no 100-continue gate worth waiting
		// on: invite the body at once, as the server would.
		t.Resp.Status = 100
		err := t.writeInterim()
		t.Resp.Reset()
		if err != nil {
			return failClientAbort
		}
	}
	sentAt := t.readClock()
	var timer *time.Timer
	if to := t.serverTimeout(); to > 0 {
		timer = time.AfterFunc(to, func() {
			x.timedOut.Store(true)
			cancel()
		})
	}
	resp, err := hc.cc.RoundTrip(req)
	if timer != nil {
		timer.Stop()
	}
	t.now = t.readClock()
	t.tr = t.now.Sub(sentAt)
	if err != nil {
		cancel()
		var sent int64
		var clientErr error
		if x.body != nil {
			x.body.settle()
			sent, clientErr = x.body.n.Load(), x.body.rerr
			t.bytesIn += sent
		}
		switch {
		case clientErr != nil && !x.timedOut.Load() && !errors.Is(clientErr, errBodyAbandoned):
			return clientBodyFailure(clientErr)
		case x.timedOut.Load():
			return failTimeout
		case sent > 0:
			return failSendBody
		case isRefused(err):
			// GOAWAY or REFUSED_STREAM: the request was not processed.
			return staleOr(true, failEmpty)
		}
		return staleOr(reused, failEmpty)
	}
	x.resp = resp
	t.responseFromH2(resp)
	// tune.http.maxhdr: HAProxy 2.6 decodes an HTTP/2 head into a list of
	// 2*maxhdr entries, :status and an end marker included; a response
	// needing more is a 502 (PH).
	if len(t.Resp.Header)+2 > 2*maxHdr(t.sess.fe.Limits.MaxHeaders) {
		return failInvalid
	}
	return failNone
}

func cancelOnReset(ctx context.Context, cancel context.CancelFunc, reset <-chan struct{}) {
	select {
	case <-reset:
		cancel()
	case <-ctx.Done():
	}
}

// isRefused reports an error x/net guarantees left the request unprocessed.
func isRefused(err error) bool {
	var se http2.StreamError
	if errors.As(err, &se) && se.Code == http2.ErrCodeRefusedStream {
		return true
	}
	var ga http2.GoAwayError
	return errors.As(err, &ga)
}

var errBodyAbandoned = errors.New("proxy: request body abandoned by the upstream stream")

// h2Target sets u so that x/net sends as :path exactly the origin-form of
// the request-target, as httpmsg.ParseTarget splits it for the rules: the
// bytes the rules matched are the bytes the upstream gets. It reports false
// when no :path can carry them.
func h2Target(u *url.URL, req *httpmsg.Request) bool {
	tg, err := httpmsg.ParseTarget(req.URI)
	if err != nil {
		return false
	}
	var want string
	switch tg.Form {
	case httpmsg.FormAuthority: // CONNECT: x/net sends no :path
		u.Opaque = req.URI
		return true
	case httpmsg.FormAsterisk:
		u.Path, want = "*", "*"
	default:
		want, _ = tg.OriginForm()
		if !strings.HasPrefix(want, "//") {
			u.Opaque = want
			break
		}
		// An opaque "//x" would read as scheme ":" "//x": give the path
		// and the query separately instead.
		p, err := url.PathUnescape(tg.Path)
		if err != nil {
			return false
		}
		u.Path, u.RawPath = p, tg.Path
		u.RawQuery, u.ForceQuery = tg.Query, tg.HasQuery && tg.Query == ""
	}
	return u.RequestURI() == want
}

// h2Request builds the upstream request: the same head the rules left,
// without HTTP/1's connection-specific fields, which HTTP/2 forbids. It
// returns nil when the target cannot be sent as it is.
func (t *Txn) h2Request(srv *Server, ctx context.Context) *http.Request {
	req := &t.Req
	scheme := "http"
	if srv.TLS != nil {
		scheme = "https"
	}
	// Every string handed to x/net is a copy the request owns: after an
	// error RoundTrip may return while x/net's writer still encodes the
	// abandoned head, and the session's buffers, which req's strings view,
	// then already hold the client's next request.
	var own ownedStrings
	own.grow(req)
	host, _ := req.Header.Get("Host")
	host = own.copy(host)
	u := &url.URL{Scheme: scheme, Host: host}
	if !h2Target(u, req) {
		return nil
	}
	u.Opaque, u.Path, u.RawPath, u.RawQuery = own.copy(u.Opaque), own.copy(u.Path), own.copy(u.RawPath), own.copy(u.RawQuery)
	h := make(http.Header, len(req.Header)+1)
	for _, f := range req.Header {
		if equalFoldASCII(f.Name, "Host") || http1.IsHopByHop(f.Name) || equalFoldASCII(f.Name, "Expect") {
			continue
		}
		name := f.Name
		if _, seen := h[name]; !seen {
			name = own.copy(name)
		}
		h[name] = append(h[name], own.copy(f.Value))
	}
	if t.teTrailers {
		h["Te"] = []string{"trailers"}
	}
	if _, ok := h["User-Agent"]; !ok && !req.Header.Has("User-Agent") {
		// An empty value keeps x/net from inventing "Go-http-client".
		h["User-Agent"] = []string{""}
	}
	out := (&http.Request{
		Method:     own.copy(req.Method),
		URL:        u,
		Host:       host,
		Header:     h,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
	}).WithContext(ctx)
	if req.HasBody() {
		var src io.Reader
		abort := func() {}
		if t.down != nil {
			src = t.down.Body()
			st := t.down
			abort = func() { st.Reset(http2.ErrCodeNo) }
		} else {
			src = t.sess.br.Body(http1.RequestFraming(req))
			conn := t.sess.conn
			abort = func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) }
		}
		b := &upBody{r: src, done: make(chan struct{})}
		b.abort = func() {
			b.end(errBodyAbandoned)
			abort()
		}
		out.Body = b
		out.ContentLength = -1
		if !req.Chunked && req.ContentLength >= 0 {
			out.ContentLength = req.ContentLength
		}
		t.h2x.body = b
	}
	return out
}

// ownedStrings copies strings into one allocation sized up front.
type ownedStrings struct{ buf []byte }

// grow reserves room for everything h2Request may copy of req: the target
// (which the path, query and opaque forms are cut from, twice at most),
// the method and every header field.
func (o *ownedStrings) grow(req *httpmsg.Request) {
	n := len(req.Method) + 2*len(req.URI)
	for _, f := range req.Header {
		n += len(f.Name) + len(f.Value)
	}
	o.buf = make([]byte, 0, n)
}

func (o *ownedStrings) copy(s string) string {
	if s == "" {
		return ""
	}
	if len(o.buf)+len(s) > cap(o.buf) {
		return strings.Clone(s) // more than grow foresaw (an unescaped path)
	}
	start := len(o.buf)
	o.buf = append(o.buf, s...)
	return unsafeString(o.buf[start:])
}

// responseFromH2 fills t.Resp, which rules and logs read, from x/net's response.
func (t *Txn) responseFromH2(resp *http.Response) {
	r := &t.Resp
	r.Reset()
	r.Status = resp.StatusCode
	r.Proto, r.Major, r.Minor = "HTTP/2.0", 2, 0
	r.ContentLength = resp.ContentLength
	for name, vv := range resp.Header {
		for _, v := range vv {
			r.Header = append(r.Header, httpmsg.Header{Name: name, Value: v})
		}
	}
	r.NoBody = t.Req.Method == "HEAD" || r.Status == 204 || r.Status == 304 || r.Status < 200
}

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
	body := t.cacheTee(&idleBody{r: x.resp.Body, idle: t.serverTimeout(), x: x})
	var rerr, werr error
	if t.down != nil {
		_, rerr, werr = t.relayH2ToStream(body)
	} else {
		_, rerr, werr = t.relayH2ToH1(body)
	}
	if rerr != nil || werr != nil {
		if x.timedOut.Load() {
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

// finish ends the exchange: the stream is released and nothing reads the
// client's body any more.
func (x *h2Exchange) finish(t *Txn) {
	if x == nil {
		return
	}
	if x.resp != nil {
		x.resp.Body.Close()
	}
	x.cancel()
	if b := x.body; b != nil {
		b.settle()
		t.bytesIn += b.n.Load()
		if b.rerr != nil {
			// The body was not read to its end: on HTTP/1 its rest would
			// be taken for the next request.
			t.closeAfter = true
		}
	}
	if x.bodyTimer != nil {
		x.bodyTimer.Stop()
	}
	t.h2x = nil
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
		if len(t.h2x.resp.Trailer) == 0 {
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
		werr = st.Close(trailersOf(t.h2x.resp))
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
	declared := t.h2x.resp.Trailer
	if len(declared) > 0 && !client10 && !resp.NoBody {
		// Only chunked framing carries trailers in HTTP/1.1.
		resp.ContentLength = -1
		for name := range declared {
			resp.Header.Add("Trailer", name)
		}
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
	if t.closeAfter {
		resp.Header.Add("Connection", "close")
	} else if client10 {
		resp.Header.Add("Connection", "keep-alive")
	}
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
		if err := bw.WriteLastChunk(trailersOf(t.h2x.resp)); err != nil {
			return n, nil, err
		}
	}
	return n, nil, bw.Flush()
}

// trailersOf converts the trailers x/net collected once the body ended.
func trailersOf(resp *http.Response) httpmsg.Headers {
	if len(resp.Trailer) == 0 {
		return nil
	}
	var h httpmsg.Headers
	for name, vv := range resp.Trailer {
		for _, v := range vv {
			h = append(h, httpmsg.Header{Name: name, Value: v})
		}
	}
	return h
}

// idleBody reads a response body under timeout server as an inactivity
// bound: a gRPC stream lives as long as messages keep coming.
type idleBody struct {
	r    io.Reader
	idle time.Duration
	x    *h2Exchange
}

func (b *idleBody) Read(p []byte) (int, error) {
	if x := b.x; b.idle > 0 {
		if x.bodyTimer == nil {
			x.bodyTimer = time.AfterFunc(b.idle, func() {
				x.timedOut.Store(true)
				x.cancel()
			})
		} else {
			x.bodyTimer.Reset(b.idle)
		}
	}
	return b.r.Read(p)
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
