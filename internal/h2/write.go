package h2

import (
	"runtime"
	"strings"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// enqueue queues a control frame for writeLoop. Unforced frames are replies
// the peer provoked (ACKs, RST_STREAM); when maxCtrlQueue of them wait, the
// peer is not reading and enqueue reports false.
func (c *Conn) enqueue(force bool, f func() error) bool {
	c.qmu.Lock()
	if !force && len(c.ctrlQ) >= maxCtrlQueue {
		c.qmu.Unlock()
		return false
	}
	c.ctrlQ = append(c.ctrlQ, f)
	c.qmu.Unlock()
	c.wakeWriter()
	return true
}

// writeLoop writes the queued control frames and flushes what stream
// writers left in the buffer (writeFrames with flush). Woken, it first lets
// the other runnable goroutines go: the streams that finish in the same
// scheduling round then share one write(2), one TCP segment and one wake-up
// of the client, where each used to send its own (h2load, 10 streams per
// connection: ~1 write per response). When nothing else is runnable the
// yield returns at once, so a lone response waits for no one.
//
// It runs while the connection has a stream (or something to write): an
// idle connection has no writer goroutine, whose stack and the collector's
// headroom over it were a fifth of an idle connection's memory
// (bench/run.sh idle_h2). wakeWriter starts it again.
func (c *Conn) writeLoop() {
	defer c.wwg.Done()
	var q []func() error
	for {
		runtime.Gosched()
		c.qmu.Lock()
		q, c.ctrlQ = c.ctrlQ, q[:0]
		c.qmu.Unlock()
		err := c.write(func() error {
			for _, f := range q {
				if err := f(); err != nil {
					return err
				}
			}
			return nil
		})
		clear(q)
		if err != nil {
			c.writerEnds()
			return
		}
		c.mu.Lock()
		idle := c.idle()
		c.mu.Unlock()
		if idle {
			// A wake-up sent before this check left its token; one after
			// it finds wrunning false and starts a writer.
			c.qmu.Lock()
			select {
			case <-c.qsig:
				c.qmu.Unlock()
				continue
			default:
			}
			if len(c.ctrlQ) == 0 {
				c.wrunning = false
				c.qmu.Unlock()
				return
			}
			c.qmu.Unlock()
			continue
		}
		select {
		case <-c.qsig:
		case <-c.closed:
			c.writerEnds()
			return
		}
	}
}

// nudgeWriterIfIdleLocked wakes a writer that waits for the next flush
// once the connection has gone idle, so that it ends (writeLoop); with no
// writer running it does nothing. Caller holds mu.
func (c *Conn) nudgeWriterIfIdleLocked() {
	if !c.idle() {
		return
	}
	c.qmu.Lock()
	if c.wrunning {
		select {
		case c.qsig <- struct{}{}:
		default:
		}
	}
	c.qmu.Unlock()
}

func (c *Conn) writerEnds() {
	c.qmu.Lock()
	c.wrunning = false
	c.qmu.Unlock()
}

// flushCtrl waits until everything queued so far is on the wire; false on
// timeout or write failure.
func (c *Conn) flushCtrl(d time.Duration) bool {
	done := make(chan struct{})
	c.enqueue(true, func() error { close(done); return nil })
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return c.writeErr() == nil
	case <-t.C:
	case <-c.closed: // a write failed (locked closes) or Close
	}
	return false
}

func (c *Conn) writeErr() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.werr
}

// write runs f with the write side locked and flushes now. A write error
// is sticky and closes the connection, which ends the read loop.
func (c *Conn) write(f func() error) error { return c.locked(f, true) }

// writeFrames runs f, which writes st's frames, with the write side
// locked. With flush, the frames go out with writeLoop's next flush (see
// writeLoop), or at once when st is the connection's only stream: there is
// no other response to share the write with, and handing the flush to the
// writer cost a goroutine wake-up (often a new goroutine: an idle
// connection has no writer) and a yield per response (h2load 256 x 1,
// fixed_rate_h2: one stream per connection at a time). Without flush, they
// wait in the buffer for a later flush (a response head whose body follows).
func (c *Conn) writeFrames(st *Stream, f func() error, flush bool) error {
	if !flush {
		return c.locked(f, false)
	}
	if c.alone(st) {
		return c.locked(f, true)
	}
	err := c.locked(f, false)
	if err == nil {
		c.wakeWriter()
	}
	return err
}

// alone reports whether st is the only stream open on its connection.
func (c *Conn) alone(st *Stream) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.streams)
	if !st.closed {
		n--
	}
	return n == 0
}

// wakeWriter has writeLoop flush, starting it if it is not running. The
// token goes into qsig under qmu, where writeLoop decides to end, so it
// is either seen there or finds no writer and starts one.
func (c *Conn) wakeWriter() {
	c.qmu.Lock()
	if c.wrunning {
		select {
		case c.qsig <- struct{}{}:
		default:
		}
		c.qmu.Unlock()
		return
	}
	if c.wstop {
		c.qmu.Unlock()
		return
	}
	c.wrunning = true
	c.wwg.Add(1)
	c.qmu.Unlock()
	goWriter(c)
}

