package h2

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// ClientConn is an HTTP/2 connection to a server (the gateway) that many
// requests share. One goroutine reads frames and hands each to its stream;
// a request's own goroutine writes its HEADERS and then waits on its
// stream, so a request without a body costs no goroutine of its own.
// x/net's ClientConn, which this replaces for the proxy's upstreams, ran
// a goroutine per request and built an http.Header map, an http.Request
// copy and owned copies of every string for each one (bench/profile.md,
// issue 23: 3.5x HAProxy's CPU per request).
//
// Lock order: wmu, then mu. Frames the reader or a stream must send while
// holding mu (WINDOW_UPDATE, RST_STREAM, acknowledgements) are queued in
// ctrl and written by sendCtrl once mu is released.
type ClientConn struct {
	nc  net.Conn  // read from; closed last
	w   io.Writer // frames go here (a batching writer); closed first when it is an io.Closer
	cfg ClientConfig

	// Write side, guarded by wmu: frames never interleave, and stream ids
	// go out in the order they are assigned (RFC 9113 §5.1.1).
	wmu     sync.Mutex
	wfr     *http2.Framer
	hblock  []byte
	hscr    []byte
	ctrlOut []ctrlFrame // the batch sendCtrl is writing

	// Read side, owned by readLoop.
	fr      *http2.Framer
	dec     *hpack.Decoder
	blk     clientBlock
	scratch httpmsg.Headers // the fields of the block being decoded

	mu           sync.Mutex
	streams      map[uint32]*ClientStream
	ctrl         []ctrlFrame
	nextID       uint32
	maxStreams   uint32 // the server's SETTINGS_MAX_CONCURRENT_STREAMS
	seenSettings bool
	active       int   // streams open or half-closed (HEADERS sent)
	reserved     int   // TryReserve granted, Start not yet called
	outflow      int64 // connection send window
	peerInit     int64 // the server's SETTINGS_INITIAL_WINDOW_SIZE
	peerMaxFrame uint32
	inflow       int64 // connection receive window left
	inUnacked    int64
	goAway       bool // GOAWAY received: no new streams
	noReuse      bool
	closed       bool
	err          error
	idleSince    time.Time
	idleTimer    *time.Timer
	closeOnce    sync.Once
	done         chan struct{}
}

// ClientConfig holds a client connection's limits. Zero fields take the
// defaults noted.
type ClientConfig struct {
	// MaxHeaderListSize bounds a response header list (RFC 9113 §6.5.2
	// sizes), and is advertised; default 64 KiB. A longer one fails its
	// stream as malformed.
	MaxHeaderListSize uint32
	StreamWindow      uint32        // receive window per stream; default 256 KiB
	ConnWindow        uint32        // connection receive window; default 4 MiB
	IdleTimeout       time.Duration // no stream for this long: close; 0 never
}

func (c *ClientConfig) withDefaults() ClientConfig {
	var v ClientConfig
	if c != nil {
		v = *c
	}
	if v.MaxHeaderListSize == 0 {
		v.MaxHeaderListSize = 64 << 10
	}
	if v.StreamWindow == 0 {
		v.StreamWindow = 256 << 10
	}
	if v.ConnWindow == 0 {
		v.ConnWindow = 4 << 20
	}
	v.StreamWindow = min(v.StreamWindow, maxWindow)
	v.ConnWindow = min(max(v.ConnWindow, 65535), maxWindow)
	return v
}

// Errors of client streams. A request that failed with ErrRefused was not
// processed by the server and may be sent again (RFC 9113 §8.7).
var (
	ErrRefused   = errors.New("h2: request not processed by the server")
	ErrMalformed = errors.New("h2: malformed response")
	ErrTimeout   = errors.New("h2: timeout waiting for the server")
	ErrCanceled  = errors.New("h2: request canceled")
	ErrBadField  = errors.New("h2: request field cannot be sent")
	errConnLost  = errors.New("h2: connection to the server lost")
	errReleased  = errors.New("h2: stream released")
)

// clientPeerDefaultStreams is assumed until the server's SETTINGS say
// otherwise, as x/net's client does; a server with a lower limit refuses
// the extra streams (REFUSED_STREAM), which are retried.
const clientPeerDefaultStreams = 100

// maxInterim bounds the 1xx heads waiting for their request's goroutine.
const maxInterim = 8

type ctrlKind uint8

