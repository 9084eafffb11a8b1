package h2

import (
	"bufio"
	"errors"
	"os"
	"time"

	"golang.org/x/net/http2"
)

// Parking. An idle connection's read loop waits in a goroutine whose stack
// (~4 KiB, and the collector's goal counts stacks, so about twice that in
// RSS) was two thirds of what an idle HTTP/2 connection cost
// (bench/run.sh idle_h2). So a connection with no stream, nothing to
// write and no graceful end under way, whose read loop has waited
// parkAfter at a frame boundary with nothing buffered, is parked: the
// read loop hands the socket to a Parker (the proxy's epoll set, as
// HTTP/1's idle keep-alive connections) and returns ErrParked; the
// Parker calls Resume on a new goroutine when the socket becomes
// readable. Everything the connection is stays as it was (HPACK tables,
// settings, windows, stream ids); only what is rebuilt at once on resume
// goes: the Framers (each keeps a buffer as large as the largest frame it
// handled), the header block buffers, the stream table, and the idle
// timer, whose deadline the Parker keeps instead.
//
// While parked, anything that needs the read loop resumes it (Unpark): a
// graceful end (Shutdown, the idle timeout), which reads until the client
// closes, and a close, which must take the socket out of the epoll set
// before its descriptor can be reused.

// ErrParked is what Serve and Resume return when the connection was
// parked: it lives on, and the Parker resumes it.
var ErrParked = errors.New("h2: connection parked")

// Parker holds parked connections. Both methods are called with the
// connection's locks held: they must not call into the Conn.
type Parker interface {
	// Park hands the socket to a poller, which has Resume called on a new
	// goroutine once it is readable (or closed), or once deadline (the
	// idle timeout; zero: none) passes. ok false: not parked; retry: try
	// again after the next wait, else never on this connection.
	Park(deadline time.Time) (ok, retry bool)
	// Unpark takes a parked connection out of the poller and has it
	// resumed; false when the poller had let go of it already (it is
	// being resumed).
	Unpark() bool
}

// SetParker lets the connection park after waiting after while idle.
// Call it before Serve.
func (c *Conn) SetParker(p Parker, after time.Duration) {
	if after > 0 {
		c.parker, c.parkAfter = p, after
	}
}

// Resume continues a parked connection's read loop (on a new goroutine,
// from the Parker). It returns as Serve does, ErrParked included.
func (c *Conn) Resume() error {
	c.mu.Lock()
	c.parked = false
	if c.streams == nil {
		c.streams = make(map[uint32]*Stream)
	}
	if c.cfg.IdleTimeout > 0 && c.idleTimer == nil && !c.dead && !c.graceful {
		if left := time.Until(c.idleDeadlineLocked()); left > 0 {
			c.idleTimer = time.AfterFunc(left, c.idleCheck)
		} else {
			c.idleExpireLocked()
		}
	}
	c.mu.Unlock()
	if c.br == nil {
		b := bufReader{getReader()}
		b.Reset(c.nc)
		c.br, c.tap.r = b, b
	}
	c.fr = c.newReadFramer()
	return c.served(c.readLoop())
}

// served ends the connection unless the read loop parked it.
func (c *Conn) served(err error) error {
	if err == ErrParked {
		return err
	}
	return c.teardown(err)
}

// newReadFramer reads frames through the tap. Header blocks go through the
// connection's headerDecoder, whose HPACK table outlives a parked Framer;
// a connection parks only between header blocks, where a new Framer's
// frame-order state (no CONTINUATION expected) is the old one's.
func (c *Conn) newReadFramer() *http2.Framer {
	fr := http2.NewFramer(nil, c.tap)
	fr.SetMaxReadFrameSize(c.cfg.MaxFrameSize)
	return fr
}

