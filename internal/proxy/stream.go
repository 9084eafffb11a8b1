package proxy

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// clientStream is an HTTP/2 client stream (internal/h2.Stream) as the
// transaction sees it. A transaction with one answers through it; without
// one it answers on its HTTP/1 session. Rules, routing, identity and logs
// never look at which.
type clientStream interface {
	Request() *httpmsg.Request
	HeaderBytes() int
	Body() io.Reader
	Trailers() httpmsg.Headers
	WriteHead(resp *httpmsg.Response, endStream bool) error
	Write(p []byte) (int, error)
	Flush() error
	Close(trailers httpmsg.Headers) error
	Reset(code http2.ErrCode)
	Done() <-chan struct{}
	BytesOut() int64
}

var txnPool = sync.Pool{New: func() any { return new(Txn) }}

// serveStream runs one HTTP/2 request of session s: its own transaction,
// with the stream's own timers, beside the connection's other streams.
// The session is shared and only read here.
func (s *session) serveStream(st clientStream) {
	t := txnPool.Get().(*Txn)
	t.begin(s)
	t.down = st
	now := t.readClock()
	t.tRequest, t.tHead, t.now = now, now, now
	req := st.Request()
	hdr := append(t.Req.Header[:0], req.Header...)
	t.Req = *req
	t.Req.Header = hdr
	t.Req.Trailer = nil
	if req.Scheme != "" && req.URI != "*" {
		// HAProxy logs an HTTP/2 request with an :authority by its
		// absolute-form target, what its HTX start line holds.
		if host, ok := req.Header.Get("host"); ok {
			// In the transaction's arena: the one allocation an h2c
			// request still made (BenchmarkProxyH2c).
			start := len(t.arena)
			t.arena = append(append(append(append(t.arena, req.Scheme...), "://"...), host...), req.URI...)
			t.log.ReqMethod, t.log.ReqURI = req.Method, unsafeString(t.arena[start:])
		}
	}
	t.live = s.openStream(t.tHead)
	t.handle()
	s.closeStream(t.live)
	t.bytesOut = st.BytesOut()
	t.finish()
	t.reset()
	t.sess = nil
	t.down = nil
	txnPool.Put(t)
}

// streamBufPool holds the copy buffers of HTTP/2 bodies.
var streamBufPool = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// copyStreamBody sends an HTTP/2 request body to an HTTP/1.1 server,
// chunked when the client gave no length (the head announced it), with
// the client's trailers as sanitize leaves them.
func copyStreamBody(w *http1.Writer, st clientStream, chunked bool, sanitize func(*httpmsg.Headers)) (n int64, rerr, werr error) {
	write := func(p []byte) error { _, err := w.Write(p); return err }
	if chunked {
		write = w.WriteChunk
	}
	n, rerr, werr = pump(st.Body(), write, nil)
	if rerr == nil && werr == nil && chunked {
		var tr httpmsg.Headers
		if src := st.Trailers(); len(src) > 0 {
			tr = append(tr, src...) // the stream's own stay as received
			sanitize(&tr)
		}
		werr = w.WriteLastChunk(tr)
	}
	return n, rerr, werr
}

// pump copies src through a pooled buffer to write, calling flush after
// each write when given. It tells the source's failures (rerr) from the
// destination's (werr), so aborts are blamed on the right side.
func pump(src io.Reader, write func([]byte) error, flush func() error) (n int64, rerr, werr error) {
	bp := streamBufPool.Get().(*[]byte)
	defer streamBufPool.Put(bp)
	for {
		m, err := src.Read(*bp)
		if m > 0 {
			if e := write((*bp)[:m]); e != nil {
				return n, nil, e
			}
			if flush != nil {
				if e := flush(); e != nil {
					return n, nil, e
				}
			}
			n += int64(m)
		}
		if err == io.EOF {
			return n, nil, nil
		}
		if err != nil {
			return n, err, nil
		}
	}
}

// relayBodyToStream streams a server's response body to an HTTP/2 client
// as it arrives: what was read goes out whenever the next read would wait
// (always, without wouldBlock), so gRPC streams and server-sent events are
// never held back, and a small response leaves in one write with its end.
func relayBodyToStream(st clientStream, body io.Reader, wouldBlock func() bool) (n int64, rerr, werr error) {
	write := func(p []byte) error { _, err := st.Write(p); return err }
	return pump(body, write, func() error {
		if wouldBlock == nil || wouldBlock() {
			return st.Flush()
		}
		return nil
	})
}

