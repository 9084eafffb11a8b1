package h2

import (
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Request header blocks are decoded here, frame by frame, with the
// connection's hpack.Decoder into a reused field list, rather than by the
// Framer's ReadMetaHeaders: that built a MetaHeadersFrame, its field slice
// and a closure per block, ~875 bytes of an h2c stream's ~1.6 KiB
// (bench/profile.md, issue 23). The fields' strings are the decoder's own
// (static and dynamic table entries cost nothing; a literal is one string),
// so the request built from them aliases nothing that is reused but its
// joined cookie crumbs (joinCookies).
//
// What the Framer's meta-header path checked is checked here the same way
// (x/net http2 readMetaFrame; FuzzHeaderBlock compares the two): field names (tokens, no upper case) and
// values, pseudo-fields before regular ones, unknown, duplicate and mixed
// request/response pseudo-fields (a stream error once the block is
// decoded, so HPACK state stays in sync), the header list size (the block
// is decoded to its end and the request refused with 431), a fragment far
// past what the list may still hold and any fragment after an invalid
// field (connection errors), HPACK errors (COMPRESSION_ERROR). What is
// left is request semantics (RFC 9113 §8.3.1) and what must not reach an
// HTTP/1.1 upstream: buildRequest.

// headerDecoder decodes a connection's request header blocks. Owned by
// the read loop. What a block needs while it is read (the frame's payload,
// the decoded fields) is a headerBlock taken from a pool for it: an idle
// connection holds none.
type headerDecoder struct {
	dec     *hpack.Decoder
	maxList uint32       // MaxHeaderListSize
	cur     *headerBlock // the block being read, or the last frame's
}

// headerBlock is the header block being received: a HEADERS frame and its
// CONTINUATIONs (the Framer checks they are contiguous).
type headerBlock struct {
	frame      blockFrame // the last HEADERS or CONTINUATION frame read
	open       bool
	id         uint32
	endStream  bool
	selfDep    bool // priority on itself
	fields     []hpack.HeaderField
	sawRegular bool
	truncated  bool // past MaxHeaderListSize: the rest was decoded, not kept
	invalid    bool
	hrem, trem uint32 // list bytes left for fields and for "trailer" fields
}

var headerBlocks = sync.Pool{New: func() any { return new(headerBlock) }}

// blockFrame is a HEADERS or CONTINUATION frame as readFrame reads it:
// the Framer allocated a frame for each (one per request); this one and
// its payload buffer come with the headerBlock.
type blockFrame struct {
	http2.FrameHeader // its methods make it an http2.Frame
	prio              http2.PriorityParam
	frag              []byte
	buf               []byte
}

// read reads the payload of the frame fh announced, as x/net's
// parseHeadersFrame and parseContinuationFrame do (same errors).
func (f *blockFrame) read(r io.Reader, fh http2.FrameHeader) error {
	f.FrameHeader, f.prio, f.frag = fh, http2.PriorityParam{}, nil
	if cap(f.buf) < int(fh.Length) {
		f.buf = make([]byte, fh.Length)
	}
	p := f.buf[:fh.Length]
	if _, err := io.ReadFull(r, p); err != nil {
		return err
	}
	if fh.StreamID == 0 {
		return connError{http2.ErrCodeProtocol, fh.Type.String() + " frame with stream ID 0"}
	}
	if fh.Type == http2.FrameHeaders {
		pad := 0
		if fh.Flags.Has(http2.FlagHeadersPadded) {
			if len(p) < 1 {
				return io.ErrUnexpectedEOF
			}
			pad, p = int(p[0]), p[1:]
		}
		if fh.Flags.Has(http2.FlagHeadersPriority) {
			if len(p) < 5 {
				return io.ErrUnexpectedEOF
			}
			v := binary.BigEndian.Uint32(p)
			f.prio = http2.PriorityParam{StreamDep: v & 0x7fffffff, Exclusive: v&0x80000000 != 0, Weight: p[4]}
			p = p[5:]
		}
		if len(p) < pad {
			return http2.StreamError{StreamID: fh.StreamID, Code: http2.ErrCodeProtocol}
		}
		p = p[:len(p)-pad]
	}
	f.frag = p
	return nil
}

func (d *headerDecoder) init(tableSize, maxList uint32) {
	d.maxList = maxList
	d.dec = hpack.NewDecoder(tableSize, d.emit)
	d.dec.SetMaxStringLength(int(maxList))
}

// frame returns the blockFrame the next HEADERS or CONTINUATION frame is
// read into.
func (d *headerDecoder) frame() *blockFrame {
	if d.cur == nil {
		d.cur = headerBlocks.Get().(*headerBlock)
	}
	return &d.cur.frame
}

// recycle gives back the headerBlock of a block that ended (or never
// began: a CONTINUATION out of place, a HEADERS frame in error). The
// request took the fields' strings; a flood's long field list and large
// buffer are not kept.
func (d *headerDecoder) recycle() {
	b := d.cur
	if b == nil || b.open {
		return
	}
	d.cur = nil
	clear(b.fields)
	fields, buf := b.fields[:0], b.frame.buf
	if cap(fields) > 256 {
		fields = nil
	}
	if cap(buf) > 16<<10 {
		buf = nil
	}
	*b = headerBlock{fields: fields, frame: blockFrame{buf: buf}}
	headerBlocks.Put(b)
}

// begin starts the block of the HEADERS frame just read.
func (d *headerDecoder) begin() {
	b := d.cur
	f := &b.frame
	b.open = true
	b.id = f.StreamID
	b.endStream = f.Flags.Has(http2.FlagHeadersEndStream)
	b.selfDep = f.Flags.Has(http2.FlagHeadersPriority) && f.prio.StreamDep == f.StreamID
	b.fields = b.fields[:0]
	b.sawRegular, b.truncated, b.invalid = false, false, false
	// As x/net, a "trailer" field is counted apart: its names are
	// weighed as fields of their own.
	b.hrem, b.trem = d.maxList, d.maxList
	d.dec.SetEmitEnabled(true)
}

// write decodes one fragment of the open block.
func (d *headerDecoder) write(frag []byte) error {
	b := d.cur
	// A fragment more than twice what the list may still hold would be
	// decoded only to be thrown away; after the list is full (both
	// budgets 0) any non-empty fragment is. After an invalid field the
	// sizes are no longer tracked, so nothing more is decoded either.
	if int64(len(frag)) > 2*(int64(b.hrem)+int64(b.trem)) {
		return connError{http2.ErrCodeProtocol, "header list too large"}
	}
	if b.invalid {
		return connError{http2.ErrCodeProtocol, "CONTINUATION after an invalid header field"}
	}
	if _, err := d.dec.Write(frag); err != nil {
		return connError{http2.ErrCodeCompression, "hpack: " + err.Error()}
	}
	return nil
}

// end closes the decoder's block: a connection error for a truncated
// HPACK representation; bad reports a block whose fields make it a
// malformed message (a stream error). The block stays readable until the
// next frame is read.
func (d *headerDecoder) end() (bad bool, err error) {
	b := d.cur
	b.open = false
	if err := d.dec.Close(); err != nil {
		return false, connError{http2.ErrCodeCompression, "hpack: " + err.Error()}
	}
	return b.invalid || !b.pseudosValid(), nil
}

func (d *headerDecoder) emit(hf hpack.HeaderField) {
	b := d.cur
	if !httpguts.ValidHeaderFieldValue(hf.Value) {
		b.invalid = true
	}
	if strings.HasPrefix(hf.Name, ":") {
		if b.sawRegular {
			b.invalid = true
		}
	} else {
		b.sawRegular = true
		if !validWireName(hf.Name) {
			b.invalid = true
		}
	}
	if b.invalid {
		d.dec.SetEmitEnabled(false)
		return
	}
	remain, size := &b.hrem, hf.Size()
	if hf.Name == "trailer" {
		remain = &b.trem
		n := strings.Count(hf.Value, ",") + 1
		size = uint32(len(hf.Value)-n+1) + uint32(n)*hpack.HeaderField{}.Size()
	}
	if size > *remain {
		d.dec.SetEmitEnabled(false)
		b.truncated = true
		b.hrem, b.trem = 0, 0
		return
	}
	*remain -= size
	b.fields = append(b.fields, hf)
}

// validWireName: a token without upper case (RFC 9113 §8.2.1).
func validWireName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !httpguts.IsTokenRune(rune(c)) || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// pseudos returns the number of leading pseudo-fields (all of them:
// emit refuses one after a regular field).
func pseudos(fields []hpack.HeaderField) int {
	n := 0
	for n < len(fields) && strings.HasPrefix(fields[n].Name, ":") {
		n++
	}
	return n
}

// pseudosValid: known pseudo-fields, each once, not request and
// response ones mixed (x/net's checkPseudos).
func (b *headerBlock) pseudosValid() bool {
	pf := b.fields[:pseudos(b.fields)]
	var isRequest, isResponse bool
	for i, hf := range pf {
		switch hf.Name {
		case ":method", ":path", ":scheme", ":authority", ":protocol":
			isRequest = true
		case ":status":
			isResponse = true
		default:
			return false
		}
		for _, prev := range pf[:i] {
			if prev.Name == hf.Name {
				return false
			}
		}
	}
	return !(isRequest && isResponse)
}

// buildRequest maps a request header block onto st's request, reusing
// its header list.
func buildRequest(st *Stream, fields []hpack.HeaderField, endStream bool) error {
	req := &st.req
	var method, scheme, path, authority string
	var hasAuthority bool
	np := pseudos(fields)
	for _, hf := range fields[:np] {
		switch hf.Name {
		case ":method":
			method = hf.Value
		case ":scheme":
			scheme = hf.Value
		case ":path":
			path = hf.Value
		case ":authority":
			authority, hasAuthority = hf.Value, true
		default: // :status, or :protocol which needs SETTINGS_ENABLE_CONNECT_PROTOCOL
			return errors.New("pseudo-header " + hf.Name + " not allowed in a request")
		}
	}
	if method == "" || !validToken(method) {
		return errors.New("missing or invalid :method")
	}
	if method == "CONNECT" {
		if scheme != "" || path != "" || !hasAuthority {
			return errors.New("CONNECT needs :authority only")
		}
		if tg, err := httpmsg.ParseTarget(authority); err != nil || tg.Form != httpmsg.FormAuthority {
			return errors.New("CONNECT :authority is not host:port")
		}
		req.URI = authority
	} else {
		if scheme == "" || path == "" {
			return errors.New("missing :scheme or :path")
		}
		// The same parser as HTTP/1.1's request-target: rules and upstreams
		// see the same split whichever protocol the client spoke.
		tg, err := httpmsg.ParseTarget(path)
		if err != nil || tg.Form != httpmsg.FormOrigin && (tg.Form != httpmsg.FormAsterisk || method != "OPTIONS") {
			return errors.New("invalid :path")
		}
		req.URI = path
		if hasAuthority {
			req.Scheme = scheme
		}
	}
	if hasAuthority && (authority == "" && method == "CONNECT" || !httpguts.ValidHostHeader(authority)) {
		return errors.New("invalid :authority")
	}
	req.Method = method
	req.Proto, req.Major, req.Minor = "HTTP/2.0", 2, 0

	regular := fields[np:]
	hdr := req.Header[:0]
	if hasAuthority {
		hdr = append(hdr, httpmsg.Header{Name: "host", Value: authority})
	}
	crumbs, contentLength := 0, ""
	for _, hf := range regular {
		if err := checkField(hf.Name, hf.Value); err != nil {
			return err
		}
		switch hf.Name {
		case "host":
			if hasAuthority {
				// Routing must not see two different hosts (RFC 9113 §8.3.1).
				if !strings.EqualFold(hf.Value, authority) {
					return errors.New("host differs from :authority")
				}
				continue
			}
		case "cookie":
			crumbs++
			continue // after all the others (below)
		case "content-length":
			if contentLength != "" {
				if contentLength != hf.Value {
					return errors.New("conflicting content-length")
				}
				continue // one field goes on, as from HTTP/1.1 (http1.normalizeContentLength)
			}
			contentLength = hf.Value
		}
		hdr = append(hdr, httpmsg.Header{Name: hf.Name, Value: hf.Value})
	}
	if crumbs > 0 {
		hdr = append(hdr, httpmsg.Header{Name: "cookie", Value: st.joinCookies(regular, crumbs)})
	}
	req.Header = hdr

	switch {
	case contentLength != "":
		n, err := strconv.ParseInt(contentLength, 10, 64)
		if err != nil || n < 0 || contentLength[0] == '+' {
			return errors.New("invalid content-length")
		}
		if endStream && n != 0 {
			return errors.New("content-length with no body")
		}
		req.ContentLength = n
	case endStream:
		req.ContentLength = 0
	default:
		req.ContentLength, req.Chunked = -1, true
	}
	return nil
}

// joinCookies joins split cookie crumbs back (RFC 9113 §8.2.3) into one
// field, which goes after all the others, where HAProxy 2.6 puts it. The
// joined value lives in the stream's arena: like an HTTP/1.1 field, it is
// valid while the stream is.
func (st *Stream) joinCookies(fields []hpack.HeaderField, crumbs int) string {
	a := st.arena[:0]
	for _, hf := range fields {
		if hf.Name != "cookie" {
			continue
		}
		if crumbs == 1 {
			return hf.Value
		}
		if len(a) > 0 {
			a = append(a, "; "...)
		}
		a = append(a, hf.Value...)
	}
	st.arena = a
	return unsafe.String(unsafe.SliceData(a), len(a))
}

func buildTrailers(fields []hpack.HeaderField) (httpmsg.Headers, error) {
	if pseudos(fields) > 0 {
		return nil, errors.New("pseudo-header in trailers")
	}
	tr := make(httpmsg.Headers, 0, len(fields))
	for _, hf := range fields {
		if err := checkField(hf.Name, hf.Value); err != nil {
			return nil, err
		}
		tr = append(tr, httpmsg.Header{Name: hf.Name, Value: hf.Value})
	}
	return tr, nil
}

// checkField rejects connection-specific fields (RFC 9113 §8.2.2).
func checkField(name, value string) error {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return errors.New("connection-specific field " + name)
	case "te":
		if value != "trailers" {
			return errors.New(`te other than "trailers"`)
		}
	}
	return nil
}

func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !httpguts.IsTokenRune(rune(s[i])) {
			return false
		}
	}
	return true
}
