package proxy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// h3Stream is one HTTP/3 request stream, as quic-go's http3 server hands
// it to a handler, seen by the transaction as a clientStream: the same
// rules, routing, identity, exchange and logs as an HTTP/2 stream.
type h3Stream struct {
	w        http.ResponseWriter
	r        *http.Request
	qc       *quic.Conn
	req      httpmsg.Request
	hdrBytes int
	body     io.Reader
	bytesOut atomic.Int64
	// idle is timeout client: a client that sends nothing of its body, or
	// takes nothing of the response (no flow-control credit), for that
	// long fails the stream, as on HTTP/1 and HTTP/2 (0: none).
	idle time.Duration
	// aborted: Reset asked for the stream to be reset; the handler panics
	// with http.ErrAbortHandler when the transaction is done, which makes
	// quic-go reset both directions.
	aborted atomic.Bool
}

// errH3Malformed: a request HTTP/3 forbids (RFC 9114 §4.2, §4.3.1).
var errH3Malformed = errors.New("proxy: malformed HTTP/3 request")

// newH3Stream maps quic-go's request onto the internal one. quic-go keeps
// fields in a map: they come in name order (host first, cookie last, as
// HTTP/2's), not in the client's order.
func newH3Stream(w http.ResponseWriter, r *http.Request, qc *quic.Conn, idle time.Duration) (*h3Stream, error) {
	st := &h3Stream{w: w, r: r, qc: qc, body: r.Body, idle: idle}
	req := &st.req
	req.Method = r.Method
	req.URI = r.RequestURI
	// HAProxy 2.6's HTTP/3 start line is the :path with "HTTP/3.0", the
	// :authority a host field: logged in origin form, unlike HTTP/2's.
	req.Proto, req.Major, req.Minor = "HTTP/3.0", 3, 0
	if r.Method == http.MethodConnect {
		// Neither a tunnel nor extended CONNECT is relayed over HTTP/3.
		return nil, errH3Malformed
	}
	if tg, err := httpmsg.ParseTarget(req.URI); err != nil ||
		tg.Form != httpmsg.FormOrigin && (tg.Form != httpmsg.FormAsterisk || r.Method != http.MethodOptions) {
		return nil, errH3Malformed
	}
	if !httpguts.ValidHostHeader(r.Host) {
		return nil, errH3Malformed
	}
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	hdr := make(httpmsg.Headers, 0, len(r.Header)+2)
	hdr = append(hdr, httpmsg.Header{Name: "host", Value: r.Host})
	st.hdrBytes = len(r.Method) + len(req.URI) + len("host") + len(r.Host)
	var cookie []string
	for _, name := range names {
		lname := strings.ToLower(name)
		vv := r.Header[name]
		switch lname {
		case "host":
			continue // quic-go checked it equals :authority
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return nil, errH3Malformed
		case "te":
			if len(vv) != 1 || vv[0] != "trailers" {
				return nil, errH3Malformed
			}
		case "cookie":
			cookie = vv
			continue
		case "content-length":
			if len(vv) > 1 && slices.ContainsFunc(vv, func(v string) bool { return v != vv[0] }) {
				return nil, errH3Malformed
			}
			vv = vv[:1]
		}
		for _, v := range vv {
			hdr = append(hdr, httpmsg.Header{Name: lname, Value: v})
			st.hdrBytes += len(lname) + len(v)
		}
	}
	if len(cookie) > 0 {
		v := strings.Join(cookie, "; ")
		hdr = append(hdr, httpmsg.Header{Name: "cookie", Value: v})
		st.hdrBytes += len("cookie") + len(v)
	}
	req.Header = hdr
	switch {
	case r.ContentLength >= 0 && r.Header.Get("Content-Length") != "":
		req.ContentLength = r.ContentLength
	case st.bodyEnded():
		req.ContentLength = 0
	default:
		req.ContentLength, req.Chunked = -1, true
	}
	return st, nil
}

// bodyEnded tells a request whose stream ended with its head (no body)
// from one whose body follows, without a length: HTTP/3 has no flag on
// HEADERS, but a client that sends no body closes the stream with them.
// Reads with a deadline already past never return data (quic-go checks
// the deadline before it hands any out), but the second one sees an end
// of stream the first dequeued.
func (st *h3Stream) bodyEnded() bool {
	rc, ok := st.w.(interface{ SetReadDeadline(time.Time) error })
	if !ok {
		return false
	}
	_ = rc.SetReadDeadline(time.Unix(1, 0))
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	var b [1]byte
	for range 2 {
		n, err := st.r.Body.Read(b[:])
		if n == 0 && err == io.EOF {
			return true
		}
		if n > 0 {
			// Not expected past a deadline; kept for the body if it happens.
			st.body = io.MultiReader(strings.NewReader(string(b[:n])), st.r.Body)
			return false
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return false
		}
	}
	return false
}

