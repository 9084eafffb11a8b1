package http1

import (
	"bytes"
	"errors"
	"io"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// BodyReader reads one message body through its Reader's buffer, removing
// the framing. It returns io.EOF at the end of the body; a connection closed
// early is io.ErrUnexpectedEOF and bad chunked framing a *ProtocolError.
type BodyReader struct {
	r       *Reader
	f       Framing
	remain  int64 // BodyLength: bytes left
	trailer httpmsg.Headers
	err     error

	flushTo *Writer // streaming CopyBody: flush it before blocking on a read
	werr    error   // the write error behind errCopyWrite
}

// errCopyWrite signals, through the read path, that flushing the copy's
// destination failed; CopyBody reports the stored write error instead.
var errCopyWrite = errors.New("http1: copy destination failed")

// Body returns a reader for the body framed by f. It lives inside r (no
// allocation) and is valid until the next head is read.
func (r *Reader) Body(f Framing) *BodyReader {
	r.body = BodyReader{r: r, f: f, remain: f.Length, trailer: r.body.trailer[:0]}
	r.cs = chunkState{}
	if f.Kind == BodyNone || f.Kind == BodyLength && f.Length <= 0 {
		r.body.err = io.EOF
	}
	return &r.body
}

// Trailer returns the trailer fields of a chunked body once Read returned
// io.EOF. They alias the Reader's arena like the head's fields.
func (b *BodyReader) Trailer() httpmsg.Headers { return b.trailer }

// WouldBlock reports whether the next Read has to wait for the peer:
// nothing is buffered and the body is not known to be complete. Streaming
// copies flush their destination then, and only then.
func (b *BodyReader) WouldBlock() bool {
	if b.err != nil || (b.f.Kind == BodyLength && b.remain == 0) {
		return false
	}
	r := b.r
	if r.Buffered() == 0 {
		return true
	}
	if b.f.Kind != BodyChunked {
		return false
	}
	// Buffered framing is not data: a chunk's ending CRLF, or a size line
	// with nothing of its chunk behind it, still leaves the next Read
	// waiting for the peer (a server-sent event's chunk arrives whole, its
	// CRLF included).
	buf := r.buf[r.r:r.w]
	switch r.cs.phase {
	case phCRLF:
		if len(buf) < 2 {
			return true
		}
		buf = buf[2:]
	case phSize:
	default:
		return false
	}
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return true
	}
	// The last chunk ends the data: the trailers may wait, the body not.
	n, ok := parseChunkSize(bytes.TrimSuffix(buf[:i], []byte{'\r'}))
	return ok && n > 0 && len(buf) == i+1
}

// Read implements io.Reader.
func (b *BodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.read(p)
	if err != nil {
		b.err = err
		if n > 0 && err == io.EOF {
			err = nil // report EOF on the next call, after the data
		}
	}
	return n, err
}

func (b *BodyReader) read(p []byte) (int, error) {
	r := b.r
	switch b.f.Kind {
	case BodyLength:
		n, err := r.readData(p, b.remain, false)
		b.remain -= int64(n)
		if err == nil && b.remain == 0 {
			err = io.EOF
		}
		return n, err
	case BodyClose:
		return r.readData(p, 1<<62, true)
	case BodyChunked:
		for {
			switch r.cs.phase {
			case phSize:
				n, err := r.chunkSize()
				if err != nil {
					return 0, err
				}
				if n == 0 {
					r.cs.phase = phTrailer
				} else {
					r.cs.phase, r.cs.remain = phData, n
				}
			case phData:
				n, err := r.readData(p, r.cs.remain, false)
				r.cs.remain -= int64(n)
				if r.cs.remain == 0 {
					r.cs.phase = phCRLF
				}
				return n, err
			case phCRLF:
				if err := r.chunkCRLF(); err != nil {
					return 0, err
				}
				r.cs.phase = phSize
			case phTrailer:
				if err := r.readTrailers(&b.trailer); err != nil {
					return 0, err
				}
				r.cs.phase = phDone
			default:
				return 0, io.EOF
			}
		}
	}
	return 0, io.EOF
}

// readData copies up to min(len(p), max) body bytes: buffered ones first,
// otherwise straight from the connection into p when p is at least a buffer
// long (no double copy for large reads). eofOK marks a close-delimited body.
func (r *Reader) readData(p []byte, max int64, eofOK bool) (int, error) {
	if int64(len(p)) > max {
		p = p[:max]
	}
	if r.r == r.w {
		if r.buf == nil || len(p) >= len(r.buf) {
			return r.readDirect(p, eofOK)
		}
		if err := r.fill(); err != nil {
			if err == io.EOF && !eofOK {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
	n := copy(p, r.buf[r.r:r.w])
	r.r += n
	return n, nil
}

func (r *Reader) readDirect(p []byte, eofOK bool) (int, error) {
	if r.rerr != nil {
		err := r.rerr
		r.rerr = nil
		if err == io.EOF && !eofOK {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	for range 100 {
		n, err := r.rd.Read(p)
		if n > 0 {
			r.rerr = err
			return n, nil
		}
		if err == io.EOF && !eofOK {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, errNoProgress
}