const (
	ctrlWindow ctrlKind = iota
	ctrlReset
	ctrlPingAck
	ctrlSettingsAck
	ctrlGoAway
)

type ctrlFrame struct {
	kind ctrlKind
	id   uint32
	val  uint32
	data [8]byte
}

// clientBlock is the state of the header block being read (HEADERS, then
// CONTINUATION frames).
type clientBlock struct {
	id        uint32
	endStream bool
	size      uint32 // decoded list size (name + value + 32 per field)
	over      bool   // size passed MaxHeaderListSize; decoding goes on without keeping fields
	wire      int    // fragment bytes
	conts     int
}

// NewClientConn starts an HTTP/2 connection over nc (prior knowledge or
// ALPN h2 already agreed): the preface and SETTINGS go to w (nc when nil),
// and a goroutine reads nc until the connection ends.
func NewClientConn(nc net.Conn, w io.Writer, cfg *ClientConfig) (*ClientConn, error) {
	if w == nil {
		w = nc
	}
	c := &ClientConn{
		nc:           nc,
		w:            w,
		cfg:          cfg.withDefaults(),
		streams:      make(map[uint32]*ClientStream),
		nextID:       1,
		maxStreams:   clientPeerDefaultStreams,
		outflow:      65535,
		peerInit:     65535,
		peerMaxFrame: 16384,
		idleSince:    time.Now(),
		done:         make(chan struct{}),
	}
	c.inflow = int64(c.cfg.ConnWindow)
	c.wfr = http2.NewFramer(w, nil)
	c.fr = http2.NewFramer(nil, newConnReader(nc))
	c.fr.SetReuseFrames()
	c.fr.SetMaxReadFrameSize(16384) // the default: we advertise no other
	c.dec = hpack.NewDecoder(4096, c.emit)
	// What a string may buffer across fragments: the block's wire bound
	// (headerFragment). A list too long is a stream error, found by emit.
	c.dec.SetMaxStringLength(int(c.cfg.MaxHeaderListSize) + 16384)

	c.wmu.Lock()
	_, err := io.WriteString(w, http2.ClientPreface)
	if err == nil {
		err = c.wfr.WriteSettings(
			http2.Setting{ID: http2.SettingEnablePush, Val: 0},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: c.cfg.StreamWindow},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: c.cfg.MaxHeaderListSize},
		)
	}
	if d := c.cfg.ConnWindow - 65535; err == nil && d > 0 {
		err = c.wfr.WriteWindowUpdate(0, d)
	}
	c.wmu.Unlock()
	if err != nil {
		c.shut(err)
		return nil, err
	}
	if c.cfg.IdleTimeout > 0 {
		c.idleTimer = time.AfterFunc(c.cfg.IdleTimeout, c.idleCheck)
	}
	go c.readLoop()
	return c, nil
}

// TryReserve takes a stream slot for a request about to Start; false when
// the connection is full (the server's stream limit), closing or closed,
// so the caller opens another connection.
func (c *ClientConn) TryReserve() bool {
	ok, _ := c.Reserve()
	return ok
}

// Reserve is TryReserve that also says, when it refuses, whether the
// connection is dead (see Dead): the pool's one look at a connection.
func (c *ClientConn) Reserve() (ok, dead bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.goAway || c.noReuse {
		return false, c.closed || c.active == 0 && c.reserved == 0
	}
	if uint32(c.active+c.reserved) >= c.maxStreams {
		return false, false
	}
	if uint64(c.nextID)+2*uint64(c.reserved) > 1<<31-1 {
		c.noReuse = true // stream ids exhausted
		return false, c.active == 0 && c.reserved == 0
	}
	c.reserved++
	return true, false
}

// Unreserve gives back a reservation that will not be used.
func (c *ClientConn) Unreserve() {
	c.mu.Lock()
	c.reserved--
	last := c.drainedLocked()
	c.mu.Unlock()
	if last {
		c.Close()
	}
}

// SetDoNotReuse stops the connection taking streams; it closes once the
// streams it carries have ended.
func (c *ClientConn) SetDoNotReuse() {
	c.mu.Lock()
	c.noReuse = true
	last := c.drainedLocked()
	c.mu.Unlock()
	if last {
		c.Close()
	}
}

// Dead reports a connection the pool can forget: closed, or taking no
// streams and carrying none.
func (c *ClientConn) Dead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed || (c.goAway || c.noReuse) && c.active == 0 && c.reserved == 0
}

