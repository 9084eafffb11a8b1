package http1

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Writer serializes HTTP/1.1 messages onto a connection through a pooled
// buffer, so a head and a small body leave in one write. A payload that does
// not fit goes out together with the buffered bytes in one writev.
// Errors are sticky: after a failed write every call returns that error.
// A Writer is not safe for concurrent use.
type Writer struct {
	w    io.Writer
	pool *BufferPool
	bufp *[]byte
	buf  []byte // buffered output; nil while released
	vec  [2][]byte
	nb   net.Buffers
	err  error
	// CaseAdjust ("h1-case-adjust" with "option h1-case-adjust-bogus-*"):
	// header names whose lower-case form it holds are written in the case
	// it gives; nil: names go out as they are.
	CaseAdjust map[string]string
	// AcceptInvalid relays what an accept-invalid-http-request or
	// -response option let in: such a request-target and field names
	// (invalidTarget, invalidName), never CR, LF or a colon in a name.
	AcceptInvalid bool
}

// NewWriter returns a Writer on w with a buffer of size bytes (0: the
// default 16 KiB), taken from a pool on first use.
func NewWriter(w io.Writer, size int) *Writer {
	if size <= 0 {
		size = DefaultBufSize
	}
	return &Writer{w: w, pool: poolFor(size)}
}

// Reset makes w write to dst, discarding buffered output and errors.
func (w *Writer) Reset(dst io.Writer) {
	if w.buf != nil {
		w.buf = w.buf[:0]
	}
	w.Release()
	w.w, w.err = dst, nil
}

// Release gives the buffer back to the pool when nothing is buffered, so an
// idle connection holds none; it reports whether it did.
func (w *Writer) Release() bool {
	if len(w.buf) > 0 {
		return false
	}
	if w.bufp != nil {
		w.pool.Put(w.bufp)
	}
	w.bufp, w.buf = nil, nil
	return true
}

// Buffered returns the number of bytes waiting for Flush.
func (w *Writer) Buffered() int { return len(w.buf) }

// Err returns the sticky write error, if any.
func (w *Writer) Err() error { return w.err }

func (w *Writer) acquire() {
	w.bufp = w.pool.Get()
	w.buf = (*w.bufp)[:0]
}

// avail makes sure the buffer exists and returns its free space.
func (w *Writer) avail() int {
	if w.buf == nil {
		w.acquire()
	}
	return cap(w.buf) - len(w.buf)
}

// Flush writes the buffered bytes.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = err
	}
	return err
}

// Write buffers p, or writes the buffered bytes and p together when p does
// not fit. It never retains p.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(p) <= w.avail() {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	if len(w.buf) == 0 {
		n, err := w.w.Write(p)
		if err != nil {
			w.err = err
		}
		return n, err
	}
	// One writev for head + payload instead of a copy or two writes.
	w.vec[0], w.vec[1] = w.buf, p
	w.nb = w.vec[:]
	var n int64
	var err error
	if vw, ok := w.w.(VectoredWriter); ok {
		n, err = vw.WriteVectored(&w.nb)
	} else {
		n, err = w.nb.WriteTo(w.w)
	}
	w.vec, w.nb = [2][]byte{}, nil
	buffered := int64(len(w.buf))
	w.buf = w.buf[:0]
	if err != nil {
		w.err = err
		if n < buffered {
			return 0, err
		}
		return int(n - buffered), err
	}
	return len(p), nil
}

// WriteString is Write for a string; it copies into the buffer, flushing
// as needed, so it never allocates.
func (w *Writer) WriteString(s string) (int, error) {
	total := len(s)
	for len(s) > 0 {
		if w.err != nil {
			return total - len(s), w.err
		}
		a := w.avail()
		if a == 0 {
			if err := w.Flush(); err != nil {
				return total - len(s), err
			}
			continue
		}
		n := min(a, len(s))
		w.buf = append(w.buf, s[:n]...)
		s = s[n:]
	}
	return total, nil
}

// ErrInvalidHeader is returned when a head to write holds a field that would
// corrupt the framing (CR, LF or NUL in a value, a bad name).
var ErrInvalidHeader = errors.New("http1: invalid header field for output")

// WriteRequestHead buffers "Method SP URI SP HTTP/1.1" ("HTTP/1.0" for an
// HTTP/1.0 request: a 1.1 line would oblige the server to find a Host the
// client never had to send), then req.Header in order, exactly as they are. The proxy owns framing headers: it must have
// set Content-Length or Transfer-Encoding to match the body it sends.
func (w *Writer) WriteRequestHead(req *httpmsg.Request) error {
	if w.err != nil {
		return w.err
	}
	if !safeToken(req.Method) || !safeTarget(req.URI) && !(w.AcceptInvalid && invalidTarget(req.URI)) {
		return ErrInvalidHeader
	}
	if !validHeaders(req.Header, w.AcceptInvalid) {
		return ErrInvalidHeader
	}
	w.avail()
	b := w.buf
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, req.URI...)
	if req.Major == 1 && req.Minor == 0 {
		b = append(b, " HTTP/1.0\r\n"...)
	} else {
		b = append(b, " HTTP/1.1\r\n"...)
	}
	b = appendHeaders(b, req.Header, w.CaseAdjust)
	return w.commit(b)
}

