package h2

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Stream is one request/response exchange. Its methods may be called from the
// handler goroutine; Reset and Done also from others. Response writes
// (WriteHead, Write, Close) must not be called concurrently with each other.
// Once its Handler has returned, a Stream must not be used: the Conn reuses
// it for a later stream (a body reader taken before keeps failing safely).
type Stream struct {
	// gen counts the stream's uses: a body reader of an earlier one sees
	// it changed and reads nothing (bodyReader). Only ever accessed
	// atomically: such a reader may hold another connection's mu.
	gen atomic.Uint32
	streamState
}

// streamState is what a reuse clears.
type streamState struct {
	c        *Conn
	id       uint32
	req      httpmsg.Request
	hdrBytes int
	bytesOut atomic.Int64
	rst      atomic.Bool // reset or connection gone: no more frames for it
	arena    []byte      // joined cookie crumbs (joinCookies)

	// guarded by c.mu
	done       chan struct{} // made by the first Done, closed by a reset
	cond       sync.Cond     // body readers; L is c.mu
	readers    int           // body reads in progress: the stream is not reused under them
	buf        []byte        // received DATA not yet read
	off        int
	received   int64
	declLen    int64 // content-length, -1 unknown
	unacked    int64 // read, not yet returned by WINDOW_UPDATE
	inflow     int64 // receive window left
	outflow    int64 // send window
	trailers   httpmsg.Headers
	remoteDone bool // END_STREAM received
	localDone  bool // END_STREAM sent
	wroteFinal bool
	closed     bool
	err        error // why it was reset
}

// Streams are reused: a new one and its sync.Cond and header list were
// ~760 of the ~1,600 bytes an h2c request allocated (bench/profile.md,
// issue 23), and the collections they caused were the HTTP/2 tail's.
var streamPool = sync.Pool{New: func() any { return new(Stream) }}

func (c *Conn) newStream(id uint32) *Stream {
	st := streamPool.Get().(*Stream)
	st.c, st.id = c, id
	st.cond.L = &c.mu
	st.declLen = -1
	st.inflow = int64(c.cfg.InitialWindowSize)
	st.outflow = c.peerInitWindow
	return st
}

// freeStream puts st back into the pool, its header list and arena
// emptied for the next use. Only when nothing can reach it any more: its
// handler returned (or never ran), it left the stream table, and no body
// read is in progress. Caller holds st.c.mu (which a late body reader
// takes before it looks at gen).
func freeStream(st *Stream) {
	hdr, arena := st.req.Header, st.arena
	clear(hdr)
	if cap(hdr) > 64 {
		hdr = nil
	}
	if cap(arena) > 4<<10 {
		arena = nil
	}
	st.streamState = streamState{req: httpmsg.Request{Header: hdr[:0]}, arena: arena[:0]}
	st.gen.Add(1)
	streamPool.Put(st)
}

// closedDone is Done's channel for a stream reset before anyone asked.
var closedDone = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

func (st *Stream) appendLocked(p []byte) {
	if st.off > 0 && st.off >= len(st.buf)/2 { // compact so a slow reader does not grow buf
		st.buf = st.buf[:copy(st.buf, st.buf[st.off:])]
		st.off = 0
	}
	st.buf = append(st.buf, p...)
	st.cond.Broadcast()
}

// creditLocked returns n bytes of stream receive window, batched to half the
// window so a fast reader does not cause a WINDOW_UPDATE per frame.
func (st *Stream) creditLocked(n int64) {
	if st.remoteDone || st.closed {
		return
	}
	st.unacked += n
	if st.unacked >= int64(st.c.cfg.InitialWindowSize)/2 {
		inc, id, c := uint32(st.unacked), st.id, st.c
		st.inflow += st.unacked
		st.unacked = 0
		c.enqueue(true, func() error { return c.wfr.WriteWindowUpdate(id, inc) })
	}
}

func (c *Conn) creditConnLocked(n int64) {
	c.inUnacked += n
	if c.inUnacked >= int64(c.cfg.ConnWindowSize)/4 {
		inc := uint32(c.inUnacked)
		c.inflow += c.inUnacked
		c.inUnacked = 0
		c.enqueue(true, func() error { return c.wfr.WriteWindowUpdate(0, inc) })
	}
}

func (c *Conn) remoteEndLocked(st *Stream) {
	st.remoteDone = true
	st.cond.Broadcast()
	if st.localDone {
		c.closeStreamLocked(st, nil)
	}
}