// replyToStream writes a local answer (deny, return, redirect, error
// page, service) on an HTTP/2 stream.
func (t *Txn) replyToStream(r *Reply) bool {
	var resp httpmsg.Response
	var body []byte
	switch {
	case len(r.Header) == 1 && r.Header[0].Name == rawMarker[0].Name:
		resp, body = parseRawResponse(r.Body, r.Status)
	case r.Header == nil && r.Body == nil && r.Status >= 400:
		resp, body = parseRawResponse(http1.AppendErrorResponse(nil, r.Status, ""), r.Status)
	default:
		resp.Status = r.Status
		// A copy: services may hand out a Reply whose headers are shared.
		resp.Header = append(make(httpmsg.Headers, 0, len(r.Header)+2), r.Header...)
		resp.Header.Del("Content-Length")
		if bodyAllowed(r.Status) {
			resp.Header = append(resp.Header, httpmsg.Header{Name: "content-length", Value: strconv.Itoa(len(r.Body))})
		}
		if !resp.Header.Has("Cache-Control") && r.Status >= 400 && !r.AsIs {
			resp.Header = append(resp.Header, httpmsg.Header{Name: "cache-control", Value: "no-cache"})
		}
		body = r.Body
	}
	t.status = resp.Status
	if t.Req.Method == "HEAD" {
		body = nil
	}
	st := t.down
	if err := st.WriteHead(&resp, len(body) == 0); err != nil {
		return false
	}
	if len(body) > 0 {
		if _, err := st.Write(body); err != nil {
			return false
		}
		if err := st.Close(nil); err != nil {
			return false
		}
	}
	return st.Flush() == nil
}

// parseRawResponse splits a complete HTTP/1 response (an errorfile, a
// built-in error page) into head and body for HTTP/2, dropping the fields
// HTTP/2 forbids. A malformed errorfile degrades to the status alone.
func parseRawResponse(raw []byte, status int) (httpmsg.Response, []byte) {
	rd := http1.NewReader(bytes.NewReader(raw), http1.DefaultLimits())
	defer rd.Release()
	var resp httpmsg.Response
	if err := rd.ReadResponse(&resp, "GET"); err != nil {
		return httpmsg.Response{Status: status}, nil
	}
	body, _ := io.ReadAll(rd.Body(http1.ResponseFraming(&resp)))
	http1.StripHopByHop(&resp.Header)
	resp.Header.Del("Content-Length")
	out := httpmsg.Response{Status: resp.Status}
	for _, h := range resp.Header {
		// The reader's strings alias its buffer, released on return.
		out.Header = append(out.Header, httpmsg.Header{Name: strings.Clone(h.Name), Value: strings.Clone(h.Value)})
	}
	out.Header = append(out.Header, httpmsg.Header{Name: "content-length", Value: strconv.Itoa(len(body))})
	return out, body
}

// relayToStream writes a server's HTTP/1 response to an HTTP/2 client:
// the head, then the body as it arrives, then the end of stream with the
// server's chunked trailers.
func (t *Txn) relayToStream(srv *Server, uc *upConn, serverKeep bool) bool {
	resp, st := &t.Resp, t.down
	err := st.WriteHead(resp, resp.NoBody)
	if err != nil {
		t.noteBodyAbort(srv, nil, err)
		uc.close()
		return false
	}
	t.logASAP(st.BytesOut() - t.bytesOut)
	if resp.NoBody {
		t.giveBack(srv, uc, serverKeep)
		return true
	}
	body := uc.br.Body(http1.ResponseFraming(resp))
	if body.WouldBlock() {
		// The head goes out now: the body may be long in coming.
		if err := st.Flush(); err != nil {
			t.noteBodyAbort(srv, nil, err)
			uc.close()
			return false
		}
	}
	var rerr, werr error
	if t.comp.on {
		rerr, werr = t.compBody(t.cacheTee(body), streamWrite(st), st.Flush, body.WouldBlock)
	} else {
		_, rerr, werr = relayBodyToStream(st, t.cacheTee(body), body.WouldBlock)
	}
	if rerr == nil && werr == nil {
		werr = st.Close(body.Trailer())
	}
	if rerr != nil || werr != nil {
		if rerr != nil {
			// The client must not take a truncated body for a whole one.
			st.Reset(http2.ErrCodeInternal)
		}
		t.noteBodyAbort(srv, rerr, werr)
		uc.close()
		return false
	}
	t.compDone()
	t.cacheDone()
	t.giveBack(srv, uc, serverKeep)
	return true
}

// streamWrite writes p to an HTTP/2 stream's DATA.
func streamWrite(st clientStream) func([]byte) error {
	return func(p []byte) error { _, err := st.Write(p); return err }
}
