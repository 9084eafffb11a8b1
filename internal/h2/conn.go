package h2

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/clock"
)

// Conn is one server-side HTTP/2 connection. Every idle connection holds
// one, so its flags sit together rather than each in a word of padding
// (TestResetTableTakenAtFirstReset bounds its size).
type Conn struct {
	nc  net.Conn
	cfg Config
	ctr *Counters
	h   Handler

	br  io.Reader // a sock.LazyReader where it can be: see newConnReader; nil while parked (TLS)
	tap *frameTap
	fr  *http2.Framer // read side, owned by the read loop; nil while parked
	hd  headerDecoder // request header blocks, owned by the read loop (headers.go)

	// Parking (park.go): parker and parkAfter are set before Serve.
	parker    Parker
	parkAfter time.Duration

	// gotSettings: the first frame, a SETTINGS, was read (read loop).
	gotSettings bool
	// Under mu (park.go).
	parked    bool // in the Parker's hands, or being resumed
	closing   bool // closeNC began: never park again
	filling   bool // the read loop waits for input between frames
	parkArmed bool // ... with the deadline after which it parks
	// Under wmu: the first header block announced a dynamic table of 0.
	sentTableSize bool
	// Under qmu: see writeLoop.
	wrunning bool
	wstop    bool // teardown: no writer starts any more

	// Write side: everything below is guarded by wmu so frames never interleave
	// and HPACK encoding order matches the wire order.
	wmu sync.Mutex
	// wdeadline is the socket's write deadline (SendTimeout), a
	// clock.Mono reading; under wmu.
	wdeadline int64
	bw        *bufio.Writer // nil while nothing waits to be written: see bufWriter
	wfr       *http2.Framer // nil while parked: locked takes a new one
	werr      error

	// Control frames queued by the read loop, written by writeLoop, so the
	// read loop never blocks on a peer that does not read. qsig also wakes
	// writeLoop to flush what stream writers buffered (writeFrames).
	// writeLoop runs only while there is something to write or a stream
	// open (see wakeWriter); wrunning and wstop (above) are under qmu.
	qmu   sync.Mutex
	ctrlQ []func() error
	qsig  chan struct{}
	wwg   sync.WaitGroup

	peerMaxFrame atomic.Uint32
	maxStreamID  uint32       // highest client stream id seen; under mu
	lastFrame    atomic.Int64 // clock.Mono of the last frame read: one clock read per frame, not time.Now's two

	// mu guards the stream table, flow-control windows and lifecycle flags.
	mu             sync.Mutex
	cond           *sync.Cond // send-window waiters
	streams        map[uint32]*Stream
	running        int // handler goroutines
	pending        []*Stream
	inflow         int64 // connection receive window left
	inUnacked      int64 // consumed, not yet returned by WINDOW_UPDATE
	outflow        int64 // connection send window
	peerInitWindow int64
	// recentReset: streams we reset, whose late frames are ignored; taken
	// at the first reset, as most connections never reset one (256 bytes
	// of every idle connection otherwise: bench/run.sh idle_h2).
	recentReset   *[64]uint32
	recentN       int
	resets        bucket // peer resets of unfinished streams (rapid reset)
	glitches      bucket
	serving       bool
	goingAway     bool // GOAWAY sent
	graceful      bool // Shutdown or idle: clean end once streams finish
	draining      bool // Shutdown's first GOAWAY sent, its PING not yet answered
	finishing     bool
	dead          bool
	drainTimer    *time.Timer
	lastStreamEnd int64 // clock.Mono
	idleTimer     *time.Timer

	wg         sync.WaitGroup // handlers
	closeOnce  sync.Once
	closedByUs atomic.Bool
	closed     chan struct{}
}

