package sock

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// A request's answer is read with one recv when the request is sent from
// inside the read's netpoller callback. Go's RawConn.Read forgets the
// descriptor's readiness before it calls the callback, so it must try a
// recv before it waits: after a send, that try fails (EAGAIN) almost
// always, since the server has not answered yet (bench/profile.md, "The
// failed recvfrom before every upstream answer"). Sent from the callback,
// the request goes out after the reset: whatever the server sends back
// (the answer, a FIN, a reset) marks the descriptor ready again, so the
// callback can wait at once and recv when woken, as HAProxy does.
//
// What that wait cannot see is a FIN (or bytes) that arrived *before* the
// reset, while the connection sat idle in the pool, and that the
// netpoller already reported: the reset dropped it. A server that closed
// its socket answers the request with a reset, which wakes the wait; one
// that only half-closed (Apache's lingering close) reads the request and
// sends nothing. So a wait that skipped the try is registered (blindWaits)
// and, once it has waited blindCheck, checked with a MSG_PEEK: nothing
// there means any FIN or answer from then on wakes it; a FIN or bytes
// already there end the wait at once (a past read deadline, which the read
// then restores), and the read finds them as the usual first recv would
// have. A reused connection the server had closed thus still fails within
// blindCheck, and is retried, instead of waiting for "timeout server".

// holdMax bounds the bytes a Conn keeps for its answer's read; a larger
// request goes out as it is written.
const holdMax = 16 << 10

// blindCheck is how long a wait that skipped the first recv goes before
// a MSG_PEEK looks for what it cannot see (1 to 2 times this).
const blindCheck = 10 * time.Millisecond

type answerState struct {
	hold atomic.Bool // HoldForAnswer: writes are kept for the next Read
	held []byte      // kept bytes; wmu
	sent int         // of held, by the read's callback
	// sendLocked: the read holds wmu while its callback sends held.
	sendLocked bool
	rest       bool          // the callback met a full send buffer
	serr       syscall.Errno // the callback's send failed
	tried      bool          // the callback tried a recv before waiting
	blind      bool          // it did not: the wait went into blindWaits
	// batched: the callback handed held to the send batch (batch_linux.go),
	// which unlocks wmu once it sent; ferr is the batch's RawConn error.
	batched bool
	ferr    error

	// In blindWaits while linked (blindWaits.mu).
	linked     bool
	prev, next *Conn
	epoch      uint32
	peekN      int
	peekErr    syscall.Errno
	peekBuf    [1]byte
	dmu        sync.Mutex // rdl and kicked
	rdl        time.Time  // the read deadline last set through the Conn
	kicked     bool       // a check ended the wait with a past deadline
	kicks      uint32     // waits a check ended, for the tests
	onAnswer   func(uintptr) bool
	onPeek     func(uintptr)
	onFlush    func(uintptr) bool
}

func (a *answerState) reset() {
	a.hold.Store(false)
	a.empty()
	a.rdl, a.kicked, a.kicks = time.Time{}, false, 0
	a.batched, a.ferr = false, nil
}

// empty drops the held bytes once sent; a pooled connection keeps no
// large buffer for them (a request head is a few hundred bytes).
func (a *answerState) empty() {
	if cap(a.held) > 4<<10 {
		a.held = nil
	}
	a.held = a.held[:0]
}

// HoldForAnswer marks what is written next, up to the next Read, as a
// request whose answer that Read waits for: the bytes are kept (up to
// holdMax; more are sent as they come) and the Read sends them from inside
// its netpoller callback, then yields and tries as after AwaitAnswer while
// the yield budget lasts, or else waits at once: it never adds a recv that
// could only fail before its wait. Only the writer of the request may read
// the Conn until then.
func (c *Conn) HoldForAnswer() {
	c.wmu.Lock()
	c.ans.hold.Store(true)
	c.wmu.Unlock()
	c.await = true
}

// keep appends p to the held bytes unless that passes holdMax. wmu is held.
func (c *Conn) keep(p []byte) bool {
	a := &c.ans
	if len(a.held)+len(p) > holdMax {
		return false
	}
	a.held = append(a.held, p...)
	c.wwait = false
	return true
}

// keepBuffers is keep for a WriteBuffers, which it consumes.
func (c *Conn) keepBuffers(b *net.Buffers) (int64, bool) {
	var n int
	for _, p := range *b {
		n += len(p)
	}
	if len(c.ans.held)+n > holdMax {
		return 0, false
	}
	for _, p := range *b {
		c.ans.held = append(c.ans.held, p...)
	}
	consume(b, int64(n))
	c.wwait = false
	return int64(n), true
}