// WriteResponseHead buffers "HTTP/1.1 code reason" (resp.Reason, or the
// standard phrase when empty), then resp.Header in order. An HTTP/1.0
// response (Major 1, Minor 0: a 1.0 server's) keeps "HTTP/1.0", as
// HAProxy relays the server's version: its framing and Connection
// defaults are those of 1.0.
func (w *Writer) WriteResponseHead(resp *httpmsg.Response) error {
	if w.err != nil {
		return w.err
	}
	if resp.Status < 100 || resp.Status > 999 {
		return ErrInvalidHeader
	}
	reason := resp.Reason
	if reason == "" {
		reason = StatusText(resp.Status)
	}
	if !validValueStr(reason) || !validHeaders(resp.Header, w.AcceptInvalid) {
		return ErrInvalidHeader
	}
	w.avail()
	b := w.buf
	if resp.Major == 1 && resp.Minor == 0 {
		b = append(b, "HTTP/1.0 "...)
	} else {
		b = append(b, "HTTP/1.1 "...)
	}
	b = strconv.AppendInt(b, int64(resp.Status), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	b = append(b, "\r\n"...)
	b = appendHeaders(b, resp.Header, w.CaseAdjust)
	return w.commit(b)
}

// commit adopts b as the buffer; a head larger than the buffer grew it, and
// then it is flushed at once so the pooled buffer comes back into use.
func (w *Writer) commit(b []byte) error {
	if cap(b) == cap(w.buf) {
		w.buf = b
		return nil
	}
	_, err := w.w.Write(b)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = err
	}
	return err
}

func appendHeaders(b []byte, h httpmsg.Headers, ca map[string]string) []byte {
	for i := range h {
		b = append(b, adjustCase(h[i].Name, ca)...)
		b = append(b, ": "...)
		b = append(b, h[i].Value...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// adjustCase is name as ca spells it, HAProxy's h1_adjust_case_outgoing_hdr
// on a name in any case (HAProxy's are all lower case by then).
func adjustCase(name string, ca map[string]string) string {
	if ca == nil {
		return name
	}
	var buf [64]byte
	if len(name) > len(buf) {
		if to, ok := ca[strings.ToLower(name)]; ok {
			return to
		}
		return name
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	if to, ok := ca[string(buf[:len(name)])]; ok {
		return to
	}
	return name
}

// validHeaders rejects what would let a rule-written value inject lines
// (CR, LF, NUL) and other control characters a peer would refuse.
func validHeaders(h httpmsg.Headers, invalid bool) bool {
	for i := range h {
		if !safeToken(h[i].Name) && !(invalid && invalidName(h[i].Name)) || !validValueStr(h[i].Value) {
			return false
		}
	}
	return true
}

func safeToken(s string) bool { return s != "" && allClassStr(s, cToken) }

func safeTarget(s string) bool { return s != "" && allClassStr(s, cURI) }

// WriteChunkHeader buffers the size line of an n-byte chunk (n > 0).
func (w *Writer) WriteChunkHeader(n int64) error {
	if w.err != nil {
		return w.err
	}
	if w.avail() < 20 {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	w.buf = strconv.AppendInt(w.buf, n, 16)
	w.buf = append(w.buf, "\r\n"...)
	return nil
}

// WriteChunk writes p as one chunk. An empty p writes nothing: a zero-size
// chunk would end the body.
func (w *Writer) WriteChunk(p []byte) error {
	if len(p) == 0 {
		return w.err
	}
	if err := w.WriteChunkHeader(int64(len(p))); err != nil {
		return err
	}
	if _, err := w.Write(p); err != nil {
		return err
	}
	_, err := w.WriteString("\r\n")
	return err
}

// WriteLastChunk ends a chunked body: "0" CRLF, the trailer fields, CRLF.
func (w *Writer) WriteLastChunk(trailer httpmsg.Headers) error {
	if !validHeaders(trailer, w.AcceptInvalid) {
		return ErrInvalidHeader
	}
	if _, err := w.WriteString("0\r\n"); err != nil {
		return err
	}
	for i := range trailer {
		w.WriteString(adjustCase(trailer[i].Name, w.CaseAdjust))
		w.WriteString(": ")
		w.WriteString(trailer[i].Value)
		w.WriteString("\r\n")
	}
	_, err := w.WriteString("\r\n")
	return err
}

// VectoredWriter is implemented by destinations that wrap a net.Conn (to
// count bytes or manage deadlines) and can still hand a vector to the
// kernel in one writev: net.Buffers only does that for the net package's
// own connections.
type VectoredWriter interface {
	WriteVectored(b *net.Buffers) (int64, error)
}

// invalidTarget: a request-target "option accept-invalid-http-request"
// let in ('#', bytes 0x80-0xff), relayed as read.
func invalidTarget(s string) bool { return s != "" && allClassStr(s, cURIInvalid) }

// invalidName: a field name an accept-invalid-http-* option let in: no
// ':', CR or LF, so it cannot end the name or the line early.
func invalidName(s string) bool {
	return s != "" && strings.IndexByte(s, ':') < 0 && strings.IndexByte(s, '\r') < 0 && strings.IndexByte(s, '\n') < 0
}