// NewConn prepares a connection; call Serve to run it.
func NewConn(c net.Conn, cfg *Config, h Handler) *Conn {
	conf := cfg.withDefaults()
	cn := &Conn{
		nc:             c,
		cfg:            conf,
		ctr:            conf.Counters,
		h:              h,
		br:             newConnReader(c),
		qsig:           make(chan struct{}, 1),
		streams:        make(map[uint32]*Stream),
		inflow:         int64(conf.ConnWindowSize),
		outflow:        65535,
		peerInitWindow: 65535,
		resets:         newBucket(float64(2*conf.MaxConcurrentStreams), float64(2*conf.MaxConcurrentStreams)),
		glitches:       newBucket(glitchBurst, glitchRate),
		closed:         make(chan struct{}),
	}
	cn.cond = sync.NewCond(&cn.mu)
	cn.peerMaxFrame.Store(16384)
	cn.tap = &frameTap{r: cn.br, maxBlock: int(conf.MaxHeaderListSize) + int(conf.MaxFrameSize)}
	cn.hd.init(conf.HeaderTableSize, conf.MaxHeaderListSize)
	cn.fr = cn.newReadFramer()
	cn.wfr = http2.NewFramer(bufWriter{cn}, nil)
	if rr, ok := cn.br.(*rawReader); ok {
		rr.process = cn.processBuffered
	}
	// The response encoder (writeHeaders) indexes nothing, as HAProxy's
	// does: response fields are views of buffers the proxy reuses, and an
	// entry kept in the dynamic table would be compared later against bytes
	// that changed under it (the client then decodes an old value). The
	// first header block announces size 0.
	return cn
}

// Serve runs the connection until it ends. It expects the client preface
// first (TLS with ALPN h2, or cleartext prior-knowledge h2c). It returns nil
// on a clean end (peer closed, Shutdown, idle timeout, Close), otherwise the
// protocol or I/O error that ended it. It returns after all handlers returned,
// or with ErrParked once the connection is parked (see SetParker).
func (c *Conn) Serve() error {
	c.ctr.OpenConns.Add(1)
	c.ctr.TotalConns.Add(1)

	// Our SETTINGS go first, without waiting for the preface (RFC 9113 §3.4).
	// They go into the empty write buffer (so this cannot block on a peer
	// that does not read) and ahead of any frame a handler may write.
	c.wmu.Lock()
	err := c.wfr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: c.cfg.MaxConcurrentStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: c.cfg.InitialWindowSize},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: c.cfg.MaxFrameSize},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: c.cfg.MaxHeaderListSize},
		http2.Setting{ID: http2.SettingHeaderTableSize, Val: c.cfg.HeaderTableSize},
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
	)
	if d := c.cfg.ConnWindowSize - 65535; d > 0 && err == nil {
		err = c.wfr.WriteWindowUpdate(0, d)
	}
	c.wmu.Unlock()
	c.enqueue(true, func() error { return nil }) // the writer flushes them
	c.mu.Lock()
	c.serving = true
	if c.cfg.IdleTimeout > 0 {
		c.idleTimer = time.AfterFunc(c.cfg.IdleTimeout, c.idleCheck)
	}
	c.maybeFinishLocked()
	c.mu.Unlock()
	c.lastFrame.Store(clock.Mono())

	if err == nil {
		err = c.readPreface()
	}
	if err == nil {
		err = c.readLoop()
	}
	return c.served(err)
}

