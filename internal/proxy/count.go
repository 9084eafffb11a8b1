package proxy

import (
	"net"
	"time"
)

// HAProxy's client and server timeouts are inactivity timeouts: a 2 GB
// download or a server-sent event stream lives as long as bytes keep
// flowing. Go's deadlines are absolute, so these wrappers push the
// deadline forward as I/O happens, touching the runtime timer only when
// half of the window is used up (cheap on the per-request path).

// timedReader reads from a connection under an inactivity timeout. With
// idle 0 it leaves deadlines to the caller (request heads use absolute
// http-request / keep-alive deadlines).
type timedReader struct {
	c     net.Conn
	idle  time.Duration
	until time.Time
}

func (r *timedReader) Read(p []byte) (int, error) {
	if r.idle > 0 {
		if now := time.Now(); r.until.Sub(now) < r.idle/2 {
			r.until = now.Add(r.idle)
			_ = r.c.SetReadDeadline(r.until)
		}
	}
	return r.c.Read(p)
}

// inactivity switches r to an inactivity timeout; the next read arms it.
func (r *timedReader) inactivity(idle time.Duration) {
	r.idle = idle
	r.until = time.Time{}
}

// timedWriter writes under an inactivity timeout and counts what it
// sends, so the log's %B and the stats' bytes out are exact wire bytes.
type timedWriter struct {
	c     net.Conn
	idle  time.Duration
	until time.Time
	n     int64
}

func (w *timedWriter) Write(p []byte) (int, error) {
	if w.idle > 0 {
		if now := time.Now(); w.until.Sub(now) < w.idle/2 {
			w.until = now.Add(w.idle)
			_ = w.c.SetWriteDeadline(w.until)
		}
	}
	n, err := w.c.Write(p)
	w.n += int64(n)
	return n, err
}

// WriteVectored sends b with one writev when the connection is a plain
// TCP one (see http1.VectoredWriter).
func (w *timedWriter) WriteVectored(b *net.Buffers) (int64, error) {
	if w.idle > 0 {
		if now := time.Now(); w.until.Sub(now) < w.idle/2 {
			w.until = now.Add(w.idle)
			_ = w.c.SetWriteDeadline(w.until)
		}
	}
	n, err := b.WriteTo(w.c)
	w.n += n
	return n, err
}