// localEnd is called with wmu held right after END_STREAM went into the
// write buffer, before the flush: the peer cannot act on our END_STREAM while
// the stream still looks open here.
func (c *Conn) localEnd(st *Stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st.localDone = true
	if st.remoteDone {
		c.closeStreamLocked(st, nil)
	}
}

// closeStreamLocked moves st to closed; err != nil means reset (Done fires,
// buffered body is dropped and its connection window returned).
func (c *Conn) closeStreamLocked(st *Stream, err error) {
	if st.closed {
		return
	}
	st.closed = true
	delete(c.streams, st.id)
	c.ctr.OpenStreams.Add(-1)
	if err != nil {
		st.err = err
		st.rst.Store(true)
		if st.done != nil {
			close(st.done)
		} else {
			st.done = closedDone
		}
		if n := len(st.buf) - st.off; n > 0 {
			c.creditConnLocked(int64(n))
		}
		st.buf, st.off = nil, 0
		c.cond.Broadcast()
	}
	st.cond.Broadcast()
	c.lastStreamEnd = clock.Mono()
	c.nudgeWriterIfIdleLocked()
	c.maybeFinishLocked()
}

// Stream handlers run on reused goroutines. A new goroutine starts on a
// small stack that a proxied request outgrows at once, and growing it
// (morestack, copystack) took ~3% of the CPU of an h2load run. A handler
// goroutine that finishes waits for the next stream of any connection,
// unless maxIdleHandlers already wait. The connections' writers
// (writeLoop) run on the same goroutines: a writer ends whenever its
// connection goes idle, which under h2load 32 x 10 was every ~12
// responses, each time a new goroutine.
var (
	handoff      = make(chan job)
	idleHandlers atomic.Int32
)

// job is a waiting goroutine's next task: st's handler, or, with st nil,
// the writer of conn w.
type job struct {
	st *Stream
	w  *Conn
}

// maxIdleHandlers bounds what waiting goroutines hold (a stack each, a few
// KiB, which collections shrink while they wait) after a burst. It is
// above what a busy process keeps in flight: at 256, h2load 32 x 10 (320
// streams and 32 writers) saw the waiting goroutines pass the bound as
// responses queued for the client, end, and be made anew with their
// stacks (one every ~8 requests).
const maxIdleHandlers = 1024

// goHandler runs st's handler on a waiting goroutine, or a new one. It
// never blocks, so it may be called with c.mu held.
func goHandler(st *Stream) { goJob(job{st: st}) }

// goWriter runs c's writeLoop on a waiting goroutine, or a new one.
func goWriter(c *Conn) { goJob(job{w: c}) }

func goJob(j job) {
	select {
	case handoff <- j:
	default:
		go jobLoop(j)
	}
}

func jobLoop(j job) {
	for {
		if j.st != nil {
			j.st.c.runHandler(j.st)
		} else {
			j.w.writeLoop()
		}
		for {
			n := idleHandlers.Load()
			if n >= maxIdleHandlers {
				return
			}
			if idleHandlers.CompareAndSwap(n, n+1) {
				break
			}
		}
		j = <-handoff
		idleHandlers.Add(-1)
	}
}

func (c *Conn) runHandler(st *Stream) {
	defer c.wg.Done()
	defer c.handlerDone(st)
	c.h(st)
}

func (c *Conn) handlerDone(st *Stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case st.closed:
	case !st.localDone:
		c.resetLocked(st.id, http2.ErrCodeInternal, false)
	case !st.remoteDone:
		// Response complete, request body still coming: ask the client to
		// stop sending without error (RFC 9113 §8.1).
		c.resetLocked(st.id, http2.ErrCodeNo, false)
	}
	// Return the connection window of body bytes the handler never read.
	if n := len(st.buf) - st.off; n > 0 {
		c.creditConnLocked(int64(n))
		st.buf, st.off = nil, 0
	}
	c.running--
	for len(c.pending) > 0 && !c.dead {
		next := c.pending[0]
		c.pending[0] = nil
		c.pending = c.pending[1:]
		if next.closed && next.err != nil {
			continue // reset before its handler ran
		}
		c.running++
		c.wg.Add(1)
		goHandler(next)
		break
	}
	c.nudgeWriterIfIdleLocked()
	c.maybeFinishLocked()
	if st.closed && st.readers == 0 {
		freeStream(st)
	}
}

