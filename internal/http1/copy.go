package http1

import (
	"io"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// CopyOptions tune CopyBody.
type CopyOptions struct {
	// Flush forwards data as soon as it arrives: the Writer is flushed
	// whenever the copy would wait for the source, and at the end. For
	// server-sent events and long polling. Without it the caller flushes.
	Flush bool
	// Chunk sends a close-delimited body (BodyClose) with chunked framing,
	// so the client connection can stay open; the caller must have announced
	// Transfer-Encoding: chunked in the head.
	Chunk bool
	// Trailer, when set, edits a chunked body's trailer fields before they
	// are forwarded (a proxy removes what a client may not send on).
	Trailer func(*httpmsg.Headers)
}

// CopyBody forwards the body framed by f from r to w without ever holding
// more than a buffer of it. Content-Length bodies are copied raw; chunked
// bodies are validated and re-emitted with the same chunk sizes (extensions
// dropped) and their trailers; close-delimited bodies are copied raw until
// EOF, or chunked with opt.Chunk. Buffered bytes go first; then each read
// fills the whole pooled buffer and goes out in one (vectored) write.
//
// n counts body bytes. readErr is set when the source failed (truncated
// body, bad framing, timeout: the sender aborted), writeErr when w did (the
// receiver went away), so the proxy can tell client and server aborts apart.
func (r *Reader) CopyBody(w *Writer, f Framing, opt CopyOptions) (n int64, readErr, writeErr error) {
	b := r.Body(f)
	if opt.Flush {
		b.flushTo = w
	}
	n, readErr, writeErr = r.copyBody(w, f, opt)
	b.flushTo = nil
	if readErr == errCopyWrite {
		readErr, writeErr = nil, b.werr
	}
	if readErr != nil {
		b.err = readErr
		return n, readErr, writeErr
	}
	b.err = io.EOF
	if writeErr == nil && opt.Flush {
		writeErr = w.Flush()
	}
	return n, nil, writeErr
}

func (r *Reader) copyBody(w *Writer, f Framing, opt CopyOptions) (n int64, readErr, writeErr error) {
	switch f.Kind {
	case BodyLength:
		return r.copyData(w, f.Length, false)
	case BodyClose:
		if !opt.Chunk {
			n, readErr, writeErr = r.copyData(w, 1<<62, true)
			return
		}
		for {
			p, err := r.span(1<<62, true)
			if err == io.EOF {
				return n, nil, w.WriteLastChunk(nil)
			}
			if err != nil {
				return n, err, nil
			}
			if err := w.WriteChunk(p); err != nil {
				return n, nil, err
			}
			n += int64(len(p))
		}
	case BodyChunked:
		for {
			size, err := r.chunkSize()
			if err != nil {
				return n, err, nil
			}
			if size == 0 {
				if err := r.readTrailers(&r.body.trailer); err != nil {
					return n, err, nil
				}
				if opt.Trailer != nil && len(r.body.trailer) > 0 {
					opt.Trailer(&r.body.trailer)
				}
				return n, nil, w.WriteLastChunk(r.body.trailer)
			}
			if err := w.WriteChunkHeader(size); err != nil {
				return n, nil, err
			}
			m, rerr, werr := r.copyData(w, size, false)
			n += m
			if rerr != nil || werr != nil {
				return n, rerr, werr
			}
			if err := r.chunkCRLF(); err != nil {
				return n, err, nil
			}
			if _, err := w.WriteString("\r\n"); err != nil {
				return n, nil, err
			}
		}
	}
	return 0, nil, nil
}

// copyData forwards exactly max bytes (or until EOF when eofOK).
func (r *Reader) copyData(w *Writer, max int64, eofOK bool) (n int64, readErr, writeErr error) {
	for n < max {
		p, err := r.span(max-n, eofOK)
		if err == io.EOF && eofOK {
			return n, nil, nil
		}
		if err != nil {
			return n, err, nil
		}
		if _, err := w.Write(p); err != nil {
			return n, nil, err
		}
		n += int64(len(p))
	}
	return n, nil, nil
}

// span consumes and returns up to max buffered body bytes, reading first
// when none are buffered. The slice is valid until the next read on r.
func (r *Reader) span(max int64, eofOK bool) ([]byte, error) {
	if r.r == r.w {
		if err := r.moreEOF(eofOK); err != nil {
			return nil, err
		}
	}
	k := r.w - r.r
	if int64(k) > max {
		k = int(max)
	}
	p := r.buf[r.r : r.r+k]
	r.r += k
	return p, nil
}

// Trailer returns the trailer fields of the last chunked body read by Body
// or CopyBody.
func (r *Reader) Trailer() httpmsg.Headers { return r.body.trailer }