func (st *h3Stream) Request() *httpmsg.Request { return &st.req }
func (st *h3Stream) HeaderBytes() int          { return st.hdrBytes }
func (st *h3Stream) Body() io.Reader           { return h3Body{st} }
func (st *h3Stream) Done() <-chan struct{}     { return st.r.Context().Done() }
func (st *h3Stream) BytesOut() int64           { return st.bytesOut.Load() }

// Trailers are the client's, once its body has been read to the end.
func (st *h3Stream) Trailers() httpmsg.Headers {
	var h httpmsg.Headers
	for name, vv := range st.r.Trailer {
		for _, v := range vv {
			h = append(h, httpmsg.Header{Name: strings.ToLower(name), Value: v})
		}
	}
	return h
}

// h3Hop are the fields HTTP/3 forbids in a message (RFC 9114 §4.2).
func h3Hop(name string) bool {
	switch strings.ToLower(name) {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

func (st *h3Stream) WriteHead(resp *httpmsg.Response, endStream bool) error {
	h := st.w.Header()
	clear(h)
	n := len("HTTP/3.0 000 \r\n\r\n") + len(resp.Reason)
	for _, f := range resp.Header {
		if h3Hop(f.Name) {
			continue
		}
		// Lower case as HTTP/3 sends them; quic-go writes the map's keys.
		name := strings.ToLower(f.Name)
		h[name] = append(h[name], f.Value)
		n += len(f.Name) + len(f.Value) + 4
	}
	// quic-go would add a Date and sniff a Content-Type: the response
	// goes as the rules left it.
	if _, ok := h["date"]; !ok {
		h["Date"] = nil
	}
	if _, ok := h["content-type"]; !ok {
		h["Content-Type"] = nil
	}
	st.w.WriteHeader(resp.Status)
	st.bytesOut.Add(int64(n))
	if resp.Status < 200 {
		clear(h) // an interim head went out at once
		return nil
	}
	if endStream {
		// Out now: at the handler's end quic-go would add a length to a
		// head not yet sent, wrong for HEAD and 304.
		return st.Flush()
	}
	return nil
}

// h3Body reads the request body under timeout client.
type h3Body struct{ st *h3Stream }

func (b h3Body) Read(p []byte) (int, error) {
	if b.st.idle > 0 {
		if rd, ok := b.st.w.(interface{ SetReadDeadline(time.Time) error }); ok {
			_ = rd.SetReadDeadline(time.Now().Add(b.st.idle))
		}
	}
	return b.st.body.Read(p)
}

var errH3Aborted = errors.New("proxy: HTTP/3 stream reset")

// armWrite bounds the next write by timeout client; a reset stream takes
// no more writes (its past deadline must stay).
func (st *h3Stream) armWrite() error {
	if st.aborted.Load() {
		return errH3Aborted
	}
	if st.idle > 0 {
		if wd, ok := st.w.(interface{ SetWriteDeadline(time.Time) error }); ok {
			_ = wd.SetWriteDeadline(time.Now().Add(st.idle))
		}
	}
	return nil
}

func (st *h3Stream) Write(p []byte) (int, error) {
	if err := st.armWrite(); err != nil {
		return 0, err
	}
	n, err := st.w.Write(p)
	st.bytesOut.Add(int64(n))
	return n, err
}

func (st *h3Stream) Flush() error {
	if err := st.armWrite(); err != nil {
		return err
	}
	if f, ok := st.w.(interface{ FlushError() error }); ok {
		return f.FlushError()
	}
	return nil
}

// Close ends the response; trailers go out when the handler returns.
func (st *h3Stream) Close(trailers httpmsg.Headers) error {
	h := st.w.Header()
	for _, f := range trailers {
		if h3Hop(f.Name) {
			continue
		}
		k := http.TrailerPrefix + strings.ToLower(f.Name)
		h[k] = append(h[k], f.Value)
	}
	return st.Flush()
}

// Reset with NO_ERROR stops reading the client's body (the response is
// complete without it); any other code aborts the stream both ways.
func (st *h3Stream) Reset(code http2.ErrCode) {
	_ = st.r.Body.Close() // STOP_SENDING; unblocks a read in progress
	if code == http2.ErrCodeNo {
		return
	}
	st.aborted.Store(true)
	if wd, ok := st.w.(interface{ SetWriteDeadline(time.Time) error }); ok {
		_ = wd.SetWriteDeadline(time.Unix(1, 0)) // unblocks a write in progress
	}
}

// KillConn ends the whole connection, as a reject rule does on HTTP/2.
func (st *h3Stream) KillConn(http2.ErrCode) {
	st.aborted.Store(true)
	_ = st.qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeExcessiveLoad), "")
}