// ID returns the stream identifier.
func (st *Stream) ID() uint32 { return st.id }

// Request returns the request head. It and its strings are the stream's:
// valid until the handler returns (the Stream is then reused), as an
// HTTP/1.1 request's fields are until the next request is read.
func (st *Stream) Request() *httpmsg.Request { return &st.req }

// HeaderBytes is the wire size of the request header block (frame headers included).
func (st *Stream) HeaderBytes() int { return st.hdrBytes }

// Done is closed when the stream is reset (by either side) or the connection dies.
func (st *Stream) Done() <-chan struct{} {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.done == nil { // most streams are never asked
		st.done = make(chan struct{})
	}
	return st.done
}

// BytesOut counts bytes of frames sent for this stream (headers + data).
func (st *Stream) BytesOut() int64 { return st.bytesOut.Load() }

// Body returns the request body. Reading returns flow-control credit to the
// client, so a handler that stops reading stops the client.
func (st *Stream) Body() io.Reader { return &bodyReader{st: st, c: st.c, gen: st.gen.Load()} }

// bodyReader reads one use of a stream: a reader kept past its handler
// (x/net's request body writer may still be in a Read when the exchange
// gives up on it) finds the stream reused and reads nothing. It holds its
// own c and gen, fields a reuse does not touch.
type bodyReader struct {
	st  *Stream
	c   *Conn
	gen uint32
}

