package h2

import (
	"bufio"
	"io"
	"net"
	"sync"

	"github.com/gatehouse/gatehouse/internal/sock"
)

// An idle HTTP/2 connection holds no I/O buffer. Its read loop waits for
// the next frame through a sock.LazyReader, which takes a buffer only when
// the socket is readable; its frames are written into a bufio.Writer taken
// from a pool by the first write and given back by the flush that empties
// it. With a bufio.Reader and a bufio.Writer of its own, each connection
// held 48 KiB of heap (16 + 32), resident where they had been used, and
// bench/run.sh idle_h2 measured 27,218 bytes per idle connection against
// HAProxy's 6,405 (whose buffers are allocated per use as well).

// writeBufSize is the pooled writers' size: a flush that streams ending
// in one scheduling round share (writeLoop) fits in one write(2).
const writeBufSize = 32 << 10

// freeWriters is how many writers wait between uses. Not a sync.Pool: a
// pool empties over two collections, and the 32 KiB writers then taken
// anew were a tenth of the bytes an HTTP/2 stream allocated (bench/run.sh
// fixed_rate_h2's load: ~160 of ~1,750 bytes per request), feeding the
// collections that emptied it. 64 hold at most 2 MiB.
const freeWriters = 64

var writeBufs = freeList[bufio.Writer]{max: freeWriters}

func getWriter() *bufio.Writer {
	if w := writeBufs.get(); w != nil {
		return w
	}
	return bufio.NewWriterSize(nil, writeBufSize)
}

func putWriter(w *bufio.Writer) { writeBufs.put(w) }

// freeList is a bounded LIFO of buffers that outlives collections. A
// mutex and a slice, not a buffered channel: a channel operation takes
// the runtime's lock and was ~1% of an h2c run's CPU (two per response:
// the head's encoding buffer, taken and given back).
type freeList[T any] struct {
	mu  sync.Mutex
	s   []*T
	max int
}

func (l *freeList[T]) get() *T {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.s)
	if n == 0 {
		return nil
	}
	x := l.s[n-1]
	l.s[n-1] = nil
	l.s = l.s[:n-1]
	return x
}

func (l *freeList[T]) put(x *T) {
	l.mu.Lock()
	if len(l.s) < l.max {
		l.s = append(l.s, x)
	}
	l.mu.Unlock()
}

// newConnReader reads c with a rawReader (rawread_linux.go), or else a
// sock.LazyReader, when c is a plain TCP connection (h2c); otherwise (TLS) with a pooled bufio.Reader, given
// back while the connection is parked.
func newConnReader(c net.Conn) io.Reader {
	if rr, ok := newRawReader(c); ok {
		return rr
	}
	if lr, ok := sock.NewLazyReader(c); ok {
		return lr
	}
	b := getReader()
	b.Reset(c)
	return bufReader{b}
}

// readBufs are the TLS connections' read buffers between uses.
var readBufs sync.Pool

func getReader() *bufio.Reader {
	if b, ok := readBufs.Get().(*bufio.Reader); ok {
		return b
	}
	return bufio.NewReaderSize(nil, 16<<10)
}

func putReader(b *bufio.Reader) { readBufs.Put(b) }

// bufWriter is the write Framer's destination: the connection's current
// pooled writer, taken on the first write after a flush. Caller holds wmu.
type bufWriter struct{ c *Conn }

func (w bufWriter) Write(p []byte) (int, error) {
	c := w.c
	if c.bw == nil {
		c.bw = getWriter()
		c.bw.Reset(c.nc)
	}
	return c.bw.Write(p)
}

// releaseWriteBuf gives the writer back once a flush emptied it. Caller
// holds wmu.
func (c *Conn) releaseWriteBuf() {
	if c.bw != nil && c.bw.Buffered() == 0 {
		c.bw.Reset(nil)
		putWriter(c.bw)
		c.bw = nil
	}
}
