package h2

import (
	"io"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// ClientStream is one request on a ClientConn. The zero value is ready
// for Start; after Release it may be started again (the caller reuses
// it, with its buffers). The response side (ReadHead, Read, Trailers) is
// read by one goroutine; the request body (Write, CloseSend) may be sent
// by another at the same time; Release and Cancel by either.
type ClientStream struct {
	c  *ClientConn
	id uint32
	// wake: the reader delivered something (a head, data, the end, an
	// error). sendWake: send window opened, or the stream ended.
	wake, sendWake chan struct{}
	idle           time.Duration
	timer          *time.Timer
	cancel         <-chan struct{}

	// Guarded by c.mu.
	status     int
	fields     httpmsg.Headers
	interim    []interimHead
	nInterim   int // interim heads read by ReadHead
	trailers   httpmsg.Headers
	buf        []byte
	off        int
	declLen    int64
	received   int64
	inflow     int64
	unacked    int64
	outflow    int64
	final      bool // the final head arrived
	noBody     bool // HEAD request, 204, 304
	remoteDone bool
	localDone  bool
	closed     bool
	wantConn   bool // a Write waits for connection window
	err        error
}

type interimHead struct {
	status int
	fields httpmsg.Headers
}

// SetWait bounds the waits of ReadHead and Read: idle without progress
// (ErrTimeout; 0 none), or until cancel closes (ErrCanceled; nil none).
func (st *ClientStream) SetWait(idle time.Duration, cancel <-chan struct{}) {
	st.idle, st.cancel = idle, cancel
}

// ID is the stream id (0 before Start).
func (st *ClientStream) ID() uint32 { return st.id }

// Start sends req's head on a slot TryReserve granted, as stream st. The
// reservation is used even when Start fails. ErrRefused: the connection
// closed or was told to go away before the request left (it may go
// elsewhere); ErrBadField: req cannot be sent as it is.
func (c *ClientConn) Start(st *ClientStream, req *ClientRequest) error {
	st.prepare(c, req.Method == "HEAD")
	c.wmu.Lock()
	defer c.wmu.Unlock()
	block, err := c.encodeRequest(req)
	c.mu.Lock()
	c.reserved--
	if err == nil && (c.closed || c.goAway) {
		err = ErrRefused
	}
	if err != nil {
		st.closed = true // never opened: Release has nothing to end
		last := c.drainedLocked()
		c.mu.Unlock()
		if last {
			go c.Close()
		}
		return err
	}
	st.id = c.nextID
	c.nextID += 2
	st.outflow = c.peerInit
	st.inflow = int64(c.cfg.StreamWindow)
	maxFrame := int(c.peerMaxFrame)
	c.streams[st.id] = st
	c.active++
	c.mu.Unlock()
	err = c.writeBlock(st.id, block, req.EndStream, maxFrame)
	if err != nil {
		c.mu.Lock()
		c.closeStreamLocked(st, errConnLost)
		c.mu.Unlock()
		return err
	}
	if req.EndStream {
		c.localEnd(st)
	}
	return nil
}

// prepare makes st ready for a new request, keeping its buffers.
func (st *ClientStream) prepare(c *ClientConn, head bool) {
	if st.wake == nil {
		st.wake = make(chan struct{}, 1)
		st.sendWake = make(chan struct{}, 1)
	}
	select { // tokens left from the last request
	case <-st.wake:
	default:
	}
	select {
	case <-st.sendWake:
	default:
	}
	if cap(st.buf) > 64<<10 {
		st.buf = nil
	}
	clear(st.interim)
	*st = ClientStream{
		c: c, wake: st.wake, sendWake: st.sendWake, idle: st.idle, timer: st.timer, cancel: st.cancel,
		fields: st.fields[:0], interim: st.interim[:0], trailers: st.trailers[:0], buf: st.buf[:0],
		declLen: -1, noBody: head,
	}
}

func (st *ClientStream) signal() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

func (st *ClientStream) signalSend() {
	select {
	case st.sendWake <- struct{}{}:
	default:
	}
}

// localEnd records our END_STREAM, written under wmu (the server cannot
// have answered it yet unless the batch already left: both orders work).
func (c *ClientConn) localEnd(st *ClientStream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st.localDone = true
	if st.remoteDone {
		c.closeStreamLocked(st, nil)
	}
}

// wait blocks until the reader signals st, the idle bound passes or the
// request is canceled. armed tracks the idle timer across a caller's
// waits; the caller stops it (disarm) once it made progress.
func (st *ClientStream) wait(armed *bool) error {
	var expire <-chan time.Time
	if st.idle > 0 {
		if st.timer == nil {
			st.timer = time.NewTimer(st.idle)
		} else if !*armed {
			st.timer.Reset(st.idle)
		}
		*armed = true
		expire = st.timer.C
	}
	select {
	case <-st.wake:
		return nil
	case <-expire:
		*armed = false
		return ErrTimeout
	case <-st.cancel:
		return ErrCanceled
	}
}

func (st *ClientStream) disarm(armed bool) {
	if armed {
		st.timer.Stop()
	}
}

// ReadHead waits for the next response head: an interim (1xx) one, or
// the final one (final true). It resets resp and fills its status,
// protocol and fields (lower-case names, as received).
func (st *ClientStream) ReadHead(resp *httpmsg.Response) (final bool, err error) {
	c := st.c
	armed := false
	defer func() { st.disarm(armed) }()
	for {
		c.mu.Lock()
		if st.nInterim < len(st.interim) {
			h := &st.interim[st.nInterim]
			st.nInterim++
			fillHead(resp, h.status, h.fields)
			c.mu.Unlock()
			return false, nil
		}
		if st.final {
			fillHead(resp, st.status, st.fields)
			resp.ContentLength = st.declLen
			if st.declLen < 0 && st.remoteDone && st.received == 0 && len(st.trailers) == 0 {
				resp.ContentLength = 0 // ended with its head
			}
			resp.NoBody = st.noBody
			c.mu.Unlock()
			return true, nil
		}
		err := st.err
		c.mu.Unlock()
		if err != nil {
			return false, err
		}
		if err := st.wait(&armed); err != nil {
			return false, err
		}
	}
}

func fillHead(resp *httpmsg.Response, status int, fields httpmsg.Headers) {
	resp.Reset()
	resp.Status = status
	resp.Proto, resp.Major, resp.Minor = "HTTP/2.0", 2, 0
	resp.ContentLength = -1
	resp.Header = append(resp.Header, fields...)
	resp.NoBody = status < 200
}

// Read reads the response body: io.EOF once the server ended the stream
// and everything was read, the stream's error if it failed first.
func (st *ClientStream) Read(p []byte) (int, error) {
	c := st.c
	armed := false
	defer func() { st.disarm(armed) }()
	for {
		c.mu.Lock()
		if n := copy(p, st.buf[st.off:]); n > 0 {
			st.off += n
			if st.off == len(st.buf) {
				st.buf, st.off = st.buf[:0], 0
			}
			c.creditConnLocked(int64(n))
			st.creditLocked(int64(n))
			send := len(c.ctrl) > 0
			c.mu.Unlock()
			if send {
				c.sendCtrl()
			}
			return n, nil
		}
		if st.remoteDone {
			c.mu.Unlock()
			return 0, io.EOF
		}
		err := st.err
		c.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if len(p) == 0 {
			return 0, nil
		}
		if err := st.wait(&armed); err != nil {
			return 0, err
		}
	}
}

// creditLocked returns n bytes of stream receive window, batched to half
// the window.
func (st *ClientStream) creditLocked(n int64) {
	if st.remoteDone || st.closed {
		return
	}
	st.unacked += n
	if win := int64(st.c.cfg.StreamWindow); st.unacked >= win/2 {
		st.c.queueLocked(ctrlFrame{kind: ctrlWindow, id: st.id, val: uint32(st.unacked)})
		st.inflow += st.unacked
		st.unacked = 0
	}
}

// Trailers are the response's trailers, once Read returned io.EOF.
func (st *ClientStream) Trailers() httpmsg.Headers {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	return st.trailers
}

// Write sends request body bytes as DATA, within the server's windows
// (it waits for them to open) and frame size.
func (st *ClientStream) Write(p []byte) (int, error) {
	c := st.c
	written := 0
	for len(p) > 0 {
		c.mu.Lock()
		var n int64
		for {
			if st.closed || st.localDone {
				err := st.err
				c.mu.Unlock()
				if err == nil {
					err = ErrStreamClosed
				}
				return written, err
			}
			n = min(int64(len(p)), int64(c.peerMaxFrame), st.outflow, c.outflow)
			if n > 0 {
				st.outflow -= n
				c.outflow -= n
				st.wantConn = false
				break
			}
			st.wantConn = st.outflow > 0
			c.mu.Unlock()
			<-st.sendWake
			c.mu.Lock()
		}
		c.mu.Unlock()
		if err := st.writeFrame(func() error { return c.wfr.WriteData(st.id, false, p[:n]) }); err != nil {
			return written, err
		}
		written += int(n)
		p = p[n:]
	}
	return written, nil
}

// writeFrame writes one frame of st under wmu, unless st ended meanwhile
// (nothing may follow our RST_STREAM or END_STREAM).
func (st *ClientStream) writeFrame(f func() error) error {
	c := st.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	ended := st.closed || st.localDone
	err := st.err
	c.mu.Unlock()
	if ended {
		if err == nil {
			err = ErrStreamClosed
		}
		return err
	}
	return f()
}

// CloseSend ends the request body (END_STREAM on an empty DATA frame).
func (st *ClientStream) CloseSend() error {
	c := st.c
	err := st.writeFrame(func() error {
		if err := c.wfr.WriteData(st.id, true, nil); err != nil {
			return err
		}
		c.localEnd(st)
		return nil
	})
	return err
}

// Cancel resets the stream (RST_STREAM(CANCEL)) if it is still open: the
// request was abandoned. Waiters fail with ErrCanceled.
func (st *ClientStream) Cancel() {
	c := st.c
	c.mu.Lock()
	c.resetLocked(st, http2.ErrCodeCancel, ErrCanceled)
	c.mu.Unlock()
	c.sendCtrl()
}

// Release ends the caller's use of st: a stream still open is reset
// (RST_STREAM(CANCEL)), and the connection window of body bytes left
// unread is returned. st may be started again afterwards.
func (st *ClientStream) Release() {
	c := st.c
	if c == nil {
		return
	}
	c.mu.Lock()
	c.resetLocked(st, http2.ErrCodeCancel, errReleased)
	if n := len(st.buf) - st.off; n > 0 {
		c.creditConnLocked(int64(n))
	}
	st.buf, st.off = st.buf[:0], 0
	send := len(c.ctrl) > 0
	c.mu.Unlock()
	if send {
		c.sendCtrl()
	}
}
