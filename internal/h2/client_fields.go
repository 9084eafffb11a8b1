package h2

import (
	"errors"
	"strconv"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// ClientRequest is a request head as it goes to the server. Its strings
// are only read while Start runs: they may view buffers the caller reuses.
type ClientRequest struct {
	Method, Scheme string
	// Authority is :authority ("" leaves it out: an HTTP/1.0 request
	// without Host).
	Authority string
	// Path is :path: the origin-form target, or "*".
	Path string
	// Header is sent without the fields HTTP/2 forbids (RFC 9113 §8.2.2)
	// and without Host, which :authority carries; names are lower-cased.
	Header httpmsg.Headers
	// Skip drops more fields by their lower-case name; may be nil.
	Skip func(name string) bool
	// TE adds "te: trailers" (the client announced it accepts trailers).
	TE bool
	// EndStream: no body follows the head.
	EndStream bool
}

// emit receives the fields the HPACK decoder decodes (readLoop only).
func (c *ClientConn) emit(f hpack.HeaderField) {
	c.blk.size += uint32(len(f.Name) + len(f.Value) + 32)
	if c.blk.size > c.cfg.MaxHeaderListSize {
		// Decoding goes on, so the dynamic table stays in step with the
		// server's encoder; the fields are no longer kept.
		c.blk.over = true
		c.dec.SetEmitEnabled(false)
		return
	}
	c.scratch = append(c.scratch, httpmsg.Header{Name: f.Name, Value: f.Value})
}

// encodeRequest encodes req's header block into c.hblock. Caller holds wmu.
func (c *ClientConn) encodeRequest(req *ClientRequest) ([]byte, error) {
	b := c.hblock[:0]
	switch req.Method {
	case "GET":
		b = append(b, 0x80|2)
	case "POST":
		b = append(b, 0x80|3)
	default:
		if !httpguts.ValidHeaderFieldName(req.Method) {
			return nil, ErrBadField
		}
		b = appendHpackInt(b, 0, 4, 2)
		b = appendHpackString(b, req.Method)
	}
	switch req.Scheme {
	case "http":
		b = append(b, 0x80|6)
	case "https":
		b = append(b, 0x80|7)
	default:
		return nil, ErrBadField
	}
	if req.Authority != "" {
		if !httpguts.ValidHostHeader(req.Authority) {
			return nil, ErrBadField
		}
		b = appendHpackInt(b, 0, 4, 1)
		b = appendHpackString(b, req.Authority)
	}
	switch {
	case req.Path == "/":
		b = append(b, 0x80|4)
	case req.Path == "" || !validPath(req.Path):
		return nil, ErrBadField
	default:
		b = appendHpackInt(b, 0, 4, 4)
		b = appendHpackString(b, req.Path)
	}
	for _, f := range req.Header {
		// The lower-cased name goes to the end of the block, where the
		// field will be; dropped, it is cut off again.
		mark := len(b)
		var name string
		b, name = appendLower(b, f.Name)
		if dropRequestField(name, f.Value) || req.Skip != nil && req.Skip(name) {
			b = b[:mark]
			continue
		}
		if !validFieldName(name) || !httpguts.ValidHeaderFieldValue(f.Value) {
			return nil, ErrBadField
		}
		field := appendField(c.hscr[:0], name, f.Value)
		b = append(b[:mark], field...)
		c.hscr = field[:0]
	}
	if req.TE {
		b = appendField(b, "te", "trailers")
	}
	c.hblock = b[:0]
	return b, nil
}

// dropRequestField: connection-specific fields (RFC 9113 §8.2.2), and Host,
// which :authority carries.
func dropRequestField(name, value string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host":
		return true
	case "te":
		return value != "trailers"
	}
	return false
}

// validFieldName: a lower-case token.
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' || !httpguts.IsTokenRune(rune(c)) {
			return false
		}
	}
	return true
}

// validPath: "*" or an origin-form target without bytes a request line
// could not carry.
func validPath(p string) bool {
	if p == "*" {
		return true
	}
	if p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// writeBlock writes a header block as HEADERS and CONTINUATION frames cut
// to the server's frame size. Caller holds wmu.
func (c *ClientConn) writeBlock(id uint32, block []byte, endStream bool, maxFrame int) error {
	for first := true; first || len(block) > 0; first = false {
		frag := block[:min(len(block), maxFrame)]
		block = block[len(frag):]
		var err error
		if first {
			err = c.wfr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag,
				EndStream: endStream, EndHeaders: len(block) == 0})
		} else {
			err = c.wfr.WriteContinuation(id, len(block) == 0, frag)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// headBlockLocked applies a decoded header block to st: an interim or
// final response head, or trailers. Caller holds c.mu.
func (st *ClientStream) headBlockLocked(fields httpmsg.Headers, endStream bool) error {
	if st.final {
		// Trailers (RFC 9113 §8.1): the block ends the stream, no pseudo-fields.
		if !endStream {
			return errors.New("HEADERS after the response head without END_STREAM")
		}
		for _, f := range fields {
			if err := checkResponseField(f); err != nil {
				return err
			}
		}
		st.trailers = append(st.trailers[:0], fields...)
		if st.declLen >= 0 && !st.noBody && st.received != st.declLen {
			return errors.New("body shorter than content-length")
		}
		st.c.remoteEndLocked(st)
		return nil
	}
	if len(fields) == 0 || fields[0].Name != ":status" {
		return errors.New("no :status first")
	}
	v := fields[0].Value
	status, err := strconv.Atoi(v)
	if err != nil || len(v) != 3 || status < 100 || v[0] == '+' {
		return errors.New("invalid :status")
	}
	fields = fields[1:]
	declLen := int64(-1)
	for _, f := range fields {
		if err := checkResponseField(f); err != nil {
			return err
		}
		if f.Name == "content-length" {
			n, err := strconv.ParseInt(f.Value, 10, 64)
			if err != nil || n < 0 || f.Value[0] == '+' || declLen >= 0 && n != declLen {
				return errors.New("invalid content-length")
			}
			declLen = n
		}
	}
	if status < 200 {
		if endStream || status == 101 {
			return errors.New("interim response ends the stream or switches protocols")
		}
		if len(st.interim) >= maxInterim {
			return errors.New("too many interim responses")
		}
		st.interim = append(st.interim, interimHead{status: status, fields: append(httpmsg.Headers(nil), fields...)})
		st.signal()
		return nil
	}
	st.status = status
	st.fields = append(st.fields[:0], fields...)
	st.declLen = declLen
	st.noBody = st.noBody || status == 204 || status == 304
	st.final = true
	if endStream {
		if declLen > 0 && !st.noBody {
			return errors.New("content-length with no body")
		}
		st.c.remoteEndLocked(st)
	}
	st.signal()
	return nil
}

// checkResponseField: a valid lower-case regular field that HTTP/2 allows.
func checkResponseField(f httpmsg.Header) error {
	if f.Name != "" && f.Name[0] == ':' {
		return errors.New("pseudo-field " + f.Name + " misplaced or unknown")
	}
	if !validFieldName(f.Name) || !httpguts.ValidHeaderFieldValue(f.Value) {
		return errors.New("invalid field " + strconv.Quote(f.Name))
	}
	switch f.Name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return errors.New("connection-specific field " + f.Name)
	}
	return nil
}