func (c *Conn) readPreface() error {
	var buf [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(c.br, buf[:]); err != nil {
		return err
	}
	if string(buf[:]) != http2.ClientPreface {
		return connError{http2.ErrCodeProtocol, "bad client preface"}
	}
	return nil
}

func (c *Conn) readLoop() error {
	for {
		if parked, err := c.idleWait(); parked {
			return ErrParked
		} else if err != nil {
			return err
		}
		if err := c.readOne(); err != nil {
			return err
		}
	}
}

// processBuffered reads and processes the whole frames a rawReader holds,
// from inside its FillWith (which calls it after each recv).
func (c *Conn) processBuffered() error {
	rr := c.br.(*rawReader)
	for rr.wholeFrame() {
		if err := c.readOne(); err != nil {
			return err
		}
	}
	if !c.tap.atBoundary() || c.hd.cur != nil && c.hd.cur.open {
		// No wait inside a header block: idleWait would arm a deadline
		// to park on.
		return errStopBatch
	}
	c.mu.Lock()
	if c.parkArmed && !c.parkableLocked() {
		// A stream opened during the wait: the deadline to park on,
		// left to pass, would end the wait and cost the next one a
		// recv (FillWith's first); put it back as idleWait does.
		c.parkArmed = false
		if !c.graceful {
			_ = c.nc.SetReadDeadline(time.Time{})
		}
	}
	c.mu.Unlock()
	return nil
}

// readOne reads and processes a frame. An error ends the connection.
func (c *Conn) readOne() error {
	f, err := c.readFrame()
	if err != nil {
		var se http2.StreamError
		var ce http2.ConnectionError
		switch {
		case errors.As(err, &se):
			if !c.gotSettings {
				return connError{http2.ErrCodeProtocol, "first frame is not SETTINGS"}
			}
			return c.frameStreamError(se)
		case errors.As(err, &ce):
			return connError{http2.ErrCode(ce), "framer: " + errDetail(c.fr, err)}
		case errors.Is(err, http2.ErrFrameTooLarge):
			return connError{http2.ErrCodeFrameSize, "frame too large"}
		case errors.Is(err, errTooManyConts):
			return connError{http2.ErrCodeEnhanceYourCalm, err.Error()}
		}
		return err
	}
	c.lastFrame.Store(clock.Mono())
	if !c.gotSettings {
		if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
			return connError{http2.ErrCodeProtocol, "first frame is not SETTINGS"}
		}
		c.gotSettings = true
	}
	if err := c.processFrame(f); err != nil {
		var se streamError
		if errors.As(err, &se) {
			c.mu.Lock()
			c.resetLocked(se.id, se.code, true)
			ok := c.glitches.take()
			c.mu.Unlock()
			if !ok {
				return connError{http2.ErrCodeEnhanceYourCalm, "too many stream errors"}
			}
			return nil
		}
		return err
	}
	return nil
}

func errDetail(fr *http2.Framer, err error) string {
	if d := fr.ErrorDetail(); d != nil {
		return d.Error()
	}
	return err.Error()
}

// frameStreamError handles a stream error the Framer found while reading
// (invalid header block, zero WINDOW_UPDATE on a stream).
func (c *Conn) frameStreamError(se http2.StreamError) error {
	if se.StreamID%2 == 0 {
		return connError{http2.ErrCodeProtocol, "even stream id"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if se.StreamID > c.maxStreamID {
		c.maxStreamID = se.StreamID // a malformed request still opens (and closes) its stream
	}
	c.resetLocked(se.StreamID, se.Code, true)
	if !c.glitches.take() {
		return connError{http2.ErrCodeEnhanceYourCalm, "too many stream errors"}
	}
	return nil
}

// teardown ends the connection after the read loop stopped.
func (c *Conn) teardown(err error) error {
	defer c.ctr.OpenConns.Add(-1)
	var ce connError
	if errors.As(err, &ce) {
		if ce.code != http2.ErrCodeNo {
			c.ctr.ConnProtoErr.Add(1)
		}
		c.mu.Lock()
		c.goAwayLocked(ce.code, ce.reason)
		c.mu.Unlock()
		if c.flushCtrl(time.Second) {
			c.lingerClose()
		}
	} else {
		// Streams that ended may have left their last frames to
		// writeLoop's flush; a peer that only half-closed still reads them.
		c.flushCtrl(time.Second)
	}
	c.closeNC()
	c.mu.Lock()
	c.dead = true
	for _, st := range c.streams {
		c.closeStreamLocked(st, ErrConnClosed)
	}
	c.pending = nil
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	if c.drainTimer != nil {
		c.drainTimer.Stop()
	}
	graceful := c.graceful
	c.cond.Broadcast()
	c.mu.Unlock()
	c.wg.Wait()
	c.qmu.Lock()
	c.wstop = true
	c.qmu.Unlock()
	c.wwg.Wait()

	switch {
	case ce.reason != "":
		return ce
	case err == nil, errors.Is(err, io.EOF), c.closedByUs.Load():
		return nil
	case graceful && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed)):
		return nil
	}
	return err
}

// lingerClose half-closes and drains what the peer still sends for a moment,
// so our GOAWAY is not destroyed by a TCP RST caused by unread input.
func (c *Conn) lingerClose() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, io.LimitReader(c.br, 1<<20))
}

