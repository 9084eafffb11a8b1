package http1

import "bytes"

// PeekBody returns the start of the body that follows the last head read,
// without consuming it: the bytes buffered so far up to the body's
// length, de-chunked for a chunked body (whole chunks only), and whether
// that is the whole body. With wait it first reads from the connection,
// under the caller's read deadline, until want bytes are there, the body
// is complete or the buffer is full (HAProxy's "request buffer full"); a
// read error ends the wait and is returned. The body is then read as
// usual (Body, CopyBody), from its first byte.
func (r *Reader) PeekBody(f Framing, want int, wait bool) (data []byte, complete bool, err error) {
	for {
		data, complete = r.peekBody(f)
		if !wait || complete || len(data) >= want {
			return data, complete, nil
		}
		if err = r.fill(); err != nil {
			if err == errBufferFull {
				err = nil
			}
			return data, complete, err
		}
	}
}

func (r *Reader) peekBody(f Framing) ([]byte, bool) {
	var buffered []byte
	if r.buf != nil {
		buffered = r.buf[r.r:r.w]
	}
	switch f.Kind {
	case BodyLength:
		if int64(len(buffered)) >= f.Length {
			return append([]byte(nil), buffered[:f.Length]...), true
		}
		return append([]byte(nil), buffered...), false
	case BodyChunked:
		return dechunkPrefix(buffered)
	}
	return nil, true
}

// dechunkPrefix decodes the whole chunks at the start of raw, strictly as
// the body reader does (CRLF everywhere); it stops at the first incomplete
// or malformed piece, which the body reader will refuse when it gets
// there. complete: the last chunk and the trailer section are in raw.
func dechunkPrefix(raw []byte) (data []byte, complete bool) {
	for {
		i := bytes.Index(raw, []byte("\r\n"))
		if i < 0 {
			return data, false
		}
		n, ok := parseChunkSize(raw[:i])
		if !ok {
			return data, false
		}
		raw = raw[i+2:]
		if n == 0 {
			// Trailer fields up to the empty line.
			for {
				k := bytes.Index(raw, []byte("\r\n"))
				if k < 0 {
					return data, false
				}
				if k == 0 {
					return data, true
				}
				raw = raw[k+2:]
			}
		}
		if int64(len(raw)) < n+2 {
			return append(data, raw[:min(int64(len(raw)), n)]...), false
		}
		if raw[n] != '\r' || raw[n+1] != '\n' {
			return data, false
		}
		data = append(data, raw[:n]...)
		raw = raw[n+2:]
	}
}