// idleWait runs before each frame is read. With nothing buffered it waits
// for input without consuming any (so a wait that times out costs no
// bytes of a frame), and while the connection is idle the wait has a
// deadline parkAfter away, set here or, when the last stream ends during
// the wait, by armParkLocked. When it passes, the connection parks (parked
// true: the read loop returns ErrParked). err: the wait failed as a read
// would (EOF, reset, a graceful end's deadline), which ends the
// connection.
func (c *Conn) idleWait() (parked bool, err error) {
	for {
		if !c.tap.atBoundary() || c.hd.cur != nil && c.hd.cur.open {
			return false, nil
		}
		ir, ok := c.br.(idleReader)
		if !ok || ir.Buffered() > 0 {
			return false, nil
		}
		rr, batch := ir.(*rawReader)
		if c.parker == nil {
			if batch {
				return false, rr.FillWith()
			}
			return false, nil
		}
		c.mu.Lock()
		c.filling = true
		c.armParkLocked()
		c.mu.Unlock()
		if batch {
			// The frames that arrive during the wait are processed
			// in it (rawReader.FillWith); with streams opened the
			// deadline, if it passes, finds the connection not
			// parkable, and the wait goes on.
			err = rr.FillWith()
		} else {
			err = ir.Fill()
		}
		c.mu.Lock()
		c.filling = false
		armed := c.parkArmed
		c.parkArmed = false
		if armed && !c.graceful {
			// A graceful end sets a deadline of its own once graceful.
			_ = c.nc.SetReadDeadline(time.Time{})
		}
		c.mu.Unlock()
		switch {
		case err == nil:
			return false, nil
		case !armed || !errors.Is(err, os.ErrDeadlineExceeded):
			return false, err
		}
		if c.park() {
			return true, nil
		}
		// Not now (a write under way, a reload, a graceful end): wait again.
	}
}

// armParkLocked sets the deadline after which an idle connection parks,
// while (and only while) the read loop waits for input between frames: a
// deadline in the middle of a frame would cost its bytes. idleWait calls
// it before it waits, maybeFinishLocked when a stream or its handler ends.
// Caller holds mu.
func (c *Conn) armParkLocked() {
	if c.filling && !c.parkArmed && c.parkableLocked() {
		c.parkArmed = true
		_ = c.nc.SetReadDeadline(time.Now().Add(c.parkAfter))
	}
}

// atBoundary: the tap is between frames, as the read loop leaves it.
func (t *frameTap) atBoundary() bool { return t.hn == 0 && t.left == 0 && t.err == nil }

// idleReader is the socket reader's side of a wait that consumes nothing.
type idleReader interface {
	Buffered() int
	Fill() error // wait until bytes are buffered
}

// bufReader adapts the bufio.Reader of a TLS connection: a deadline ends
// crypto/tls's read without a lasting error, and when it does, crypto/tls
// holds no plaintext and less than a record (it decrypts a whole record
// before it reads the socket again), so the rest of that record, if any,
// is still to come and readiness will show it.
type bufReader struct{ *bufio.Reader }

func (b bufReader) Fill() error {
	_, err := b.Peek(1)
	return err
}

// parkableLocked: no stream and no end under way; park checks the
// writer too (one still running is waited for: a PING answered while
// parked ends with the writer). Caller holds mu.
func (c *Conn) parkableLocked() bool {
	return c.parker != nil && !c.graceful && !c.goingAway && !c.dead && !c.closing && c.idle()
}

// park hands the idle connection to the Parker; false: not now.
func (c *Conn) park() bool {
	// Lock order: wmu, then mu. A write under way is not idle.
	if !c.wmu.TryLock() {
		return false
	}
	defer c.wmu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.parkableLocked() || c.bw != nil || c.werr != nil {
		return false
	}
	c.qmu.Lock()
	busy := c.wrunning || len(c.ctrlQ) > 0
	c.qmu.Unlock()
	if busy {
		return false
	}
	var deadline time.Time
	if c.idleTimer != nil {
		deadline = c.idleDeadlineLocked()
	}
	ok, retry := c.parker.Park(deadline)
	if !ok {
		if !retry {
			c.parker = nil
		}
		return false
	}
	// From here the Parker may resume it on another goroutine, which
	// first takes mu: everything below happens before.
	c.parked = true
	if c.idleTimer != nil {
		c.idleTimer.Stop()
		c.idleTimer = nil
	}
	c.fr = nil
	c.wfr = nil    // locked takes a new one for the next write
	c.hd.recycle() // the last frame's block, if any, back to its pool
	c.streams = nil
	c.pending = nil
	c.qmu.Lock()
	c.ctrlQ = nil
	c.qmu.Unlock()
	if b, ok := c.br.(bufReader); ok {
		b.Reset(nil)
		putReader(b.Reader)
		c.br, c.tap.r = nil, nil
	}
	return true
}

// unparkLocked has a parked connection's read loop run again, for an
// event that needs it. Caller holds mu.
func (c *Conn) unparkLocked() {
	if c.parked {
		c.parker.Unpark()
	}
}
