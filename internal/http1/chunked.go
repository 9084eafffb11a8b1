package http1

import (
	"bytes"
	"io"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Chunked framing is parsed strictly: every chunk-size line, chunk-data
// terminator and trailer line must end in CRLF. Bare LF is tolerated in a
// head but not here, because the head-vs-body LF disagreement between two
// parsers is exactly what chunked smuggling exploits.

// chunkState tracks where a chunked body is.
type chunkState struct {
	phase  uint8
	remain int64 // data bytes left in the current chunk
}

const (
	phSize    uint8 = iota // expecting a chunk-size line
	phData                 // inside chunk data
	phCRLF                 // expecting the CRLF after chunk data
	phTrailer              // after the last chunk
	phDone
)

// maxChunkDigits keeps a chunk size below 2^60: no overflow, and no
// lengths the int64 arithmetic downstream could mishandle.
const maxChunkDigits = 15

func unhex(c byte) int64 {
	switch {
	case c >= '0' && c <= '9':
		return int64(c - '0')
	case c >= 'a' && c <= 'f':
		return int64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int64(c-'A') + 10
	}
	return -1
}

// parseChunkSize parses chunk-size [chunk-ext] (CRLF removed). No sign, no
// "0x", no surrounding spaces; extensions are accepted (bounded by the line
// limit) but must be free of control characters.
func parseChunkSize(line []byte) (int64, bool) {
	i := 0
	for i < len(line) && line[i] == '0' {
		i++
	}
	sig := i
	var n int64
	for i < len(line) {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		n = n<<4 | d
		i++
	}
	if i == 0 || i-sig > maxChunkDigits {
		return 0, false
	}
	rest := line[i:]
	j := 0
	for j < len(rest) && isOWS(rest[j]) {
		j++
	}
	if j == len(rest) {
		return n, j == 0
	}
	if rest[j] != ';' || !validValue(rest[j:]) {
		return 0, false
	}
	return n, true
}

// more reads more body bytes, flushing the pending output of a streaming
// copy first so nothing waits in a buffer while the source is idle.
func (r *Reader) more() error { return r.moreEOF(false) }

// moreEOF is more for a close-delimited body, where EOF is the normal end.
func (r *Reader) moreEOF(eofOK bool) error {
	if w := r.body.flushTo; w != nil && w.Buffered() > 0 {
		if err := w.Flush(); err != nil {
			r.body.werr = err
			return errCopyWrite
		}
	}
	err := r.fill()
	if err == io.EOF && !eofOK {
		return io.ErrUnexpectedEOF
	}
	return err
}

// chunkSize reads a chunk-size line.
func (r *Reader) chunkSize() (int64, error) {
	for {
		b := r.buf[r.r:r.w]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			if i == 0 || b[i-1] != '\r' {
				return 0, perr(r.resp, 400, "chunk-size line not terminated by CRLF")
			}
			if i > r.lim.MaxChunkLine {
				return 0, perr(r.resp, 400, "chunk-size line too long")
			}
			n, ok := parseChunkSize(b[:i-1])
			if !ok {
				return 0, perr(r.resp, 400, "invalid chunk size")
			}
			r.r += i + 1
			return n, nil
		}
		if len(b) > r.lim.MaxChunkLine {
			return 0, perr(r.resp, 400, "chunk-size line too long")
		}
		if err := r.more(); err != nil {
			return 0, err
		}
	}
}

// CheckBufferedChunks checks the chunked framing of the body bytes already
// buffered behind a head, without consuming them. HAProxy parses its first
// buffer whole, so bad framing that came with the head is the message's
// own defect, refused before any of it is forwarded (400 for a request,
// 502 for a response); what arrives later is checked as it is copied.
func (r *Reader) CheckBufferedChunks() error {
	b := r.buf[r.r:r.w]
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(b) > r.lim.MaxChunkLine {
				return perr(r.resp, 400, "chunk-size line too long")
			}
			return nil
		}
		if i == 0 || b[i-1] != '\r' {
			return perr(r.resp, 400, "chunk-size line not terminated by CRLF")
		}
		if i > r.lim.MaxChunkLine {
			return perr(r.resp, 400, "chunk-size line too long")
		}
		n, ok := parseChunkSize(b[:i-1])
		if !ok {
			return perr(r.resp, 400, "invalid chunk size")
		}
		if n == 0 {
			return nil // trailers are checked as they are read
		}
		b = b[i+1:]
		if int64(len(b)) < n+2 {
			if int64(len(b)) == n+1 && b[n] != '\r' {
				return perr(r.resp, 400, "chunk data not followed by CRLF")
			}
			return nil
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return perr(r.resp, 400, "chunk data not followed by CRLF")
		}
		b = b[n+2:]
	}
}

// chunkCRLF consumes the CRLF that ends chunk data.
func (r *Reader) chunkCRLF() error {
	for r.w-r.r < 2 {
		if err := r.more(); err != nil {
			return err
		}
	}
	if r.buf[r.r] != '\r' || r.buf[r.r+1] != '\n' {
		return perr(r.resp, 400, "chunk data not followed by CRLF")
	}
	r.r += 2
	return nil
}

// readTrailers reads the trailer section and its final CRLF into dst. Field
// lines are copied to the arena after the head, so head strings survive.
func (r *Reader) readTrailers(dst *httpmsg.Headers) error {
	total := 0
	for {
		b := r.buf[r.r:r.w]
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if total+len(b) > r.lim.MaxHeadBytes {
				return r.trailerTooBig()
			}
			if err := r.more(); err != nil {
				if err == errBufferFull {
					return r.trailerTooBig()
				}
				return err
			}
			continue
		}
		if i == 0 || b[i-1] != '\r' {
			return perr(r.resp, 400, "trailer line not terminated by CRLF")
		}
		total += i + 1
		if total > r.lim.MaxHeadBytes {
			return r.trailerTooBig()
		}
		line := b[:i-1]
		r.r += i + 1
		if len(line) == 0 {
			return nil
		}
		if len(*dst) >= r.lim.MaxHeaders {
			return r.trailerTooBig()
		}
		start := len(r.arena)
		r.arena = append(r.arena, line...)
		name, value, err := parseField(r.arena[start:], r.resp, r.lim.AcceptInvalid)
		if err != nil {
			return err
		}
		// Framing fields in trailers are never legitimate (RFC 9110 §6.5.1)
		// and a downstream parser merging them would be a smuggling vector.
		if eqFold(name, "content-length") || eqFold(name, "transfer-encoding") || eqFold(name, "host") {
			return perr(r.resp, 400, "framing field in trailers")
		}
		*dst = append(*dst, httpmsg.Header{Name: str(name), Value: str(value)})
	}
}

func (r *Reader) trailerTooBig() error {
	return perr(r.resp, 431, "trailer section too large")
}