func (c *Conn) locked(f func() error, flush bool) error {
	c.wmu.Lock()
	if c.werr != nil {
		err := c.werr
		c.wmu.Unlock()
		return err
	}
	if c.wfr == nil { // dropped while parked (park.go)
		c.wfr = http2.NewFramer(bufWriter{c}, nil)
	}
	if d := c.cfg.SendTimeout; d > 0 {
		// Inactivity, not a total: push the deadline only when half of
		// it is used up, so busy connections rarely touch the timer.
		// One monotonic clock read: time.Now's two were ~1% of an h2c
		// run's CPU, this and the read loop's.
		if now := clock.Mono(); c.wdeadline-now < int64(d/2) {
			c.wdeadline = now + int64(d)
			_ = c.nc.SetWriteDeadline(clock.Time(c.wdeadline))
		}
	}
	err := f()
	if flush && (err == nil || isStreamLocal(err)) && c.bw != nil {
		if ferr := c.bw.Flush(); ferr != nil {
			err = ferr
		} else {
			c.releaseWriteBuf()
		}
	}
	if err != nil && !isStreamLocal(err) {
		c.werr = err
		c.wmu.Unlock()
		c.closeNC()
		return err
	}
	c.wmu.Unlock()
	return err
}

// isStreamLocal tells errors that end one stream's write from socket errors.
func isStreamLocal(err error) bool {
	_, ok := err.(ResetError)
	return ok || err == ErrConnClosed
}

// resetLocked queues RST_STREAM and closes the stream if it is open.
// peerFault counts a detected stream protocol error.
func (c *Conn) resetLocked(id uint32, code http2.ErrCode, peerFault bool) {
	if st := c.streams[id]; st != nil {
		c.closeStreamLocked(st, ResetError{Code: code})
	}
	if c.recentReset == nil {
		c.recentReset = new([64]uint32)
	}
	c.recentReset[c.recentN%len(c.recentReset)] = id
	c.recentN++
	if peerFault {
		c.ctr.StrmProtoErr.Add(1)
	}
	c.ctr.RstStreamResp.Add(1)
	c.enqueue(true, func() error { return c.wfr.WriteRSTStream(id, code) })
}

func (c *Conn) wasReset(id uint32) bool {
	if c.recentReset == nil {
		return false
	}
	for _, r := range c.recentReset {
		if r == id {
			return true
		}
	}
	return false
}

// writeHeaders encodes and writes a header block, split into CONTINUATION
// frames by the peer's max frame size. Caller holds wmu.
func (c *Conn) writeHeaders(id uint32, status int, h httpmsg.Headers, endStream bool) (int, error) {
	eb := getEncBuf()
	defer eb.put()
	b := eb.block[:0]
	if !c.sentTableSize {
		// The first block says the dynamic table is 0: nothing is ever
		// indexed (see NewConn).
		c.sentTableSize = true
		b = append(b, 0x20)
	}
	if status > 0 {
		b = appendStatus(b, status)
	}
	conn, _ := h.Get("Connection")
	for _, f := range h {
		if f.Name == "" || f.Name[0] == ':' {
			continue
		}
		// The lower-cased name is written to the end of the block, where
		// the field will go; dropped, it is cut off again.
		mark := len(b)
		var name string
		b, name = appendLower(b, f.Name)
		if dropResponseField(name, f.Value, conn) {
			b = b[:mark]
			continue
		}
		field := appendField(eb.scratch[:0], name, f.Value)
		b = append(b[:mark], field...)
		eb.scratch = field[:0]
	}
	eb.block = b[:0]
	block := b
	max := int(c.peerMaxFrame.Load())
	sent := 0
	for first := true; first || len(block) > 0; first = false {
		frag := block[:min(len(block), max)]
		block = block[len(frag):]
		var err error
		if first {
			err = c.wfr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag,
				EndStream: endStream, EndHeaders: len(block) == 0})
		} else {
			err = c.wfr.WriteContinuation(id, len(block) == 0, frag)
		}
		if err != nil {
			return sent, err
		}
		sent += 9 + len(frag)
	}
	return sent, nil
}

// encBuf holds a header block being encoded (block) and the field being
// added to it (scratch: the lower-cased name it reads sits at the block's
// end). In a free list rather than kept by each connection, which held
// them, grown to its largest response head, while idle; not a sync.Pool,
// which empties at collections (see freeWriters).
type encBuf struct{ block, scratch []byte }

var encBufs = freeList[encBuf]{max: freeWriters}

func getEncBuf() *encBuf {
	if eb := encBufs.get(); eb != nil {
		return eb
	}
	return new(encBuf)
}

func (eb *encBuf) put() {
	if cap(eb.block) > 16<<10 || cap(eb.scratch) > 16<<10 {
		return // an exceptional head's buffers are not kept
	}
	encBufs.put(eb)
}

// dropResponseField: connection-specific fields are not allowed in HTTP/2
// (RFC 9113 §8.2.2), nor are fields the Connection header names.
func dropResponseField(name, value, connHdr string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	case "te":
		return !strings.EqualFold(strings.TrimSpace(value), "trailers")
	}
	for connHdr != "" {
		var tok string
		tok, connHdr, _ = strings.Cut(connHdr, ",")
		if tok = strings.TrimSpace(tok); tok != "" && strings.EqualFold(tok, name) {
			return true
		}
	}
	return false
}