// sendHeld sends the held bytes now and ends the hold. wmu is held.
func (c *Conn) sendHeld() error {
	a := &c.ans
	a.hold.Store(false)
	if len(a.held) == 0 {
		return nil
	}
	c.wp, c.wn = a.held, 0
	err := c.write(c.onW, "sendto")
	c.wp = nil
	a.empty()
	return err
}

// readAnswer is Read after HoldForAnswer (rmu held): the held bytes go out
// from the read's callback, which then waits for the answer. done is false
// when the caller is to read the usual way: nothing was held, the send
// buffer was full (the rest is sent first), or a check ended the wait.
func (c *Conn) readAnswer() (done bool, err error) {
	a := &c.ans
	c.wmu.Lock()
	a.hold.Store(false)
	if len(a.held) == 0 {
		c.wmu.Unlock()
		return false, nil
	}
	c.await = false // the callback yields
	a.sendLocked, a.sent, a.rest, a.serr, a.tried, a.blind = true, 0, false, 0, false, false
	c.waited = false
	err = c.rc.Read(a.onAnswer)
	if a.batched {
		return c.endBatched(err)
	}
	if a.blind {
		a.blind = false
		if c.endBlind() && err != nil {
			// The check's past deadline ended the wait, or the wait
			// ended anyway: the usual read (reset, recv, wait) sees it.
			return false, nil
		}
	}
	if a.sendLocked {
		// The callback never ran (closed, deadline) or stopped sending.
		a.sendLocked = false
		if err == nil && a.rest {
			err = c.sendRest()
		}
		a.empty()
		c.wmu.Unlock()
		if err != nil {
			return true, err
		}
		if a.serr != 0 {
			return true, c.opError("write", "sendto", a.serr)
		}
		if a.rest {
			c.await = true
			return false, nil
		}
	}
	if c.waited {
		// The netpoller woke this read: a poll just happened.
		yieldsSincePoll.Store(0)
	}
	return true, err
}

// answer is readAnswer's RawConn.Read callback: first the send, then (up
// to answerYields times, within the yield budget) a yield and a recv, then
// a wait; after each wait a recv.
func (c *Conn) answer(fd uintptr) bool {
	a := &c.ans
	if a.batched || !a.sendLocked {
		c.waited = true
		return c.recv(fd)
	}
	if len(a.held) <= batchMax {
		// wmu goes with the request to the batch.
		a.batched, a.blind = true, true
		blindWaits.add(c)
		c.batch.add(c)
		return false
	}
	if !c.sendHeldOn(fd) {
		return true
	}
	a.empty()
	a.sendLocked = false
	c.wmu.Unlock()
	for i := 0; i < answerYields && yieldsSincePoll.Add(1) <= yieldBudget; i++ {
		runtime.Gosched()
		a.tried = true
		got := c.recv(fd)
		c.waited = false // a failed try is no sign of a poll
		if got {
			return true
		}
	}
	if !a.tried {
		a.blind = true
		blindWaits.add(c)
	}
	return false
}

// sendHeldOn sends the held bytes not sent yet on fd and reports whether
// all went; if not, rest (a full send buffer) or serr says why.
func (c *Conn) sendHeldOn(fd uintptr) bool {
	a := &c.ans
	n, e := sendAll(fd, a.held[a.sent:])
	a.sent += n
	switch e {
	case 0:
		return true
	case syscall.EAGAIN:
		a.rest = true
	default:
		a.serr = e
	}
	return false
}

// sendRest sends the held bytes not sent yet as a Write does, waiting
// for room. wmu is held.
func (c *Conn) sendRest() error {
	c.wp, c.wn = c.ans.held[c.ans.sent:], 0
	err := c.write(c.onW, "sendto")
	c.wp = nil
	return err
}

// endBatched ends readAnswer for a request the batch sent (or failed
// to): it waits for the batch to be done with c, then reports as
// readAnswer does.
func (c *Conn) endBatched(err error) (bool, error) {
	a := &c.ans
	a.batched = false
	c.wmu.Lock() // the batch unlocks it once done with c
	a.sendLocked = false
	a.blind = false
	kicked := c.endBlind()
	if a.ferr != nil || a.serr != 0 {
		ferr, serr := a.ferr, a.serr
		a.ferr = nil
		a.empty()
		c.wmu.Unlock()
		if ferr != nil {
			return true, ferr
		}
		return true, c.opError("write", "sendto", serr)
	}
	if a.rest {
		// The send buffer was full: the rest goes out as a write
		// does, and the answer is read the usual way.
		err = c.sendRest()
		a.empty()
		c.wmu.Unlock()
		if err != nil {
			return true, err
		}
		c.await = true
		return false, nil
	}
	c.wmu.Unlock()
	if kicked && err != nil {
		return false, nil
	}
	if c.waited {
		yieldsSincePoll.Store(0)
	}
	return true, err
}

