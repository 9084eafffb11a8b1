package proxy

import (
	"net"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
)

// HAProxy's client and server timeouts are inactivity timeouts: a 2 GB
// download or a server-sent event stream lives as long as bytes keep
// flowing. Go's deadlines are absolute, so these wrappers push the
// deadline forward as I/O happens. Arming a deadline costs a runtime
// timer update and two clock reads, so a deadline anywhere in the second
// half of the window is left alone: on the per-request path the
// connection keeps the deadline it has and nothing but one monotonic
// clock read is paid.

// deadlineFits reports whether a deadline the connection holds (until,
// clock.Mono; 0: none) can stand for an inactivity window of idle from now.
func deadlineFits(until, now int64, idle time.Duration) bool {
	left := until - now
	return until != 0 && left >= int64(idle/2) && left <= int64(idle)
}

// stamp is a transaction's latest clock reading (clock.Mono), shared by
// the timed readers and writers of its connections. It is taken where a
// wait ended and stays "now" until the next read or a write that waited:
// between the two is CPU work of microseconds, and the inactivity
// deadlines it feeds have half a window of slack. On a plain keep-alive
// request that makes two clock reads instead of a dozen.
type stamp struct{ mono int64 } // 0: spent, read the clock

// now returns the reading, reading the clock if it is spent. A nil stamp
// reads the clock every time.
func (s *stamp) now() int64 {
	if s == nil {
		return clock.Mono()
	}
	if s.mono == 0 {
		s.mono = clock.Mono()
	}
	return s.mono
}

// set records a reading just taken.
func (s *stamp) set(mono int64) {
	if s != nil {
		s.mono = mono
	}
}

// spend marks the reading stale: something may have waited since.
func (s *stamp) spend() {
	if s != nil {
		s.mono = 0
	}
}

// timedReader reads from a connection under an inactivity timeout
// (idle > 0), or under an absolute deadline (idle 0: limit, armed before
// the next read only if one happens: a request head that came whole in
// the first read never pays for its http-request deadline).
type timedReader struct {
	c     net.Conn
	idle  time.Duration
	limit int64 // absolute mode: the deadline (clock.Mono); 0: none
	until int64 // the read deadline the connection holds (clock.Mono); 0: none
	reads uint32
	clk   *stamp // the transaction's clock reading; nil: read the clock
}

func (r *timedReader) Read(p []byte) (int, error) {
	r.reads++
	if r.idle > 0 {
		if now := r.clk.now(); !deadlineFits(r.until, now, r.idle) {
			r.arm(now + int64(r.idle))
		}
	} else if r.until != r.limit {
		r.arm(r.limit)
	}
	n, err := r.c.Read(p)
	r.clk.spend()
	return n, err
}

func (r *timedReader) arm(until int64) {
	r.until = until
	if until == 0 {
		_ = r.c.SetReadDeadline(time.Time{})
		return
	}
	_ = r.c.SetReadDeadline(clock.Time(until))
}

// inactivity switches r to an inactivity timeout; the next read arms it
// unless the deadline held already fits.
func (r *timedReader) inactivity(idle time.Duration) { r.idle = idle }

// absolute switches r to an absolute deadline (clock.Mono; 0: none), armed
// at the next read.
func (r *timedReader) absolute(limit int64) {
	r.idle = 0
	r.limit = limit
}

// expect arms limit now unless the connection already holds a deadline
// at most slack before it. A wait that ends early by up to slack is then
// the caller's to resume (see session.readFirst): one timer update per
// idle period instead of one per request.
func (r *timedReader) expect(limit int64, slack time.Duration) {
	r.idle = 0
	r.limit = limit
	switch {
	case limit == 0:
		if r.until != 0 {
			r.arm(0) // no timeout at all: clear the one held, once
		}
	case r.until <= 0 || r.until > limit || limit-r.until > int64(slack):
		r.arm(limit)
	default:
		r.limit = r.until
	}
}

// timedWriter writes under an inactivity timeout and counts what it
// sends, so the log's %B and the stats' bytes out are exact wire bytes.
type timedWriter struct {
	c     net.Conn
	idle  time.Duration
	until int64 // the write deadline the connection holds (clock.Mono); 0: none
	n     int64
	clk   *stamp      // the transaction's clock reading; nil: read the clock
	pub   func(int64) // "option contstats": counts bytes as they go; nil: off
}

func (w *timedWriter) refresh() {
	if w.idle > 0 {
		if now := w.clk.now(); !deadlineFits(w.until, now, w.idle) {
			w.until = now + int64(w.idle)
			_ = w.c.SetWriteDeadline(clock.Time(w.until))
		}
	}
}

// waitReporter is a connection that can tell whether its last write had
// to wait for room (sock.Conn); for any other a write may have waited.
type waitReporter interface{ WriteWaited() bool }

// wrote spends the clock reading if the write may have waited.
func (w *timedWriter) wrote() {
	if wr, ok := w.c.(waitReporter); !ok || wr.WriteWaited() {
		w.clk.spend()
	}
}

func (w *timedWriter) Write(p []byte) (int, error) {
	w.refresh()
	n, err := w.c.Write(p)
	w.wrote()
	w.n += int64(n)
	if w.pub != nil && n > 0 {
		w.pub(int64(n))
	}
	return n, err
}

// buffersWriter is a connection with its own writev (sock.Conn): net.Buffers
// only finds the one of a *net.TCPConn.
type buffersWriter interface {
	WriteBuffers(b *net.Buffers) (int64, error)
}

// WriteVectored sends b with one writev when the connection is a plain
// TCP one (see http1.VectoredWriter).
func (w *timedWriter) WriteVectored(b *net.Buffers) (int64, error) {
	w.refresh()
	var n int64
	var err error
	if bw, ok := w.c.(buffersWriter); ok {
		n, err = bw.WriteBuffers(b)
	} else {
		n, err = b.WriteTo(w.c)
	}
	w.wrote()
	w.n += n
	return n, err
}

// awaitAnswer tells the connection under c (a sock.Conn) that its next
// read waits for the answer to what was just sent, so it lets the other
// goroutines go first rather than fail with EAGAIN (sock.Conn.AwaitAnswer).
func awaitAnswer(c net.Conn) {
	if a, ok := c.(interface{ AwaitAnswer() }); ok {
		a.AwaitAnswer()
	}
}
