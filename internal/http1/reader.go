package http1

import (
	"bytes"
	"io"
)

// Reader reads HTTP/1.x messages from a connection through a pooled buffer.
//
// Lifetime of parsed strings: ReadRequest and ReadResponse copy the head once
// into a per-Reader arena and every string they set (method, URI, header
// names and values, reason, trailers) aliases that arena. Those strings stay
// valid while the body is streamed and until the next ReadRequest or
// ReadResponse on the same Reader, which overwrites the arena. Copy (e.g.
// strings.Clone) anything that must outlive the exchange.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	rd   io.Reader
	lim  Limits
	pool *BufferPool
	bufp *[]byte
	buf  []byte // nil while released
	r, w int    // unread bytes are buf[r:w]
	rerr error  // read error deferred until buffered bytes are consumed

	arena []byte // copy of the current head, then its trailers
	whole bool   // the last readHead found a whole head (see Rejected)
	resp  bool   // last head read was a response: errors are 502
	body  BodyReader
	cs    chunkState
}

// maxKeptArena is the largest arena kept across Release; a bigger one is left
// to the GC so an idle connection holds at most this much.
const maxKeptArena = 4096

// NewReader returns a Reader on rd. Its buffer is taken from a pool lazily
// and given back by Release.
func NewReader(rd io.Reader, lim Limits) *Reader {
	lim = lim.normalized()
	return &Reader{rd: rd, lim: lim, pool: poolFor(lim.BufSize)}
}

// Reset makes r read from rd, dropping buffered bytes and state.
func (r *Reader) Reset(rd io.Reader) {
	r.r, r.w = 0, 0
	r.Release()
	r.rd, r.rerr = rd, nil
	r.body = BodyReader{}
	r.cs = chunkState{}
}

// Limits returns the effective limits.
func (r *Reader) Limits() Limits { return r.lim }

// SetAcceptInvalid changes Limits.AcceptInvalid for the next heads: a
// server connection's reader follows the backend of each exchange.
func (r *Reader) SetAcceptInvalid(on bool) { r.lim.AcceptInvalid = on }

// Release gives the read buffer back to the pool so an idle keep-alive
// connection holds no buffer. It keeps the buffer, and returns false, when
// unread (pipelined) bytes are buffered. The next read takes a buffer again.
func (r *Reader) Release() bool {
	if r.r < r.w {
		return false
	}
	r.r, r.w = 0, 0
	if r.bufp != nil {
		r.pool.Put(r.bufp)
	}
	r.bufp, r.buf = nil, nil
	if cap(r.arena) > maxKeptArena {
		// Dropped, not pooled: strings from the last head may still alias it.
		r.arena = nil
	}
	return true
}

// Buffered returns the number of bytes read from the connection and not yet
// consumed.
func (r *Reader) Buffered() int { return r.w - r.r }

// Drain returns and consumes the buffered bytes, e.g. to forward what
// followed a 101 or CONNECT head before splicing. The slice is valid until
// the next read on r.
func (r *Reader) Drain() []byte {
	b := r.buf[r.r:r.w]
	r.r = r.w
	return b
}

func (r *Reader) acquire() {
	r.bufp = r.pool.Get()
	r.buf = *r.bufp
}

// fill reads once into the free space after the buffered bytes, first moving
// them to the front when the tail is full. It returns an error only when no
// byte was read; errBufferFull when there is no room at all.
func (r *Reader) fill() error {
	if r.buf == nil {
		r.acquire()
	}
	if r.r == r.w {
		r.r, r.w = 0, 0
	} else if r.w == len(r.buf) && r.r > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	if r.w == len(r.buf) {
		return errBufferFull
	}
	if r.rerr != nil {
		err := r.rerr
		r.rerr = nil
		return err
	}
	for range 100 {
		n, err := r.rd.Read(r.buf[r.w:])
		r.w += n
		if n > 0 {
			r.rerr = err
			return nil
		}
		if err != nil {
			return err
		}
	}
	return errNoProgress
}

// errBufferFull is internal: callers translate it into a limit error.
var errBufferFull = &ProtocolError{Status: 431, Msg: "buffer full"}

// skipEmptyLines drops CRLF / LF before a start line (RFC 9112 §2.2). It
// reports false when it needs more bytes to decide.
func (r *Reader) skipEmptyLines() bool {
	for r.r < r.w {
		switch r.buf[r.r] {
		case '\n':
			r.r++
		case '\r':
			if r.r+1 >= r.w {
				return false
			}
			if r.buf[r.r+1] != '\n' {
				return true // bare CR: left for the parser to reject
			}
			r.r += 2
		default:
			return true
		}
	}
	return true
}

// readHead reads one head into the arena and consumes it from the buffer.
func (r *Reader) readHead() ([]byte, error) {
	lim := &r.lim
	scan := 0      // offset (from r.r) up to which no head end was found
	sawLF := false // the start line is complete
	r.whole = false
	for {
		if r.r < r.w && r.skipEmptyLines() {
			b := r.buf[r.r:r.w]
			end, next, lf := findHeadEnd(b, scan)
			if end > 0 {
				if end > lim.MaxHeadBytes {
					return nil, r.headTooBig(lf || sawLF)
				}
				r.arena = append(r.arena[:0], b[:end]...)
				r.r += end
				r.whole = true
				return r.arena, nil
			}
			scan, sawLF = next, sawLF || lf
			if !sawLF && !r.resp && len(b) > lim.MaxURI+32 {
				return nil, &ProtocolError{Status: 414, Msg: "request line too long"}
			}
			if len(b) >= lim.MaxHeadBytes {
				return nil, r.headTooBig(sawLF)
			}
		}
		had := r.w - r.r
		if err := r.fill(); err != nil {
			if err == errBufferFull {
				return nil, r.headTooBig(sawLF)
			}
			if err == io.EOF {
				if had == 0 && r.r == r.w {
					return nil, io.EOF
				}
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

func (r *Reader) headTooBig(sawLF bool) error {
	if r.resp {
		return perr(true, 502, "response head too large")
	}
	if !sawLF {
		return &ProtocolError{Status: 414, Msg: "request line too long"}
	}
	return &ProtocolError{Status: 431, Msg: "request head too large"}
}

// findHeadEnd looks for the empty line ending a head in b, starting at from.
// It returns the length of the head including that line, or 0 and the offset
// to resume from. lf reports that at least one line terminator was seen.
// Bare LF terminators are accepted here; the line parser decides on CRs.
func findHeadEnd(b []byte, from int) (end, next int, lf bool) {
	i := from
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0, len(b), lf
		}
		i += j
		lf = true
		switch {
		case i+1 >= len(b):
			return 0, i, lf
		case b[i+1] == '\n':
			return i + 2, 0, lf
		case b[i+1] == '\r':
			if i+2 >= len(b) {
				return 0, i, lf
			}
			if b[i+2] == '\n' {
				return i + 3, 0, lf
			}
		}
		i++
	}
}

// nextLine returns the line starting at i (without its LF or CRLF) and the
// offset after it. The head always ends with a line terminator.
func nextLine(b []byte, i int) (line []byte, next int) {
	j := bytes.IndexByte(b[i:], '\n')
	line = b[i : i+j]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, i + j + 1
}