// endBlind takes c out of blindWaits and restores the read deadline a
// check replaced; it reports whether a check ended the wait.
func (c *Conn) endBlind() bool {
	a := &c.ans
	blindWaits.mu.Lock()
	if a.linked {
		blindWaits.unlink(c)
	}
	blindWaits.mu.Unlock()
	a.dmu.Lock()
	defer a.dmu.Unlock()
	if !a.kicked {
		return false
	}
	a.kicked = false
	_ = c.TCPConn.SetReadDeadline(a.rdl)
	return true
}

// SetReadDeadline is the TCP connection's, remembered: a check that ends
// a blind wait with a past deadline puts this one back.
func (c *Conn) SetReadDeadline(t time.Time) error {
	a := &c.ans
	a.dmu.Lock()
	defer a.dmu.Unlock()
	a.rdl = t
	return c.TCPConn.SetReadDeadline(t)
}

// SetDeadline is the TCP connection's, its read deadline remembered.
func (c *Conn) SetDeadline(t time.Time) error {
	a := &c.ans
	a.dmu.Lock()
	defer a.dmu.Unlock()
	a.rdl = t
	return c.TCPConn.SetDeadline(t)
}

// peek is a check's RawConn.Control callback: MSG_PEEK of one byte.
func (c *Conn) peek(fd uintptr) {
	a := &c.ans
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&a.peekBuf[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if e != syscall.EINTR {
			a.peekN, a.peekErr = int(n), e
			return
		}
	}
}

// check looks, once, at what a blind wait cannot see (blindWaits.mu held).
func (c *Conn) check() {
	a := &c.ans
	a.peekN, a.peekErr = 0, 0
	if c.rc.Control(a.onPeek) != nil || a.peekErr == syscall.EAGAIN {
		// Closed (the wait ends with it), or nothing there: whatever
		// comes from now on wakes the wait.
		return
	}
	// A FIN, bytes or an error the wait will not hear of.
	c.kick()
}

// kick ends a blind wait with a past read deadline, which endBlind puts
// back.
func (c *Conn) kick() {
	a := &c.ans
	a.dmu.Lock()
	a.kicked = true
	a.kicks++
	_ = c.TCPConn.SetReadDeadline(time.Unix(1, 0))
	a.dmu.Unlock()
}

// blindList holds the waits that skipped the first recv until each has
// waited a blindCheck or two; one timer (no resident goroutine) checks
// them, and runs only while such waits happen.
type blindList struct {
	mu    sync.Mutex
	head  *Conn
	epoch uint32 // timer runs; a wait added in epoch e is checked in e+2
	used  bool   // a wait was added since the last run
	armed bool
	timer *time.Timer
}

var blindWaits blindList

func (l *blindList) add(c *Conn) {
	a := &c.ans
	l.mu.Lock()
	a.prev, a.next = nil, l.head
	if l.head != nil {
		l.head.ans.prev = c
	}
	l.head = c
	a.linked = true
	a.epoch = l.epoch
	l.used = true
	if !l.armed {
		l.armed = true
		if l.timer == nil {
			l.timer = time.AfterFunc(blindCheck, l.run)
		} else {
			l.timer.Reset(blindCheck)
		}
	}
	l.mu.Unlock()
}

func (l *blindList) unlink(c *Conn) {
	a := &c.ans
	if a.prev != nil {
		a.prev.ans.next = a.next
	} else {
		l.head = a.next
	}
	if a.next != nil {
		a.next.ans.prev = a.prev
	}
	a.prev, a.next, a.linked = nil, nil, false
}

func (l *blindList) run() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.epoch++
	for c := l.head; c != nil; {
		next := c.ans.next
		if l.epoch-c.ans.epoch >= 2 {
			l.unlink(c)
			c.check()
		}
		c = next
	}
	if l.head != nil || l.used {
		l.used = false
		l.timer.Reset(blindCheck)
		return
	}
	l.armed = false
}