func (b *bodyReader) Read(p []byte) (int, error) {
	st, c := b.st, b.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.gen.Load() != b.gen {
		return 0, ErrStreamClosed
	}
	st.readers++
	defer func() { st.readers-- }()
	for {
		if st.err != nil {
			return 0, st.err
		}
		if n := copy(p, st.buf[st.off:]); n > 0 {
			st.off += n
			if st.off == len(st.buf) {
				st.buf, st.off = st.buf[:0], 0
			}
			c.creditConnLocked(int64(n))
			st.creditLocked(int64(n))
			return n, nil
		}
		if st.remoteDone {
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		st.cond.Wait()
	}
}

// Trailers returns the request trailers; valid once Body returned io.EOF.
func (st *Stream) Trailers() httpmsg.Headers {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	return st.trailers
}

// check reports why no more frames may be sent on the stream. Caller holds c.mu.
func (st *Stream) sendErrLocked() error {
	switch {
	case st.err != nil:
		return st.err
	case st.c.dead:
		return ErrConnClosed
	case st.localDone:
		return ErrStreamClosed
	}
	return nil
}

// WriteHead sends a response head: interim (1xx, may repeat, never
// endStream) or final. endStream ends the response with no body.
func (st *Stream) WriteHead(resp *httpmsg.Response, endStream bool) error {
	c := st.c
	interim := resp.Status < 200
	if resp.Status < 100 || resp.Status > 999 || (interim && endStream) || resp.Status == 101 {
		return errors.New("h2: invalid response status")
	}
	c.mu.Lock()
	err := st.sendErrLocked()
	if err == nil && st.wroteFinal {
		err = errors.New("h2: response head already written")
	}
	if err == nil && !interim {
		st.wroteFinal = true
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	// A final head with a body to follow waits in the buffer for its
	// first DATA (or Flush): one write carries both.
	err = c.writeFrames(st, func() error {
		if st.rst.Load() { // checked before encoding: HPACK state must match the wire
			return st.resetErr()
		}
		n, err := c.writeHeaders(st.id, resp.Status, resp.Header, endStream)
		st.bytesOut.Add(int64(n))
		if err == nil && endStream {
			c.localEnd(st)
		}
		return err
	}, endStream || interim)
	return err
}

func (st *Stream) resetErr() error {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	if st.err != nil {
		return st.err
	}
	return ErrConnClosed
}

// Write buffers response DATA, split by the peer's max frame size and
// blocking on the peer's stream and connection windows (what is buffered
// goes out before it waits). Flush or Close sends it.
func (st *Stream) Write(p []byte) (int, error) {
	c := st.c
	written := 0
	for len(p) > 0 {
		n, err := st.reserve(len(p))
		if err != nil {
			return written, err
		}
		chunk := p[:n]
		err = c.writeFrames(st, func() error {
			if st.rst.Load() {
				return st.resetErr()
			}
			st.bytesOut.Add(int64(9 + len(chunk)))
			return c.wfr.WriteData(st.id, false, chunk)
		}, false)
		if err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// reserve waits for send window and takes up to want bytes of it. A peer
// that leaves the window shut for SendTimeout loses the connection: it is
// holding the stream's server and buffers hostage.
func (st *Stream) reserve(want int) (int, error) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var stalled *time.Timer
	var expired *bool // made with the timer: a flag the closure shares escapes to the heap
	flushed := false
	defer func() {
		if stalled != nil {
			stalled.Stop()
		}
	}()
	for {
		if err := st.sendErrLocked(); err != nil {
			return 0, err
		}
		if !st.wroteFinal {
			return 0, ErrNoHead
		}
		n := min(int64(want), int64(c.peerMaxFrame.Load()), st.outflow, c.outflow)
		if n > 0 {
			st.outflow -= n
			c.outflow -= n
			return int(n), nil
		}
		if expired != nil && *expired {
			c.mu.Unlock()
			c.Close()
			c.mu.Lock()
			return 0, ErrConnClosed
		}
		if !flushed {
			// The peer opens its window for what it has received: send
			// what is buffered before waiting (lock order: wmu, then mu).
			flushed = true
			c.mu.Unlock()
			_ = c.write(func() error { return nil })
			c.mu.Lock()
			continue
		}
		if d := c.cfg.SendTimeout; d > 0 && stalled == nil {
			exp := new(bool)
			expired = exp
			stalled = time.AfterFunc(d, func() {
				c.mu.Lock()
				*exp = true
				c.cond.Broadcast()
				c.mu.Unlock()
			})
		}
		c.cond.Wait()
	}
}

// Flush sends what WriteHead and Write buffered, with writeLoop's next
// flush (so the streams that flush together share a write), or at once
// when the stream is alone on its connection (writeFrames).
func (st *Stream) Flush() error {
	return st.c.writeFrames(st, func() error { return nil }, true)
}

// Close ends the response: END_STREAM on an empty DATA frame, or on a
// trailers HEADERS frame when trailers are given.
func (st *Stream) Close(trailers httpmsg.Headers) error {
	c := st.c
	c.mu.Lock()
	err := st.sendErrLocked()
	if err == nil && !st.wroteFinal {
		err = ErrNoHead
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	err = c.writeFrames(st, func() error {
		if st.rst.Load() {
			return st.resetErr()
		}
		var err error
		if len(trailers) > 0 {
			var n int
			n, err = c.writeHeaders(st.id, 0, trailers, true)
			st.bytesOut.Add(int64(n))
		} else {
			st.bytesOut.Add(9)
			err = c.wfr.WriteData(st.id, true, nil)
		}
		if err == nil {
			c.localEnd(st)
		}
		return err
	}, true)
	return err
}

// Reset aborts the stream with RST_STREAM(code).
func (st *Stream) Reset(code http2.ErrCode) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.closed || c.dead {
		return
	}
	c.resetLocked(st.id, code, false)
}

// KillConn ends the stream and its whole connection with code: the stream
// is reset and GOAWAY carries the code, as HAProxy ends a connection a
// rule rejected ("http-request reject"); the other streams end with it.
func (st *Stream) KillConn(code http2.ErrCode) {
	c := st.c
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	if !st.closed {
		c.resetLocked(st.id, code, false)
	}
	c.goAwayLocked(code, "")
	c.mu.Unlock()
	c.flushCtrl(time.Second)
	c.Close()
}

// PeekBody waits until want bytes of the request body are buffered, the
// body ended, the stream failed or deadline passed (os.ErrDeadlineExceeded
// then), and returns a copy of what is buffered without consuming it (no
// window is returned for it, so a client can send at most the stream
// window meanwhile), and whether it is the whole body.
func (st *Stream) PeekBody(want int, deadline time.Time) (data []byte, complete bool, err error) {
	c := st.c
	gen := st.gen.Load()
	wake := time.AfterFunc(time.Until(deadline), func() {
		c.mu.Lock()
		if st.gen.Load() == gen { // Stop does not wait for a func that started
			st.cond.Broadcast()
		}
		c.mu.Unlock()
	})
	defer wake.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for st.err == nil && !st.remoteDone && len(st.buf)-st.off < want {
		if !time.Now().Before(deadline) {
			return append([]byte(nil), st.buf[st.off:]...), false, os.ErrDeadlineExceeded
		}
		st.cond.Wait()
	}
	return append([]byte(nil), st.buf[st.off:]...), st.remoteDone, st.err
}