func (c *Conn) closeNC() {
	c.closeOnce.Do(func() {
		// A parked socket leaves the Parker's epoll set before its
		// descriptor is closed (and can be reused); the read loop resumes
		// and ends the connection.
		c.mu.Lock()
		c.closing = true
		c.unparkLocked()
		c.mu.Unlock()
		close(c.closed)
		_ = c.nc.Close()
	})
}

// Close ends the connection abruptly.
func (c *Conn) Close() {
	c.closedByUs.Store(true)
	c.closeNC()
}

// Shutdown starts a graceful close in two steps (RFC 9113 section 6.8): a
// GOAWAY(NO_ERROR) with the largest stream id and a PING at once; when the
// PING comes back (or after Config.DrainWait), a second GOAWAY with the last
// stream id seen. Streams the client sent before it read the first GOAWAY
// are served: a single GOAWAY refused those already on the wire, which a
// client that does not retry (h2load) counts as failed. Later streams are
// refused, in-flight ones finish, then the connection closes.
func (c *Conn) Shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.graceful || c.dead {
		return
	}
	c.graceful = true
	c.draining = true
	c.unparkLocked() // it reads the PING's answer, then drains
	c.enqueue(true, func() error {
		if err := c.wfr.WriteGoAway(1<<31-1, http2.ErrCodeNo, nil); err != nil {
			return err
		}
		return c.wfr.WritePing(false, drainPing)
	})
	c.drainTimer = time.AfterFunc(c.cfg.DrainWait, c.endDrain)
}

// DefaultDrainWait bounds how long Shutdown waits for its PING to come
// back before it refuses new streams (Config.DrainWait).
const DefaultDrainWait = time.Second

// drainPing is the payload of Shutdown's PING.
var drainPing = [8]byte{'g', 'h', '-', 'd', 'r', 'a', 'i', 'n'}

// endDrain sends Shutdown's second GOAWAY: from here on new streams are
// refused, and the connection closes once the others finish.
func (c *Conn) endDrain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.draining || c.dead {
		return
	}
	c.draining = false
	c.drainTimer.Stop()
	c.goAwayLocked(http2.ErrCodeNo, "")
	c.maybeFinishLocked()
}

// goAwayLocked queues GOAWAY once; later streams are refused.
func (c *Conn) goAwayLocked(code http2.ErrCode, reason string) {
	if c.goingAway && code == http2.ErrCodeNo {
		return
	}
	c.goingAway = true
	last := c.maxStreamID
	c.ctr.GoawayResp.Add(1)
	c.enqueue(true, func() error { return c.wfr.WriteGoAway(last, code, []byte(reason)) })
}

func (c *Conn) idle() bool { return len(c.streams) == 0 && c.running == 0 && len(c.pending) == 0 }

// maybeFinishLocked closes a gracefully ending connection once it is idle;
// an idle one that is not ending may park (armParkLocked).
func (c *Conn) maybeFinishLocked() {
	if c.filling {
		c.armParkLocked()
	}
	if !c.graceful || c.draining || !c.serving || c.finishing || c.dead || !c.idle() {
		return
	}
	c.finishing = true
	go func() {
		c.flushCtrl(time.Second)
		// The read loop drains until the peer closes or the deadline passes.
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(time.Second))
	}()
}

func (c *Conn) idleCheck() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.graceful || c.idleTimer == nil {
		return // ended, or parked: the Parker keeps the deadline
	}
	if wait := time.Until(c.idleDeadlineLocked()); !c.idle() || wait > 0 {
		if wait <= 0 {
			wait = c.cfg.IdleTimeout
		}
		c.idleTimer.Reset(wait)
		return
	}
	c.idleExpireLocked()
}

// idleDeadlineLocked is when the idle timeout ends the connection if it
// stays idle: IdleTimeout after its last frame or stream end.
func (c *Conn) idleDeadlineLocked() time.Time {
	return clock.Time(max(c.lastFrame.Load(), c.lastStreamEnd) + int64(c.cfg.IdleTimeout))
}

// idleExpireLocked ends an idle connection at its idle timeout.
func (c *Conn) idleExpireLocked() {
	c.graceful = true // "timeout client"
	c.unparkLocked()  // it drains until the client closes
	c.goAwayLocked(http2.ErrCodeNo, "idle timeout")
	c.maybeFinishLocked()
}