// Active is the number of streams in flight.
func (c *ClientConn) Active() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active
}

// drainedLocked: no stream left on a connection that takes none.
func (c *ClientConn) drainedLocked() bool {
	return !c.closed && (c.goAway || c.noReuse) && c.active == 0 && c.reserved == 0
}

// Close ends the connection: GOAWAY(NO_ERROR) if it can still be written,
// then the socket. Streams in flight fail.
func (c *ClientConn) Close() {
	c.mu.Lock()
	if !c.closed {
		c.ctrl = append(c.ctrl, ctrlFrame{kind: ctrlGoAway, val: uint32(http2.ErrCodeNo)})
	}
	c.mu.Unlock()
	c.sendCtrl()
	c.shut(net.ErrClosed)
}

// shut fails every stream with err and closes the sockets (once).
func (c *ClientConn) shut(err error) {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.err = err
		lost := fmt.Errorf("%w: %v", errConnLost, err)
		for _, st := range c.streams {
			c.closeStreamLocked(st, lost)
		}
	}
	c.mu.Unlock()
	c.closeOnce.Do(func() {
		if c.idleTimer != nil {
			c.idleTimer.Stop()
		}
		if wc, ok := c.w.(io.Closer); ok && c.w != io.Writer(c.nc) {
			_ = wc.Close()
		}
		_ = c.nc.Close()
		close(c.done)
	})
}

// Done is closed once the connection has ended.
func (c *ClientConn) Done() <-chan struct{} { return c.done }

func (c *ClientConn) idleCheck() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	wait := c.cfg.IdleTimeout
	if c.active == 0 && c.reserved == 0 {
		idle := time.Since(c.idleSince)
		if idle >= wait {
			c.noReuse = true
			c.mu.Unlock()
			c.Close()
			return
		}
		wait -= idle
	}
	c.idleTimer.Reset(wait)
	c.mu.Unlock()
}

// sendCtrl writes the queued control frames.
func (c *ClientConn) sendCtrl() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	q := c.ctrl
	c.ctrl = c.ctrlOut[:0]
	c.mu.Unlock()
	for i := range q {
		f := &q[i]
		var err error
		switch f.kind {
		case ctrlWindow:
			err = c.wfr.WriteWindowUpdate(f.id, f.val)
		case ctrlReset:
			err = c.wfr.WriteRSTStream(f.id, http2.ErrCode(f.val))
		case ctrlPingAck:
			err = c.wfr.WritePing(true, f.data)
		case ctrlSettingsAck:
			err = c.wfr.WriteSettingsAck()
		case ctrlGoAway:
			err = c.wfr.WriteGoAway(0, http2.ErrCode(f.val), nil)
		}
		if err != nil {
			break // the writer's error is sticky: the reader sees the socket end
		}
	}
	c.ctrlOut = q[:0]
}

func (c *ClientConn) queueLocked(f ctrlFrame) { c.ctrl = append(c.ctrl, f) }

// creditConnLocked returns n bytes of connection receive window, batched.
func (c *ClientConn) creditConnLocked(n int64) {
	c.inUnacked += n
	if c.inUnacked >= int64(c.cfg.ConnWindow)/4 {
		c.queueLocked(ctrlFrame{kind: ctrlWindow, val: uint32(c.inUnacked)})
		c.inflow += c.inUnacked
		c.inUnacked = 0
	}
}

// closeStreamLocked moves st to closed: it leaves the table and stops
// counting against the server's limit. err != nil fails what still waits
// on it (a body read after the response ended still sees EOF).
func (c *ClientConn) closeStreamLocked(st *ClientStream, err error) {
	if st.closed {
		return
	}
	st.closed = true
	delete(c.streams, st.id)
	c.active--
	if err != nil && st.err == nil {
		st.err = err
	}
	st.signal()
	st.signalSend()
	if c.active == 0 {
		c.idleSince = time.Now()
		if c.drainedLocked() {
			go c.Close() // not under mu; the last stream of a retired connection
		}
	}
}

// resetLocked ends st with RST_STREAM(code) and fails it with err.
func (c *ClientConn) resetLocked(st *ClientStream, code http2.ErrCode, err error) {
	if st.closed {
		return
	}
	c.queueLocked(ctrlFrame{kind: ctrlReset, id: st.id, val: uint32(code)})
	c.closeStreamLocked(st, err)
}
