package httpcomp

import (
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
)

// DefaultLevel is HAProxy's tune.comp.maxlevel default: the fastest level,
// fastDeflate's. Higher levels use klauspost/compress's encoders.
const DefaultLevel = 1

// coder is what the three deflate flavours have in common.
type coder interface {
	io.WriteCloser
	Flush() error
	Reset(io.Writer)
}

// Encoder compresses one response body. What it produces collects in a
// buffer the caller takes with Pending and clears with Consumed, so each
// flush point becomes one write (one chunk, one DATA frame) instead of the
// deflater's many small ones. Encoders and their deflaters are pooled.
type Encoder struct {
	algo  Algo
	level int
	c     coder // nil for identity
	out   sink
}

type sink struct{ b []byte }

func (s *sink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// pools holds encoders by algorithm and level (1..9).
var pools [Gzip + 1][10]sync.Pool

// NewEncoder returns a pooled encoder for a at level (clamped to 1..9).
func NewEncoder(a Algo, level int) *Encoder {
	level = max(1, min(level, 9))
	if a == None {
		a = Identity
	}
	if e, ok := pools[a][level].Get().(*Encoder); ok {
		if e.c != nil {
			e.c.Reset(&e.out)
		}
		return e
	}
	e := &Encoder{algo: a, level: level}
	if level == 1 && a != Identity {
		// The fastest level is HAProxy's libslz choice: fixed codes.
		e.c = newFastDeflate(&e.out, a)
		return e
	}
	switch a {
	case Gzip:
		e.c, _ = gzip.NewWriterLevel(&e.out, level)
	case Deflate:
		e.c, _ = zlib.NewWriterLevel(&e.out, level)
	case RawDeflate:
		e.c, _ = flate.NewWriter(&e.out, level)
	}
	return e
}

// Release returns the encoder to its pool; it must not be used after.
func (e *Encoder) Release() {
	if e == nil {
		return
	}
	if cap(e.out.b) > 256<<10 {
		e.out.b = nil // an unusual burst: do not keep it
	}
	e.out.b = e.out.b[:0]
	pools[e.algo][e.level].Put(e)
}

// Algo is the encoder's algorithm.
func (e *Encoder) Algo() Algo { return e.algo }

// Write compresses p; output may or may not be pending after it.
func (e *Encoder) Write(p []byte) error {
	if e.c == nil {
		e.out.b = append(e.out.b, p...)
		return nil
	}
	_, err := e.c.Write(p)
	return err
}

// Flush makes everything written so far decodable from what is pending
// (a deflate sync flush), for data that must not wait for more.
func (e *Encoder) Flush() error {
	if e.c == nil {
		return nil
	}
	return e.c.Flush()
}

// Close ends the compressed stream (final block, gzip/zlib trailer).
func (e *Encoder) Close() error {
	if e.c == nil {
		return nil
	}
	return e.c.Close()
}

// Pending is the compressed output not yet taken; valid until the next call.
func (e *Encoder) Pending() []byte { return e.out.b }

// Consumed clears the pending output once the caller sent it.
func (e *Encoder) Consumed() { e.out.b = e.out.b[:0] }
