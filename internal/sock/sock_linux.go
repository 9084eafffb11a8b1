// Package sock moves a TCP connection's bytes with recv(2), send(2) and
// writev(2) issued as raw system calls.
//
// net.TCPConn goes through read(2)/write(2): the VFS layer in front of the
// socket (fdget_pos, rw_verify_area, the file permission hook) costs ~0.25
// µs per call here, ~5% of a small proxied request. And the socket is
// non-blocking, so the call never blocks: the runtime's entersyscall and
// exitsyscall around it (another ~0.1 µs) buy nothing. Waiting, deadlines
// and close stay with Go's netpoller through syscall.RawConn, so a Conn
// behaves as the *net.TCPConn it wraps in every other respect.
package sock

import (
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Conn is a *net.TCPConn whose Read, Write and WriteBuffers issue the
// system calls themselves. The state of a call lives in the Conn (so no
// call allocates); rmu and wmu keep concurrent calls in one direction
// from sharing it, as the descriptor's own lock would.
type Conn struct {
	*net.TCPConn
	rc  syscall.RawConn
	rmu sync.Mutex
	wmu sync.Mutex

	rp     []byte
	rn     int
	rerr   syscall.Errno
	again  bool // the last recv found nothing (EAGAIN)
	waited bool // the read had to wait for the netpoller
	await  bool // the next Read waits for an answer: see AwaitAnswer
	wp     []byte
	wn     int
	werr   syscall.Errno
	wwait  bool // the last write had to wait for room
	wv     *net.Buffers
	wvn    int64
	iov    [4]syscall.Iovec // the codec writes head + body: 2
	onR    func(uintptr) bool
	onTry  func(uintptr) bool
	onW    func(uintptr) bool
	onWv   func(uintptr) bool
	fails  uint32 // recvs that found nothing (EAGAIN), for the tests

	ans   answerState // HoldForAnswer: answer_linux.go
	batch *sendBatch  // where its held requests go: batch_linux.go
}

// Wrap returns c as a Conn, or c itself (as a net.Conn) when its raw
// descriptor is not reachable. Conns are pooled (see Release): ten
// thousand keep-alive connections that park between requests would
// otherwise leave ten thousand of them to the collector, and the heap's
// headroom over that garbage is resident memory.
func Wrap(c *net.TCPConn) net.Conn {
	rc, err := c.SyscallConn()
	if err != nil {
		return c
	}
	s, _ := pool.Get().(*Conn)
	if s == nil {
		s = &Conn{}
		// Bound once per Conn, so a reused one allocates nothing.
		s.onR, s.onTry, s.onW, s.onWv = s.recv, s.tryRecv, s.send, s.writev
		s.ans.onAnswer, s.ans.onPeek, s.ans.onFlush = s.answer, s.peek, s.flush
		s.batch = batchFor()
	}
	s.TCPConn, s.rc = c, rc
	return s
}

var pool sync.Pool

// Release returns c to the pool when it is a Conn that nothing uses any
// more (closed, or its TCP connection handed on, as a parked one is).
func Release(c net.Conn) {
	s, ok := c.(*Conn)
	if !ok {
		return
	}
	s.TCPConn, s.rc = nil, nil
	s.await, s.again, s.waited = false, false, false
	s.fails = 0
	s.ans.reset()
	pool.Put(s)
}

// Unwrap returns the TCP connection under c (a Conn or a *net.TCPConn).
func Unwrap(c net.Conn) (*net.TCPConn, bool) {
	switch c := c.(type) {
	case *Conn:
		return c.TCPConn, true
	case *net.TCPConn:
		return c, true
	}
	return nil, false
}

// answerYields bounds how many times a read that awaits an answer lets
// the other goroutines run before it waits on the netpoller.
const answerYields = 3

// Go polls the network when its run queues are empty (or every 10 ms,
// from sysmon). Goroutines that yield keep the queues full, so the reads
// that did have to wait on the netpoller would wait for that 10 ms poll:
// measured, polls fell from ~2,000/s to ~350/s and p99 latency doubled.
// yieldsSincePoll counts yields since a netpoller wake-up was last seen;
// past yieldBudget reads stop yielding, the queues drain, Go polls, and the
// waiting reads resume (~yieldBudget units of work at most).
var yieldsSincePoll atomic.Int32

// yieldBudget: 32 keeps p99 at saturation where it is without yields
// (~2.2 ms at 50 connections, bench/run.sh plain) and most of the gain;
// 256 gained a little more and cost 1.7x at p99. The counter is global, so
// on many cores it is one shared cache line per yield: cheap next to the
// system call a yield saves.
const yieldBudget = 32

// AwaitAnswer marks the next Read as the wait for an answer to what was
// just sent (a request upstream, a response to a keep-alive client): the
// peer cannot have answered yet. Go tries read(2) before it waits, so such
// a read would fail with EAGAIN and park; the read instead lets the other
// runnable goroutines go first, up to answerYields times, and reads once
// the bytes are there. Under load they mostly are after the first yield:
// ~10% more requests per second in bench/run.sh plain. When nothing else
// is runnable a yield returns at once, and the read waits on the netpoller
// as usual after the last try; yieldBudget keeps the yields from starving
// the reads that do wait on the netpoller.
func (c *Conn) AwaitAnswer() { c.await = true }

func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rp, c.rn, c.rerr = p, 0, 0
	var err error
	tried := false
	if c.ans.hold.Load() {
		tried, err = c.readAnswer()
	}
	if c.await && !tried {
		c.await = false
		for i := 0; i < answerYields && yieldsSincePoll.Add(1) <= yieldBudget; i++ {
			runtime.Gosched()
			c.again = false
			if err = c.rc.Read(c.onTry); err != nil || !c.again {
				tried = true
				break
			}
		}
	}
	if !tried {
		c.waited = false
		err = c.rc.Read(c.onR)
		if c.waited {
			// The netpoller woke this read: a poll just happened.
			yieldsSincePoll.Store(0)
		}
	}
	n, errno := c.rn, c.rerr
	c.rp = nil
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, c.opError("read", "recvfrom", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *Conn) recv(fd uintptr) bool {
	n, e := recvOnce(fd, c.rp)
	switch e {
	case 0:
		c.rn = n
	case syscall.EAGAIN:
		c.waited = true
		c.fails++
		return false // wait for the netpoller, then again
	default:
		c.rerr = e
	}
	return true
}

// recvOnce is one recv(2) into p (not empty), retried on EINTR.
func recvOnce(fd uintptr, p []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}

// tryRecv is recv without the wait: EAGAIN is reported in c.again.
func (c *Conn) tryRecv(fd uintptr) bool {
	if !c.recv(fd) {
		c.again = true
	}
	return true
}

func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.ans.hold.Load() {
		if c.keep(p) {
			return len(p), nil
		}
		if err := c.sendHeld(); err != nil {
			return 0, err
		}
	}
	c.wp, c.wn = p, 0
	err := c.write(c.onW, "sendto")
	n := c.wn
	c.wp = nil
	return n, err
}

// write runs one write callback through the netpoller (it returns false
// on EAGAIN to wait for room) and turns its errno into a *net.OpError.
// wmu is held.
func (c *Conn) write(fn func(uintptr) bool, call string) error {
	c.werr, c.wwait = 0, false
	err := c.rc.Write(fn)
	if err == nil && c.werr != 0 {
		err = c.opError("write", call, c.werr)
	}
	return err
}

func (c *Conn) send(fd uintptr) bool {
	n, e := sendAll(fd, c.wp[c.wn:])
	c.wn += n
	switch e {
	case 0:
	case syscall.EAGAIN:
		return c.mustWait()
	default:
		c.werr = e
	}
	return true
}

// sendAll sends p with send(2) until all of it is sent (errno 0), the
// socket is full (EAGAIN) or the call fails; n is what was sent.
func sendAll(fd uintptr, p []byte) (n int, errno syscall.Errno) {
	for n < len(p) {
		w, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n), syscall.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			n += int(w)
		case syscall.EINTR:
		default:
			return n, e
		}
	}
	return n, 0
}

// mustWait records that the write found no room and returns false, the
// callback's "wait for the netpoller".
func (c *Conn) mustWait() bool {
	c.wwait = true
	return false
}

// WriteWaited reports whether the last Write or WriteBuffers had to wait
// for room in the socket's send buffer (a slow reader), so a caller that
// timestamps its work knows when its clock reading went stale.
func (c *Conn) WriteWaited() bool { return c.wwait }

// WriteBuffers writes b with writev(2), consuming what was written, as
// net.Buffers.WriteTo does for a *net.TCPConn.
func (c *Conn) WriteBuffers(b *net.Buffers) (int64, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.ans.hold.Load() {
		if n, ok := c.keepBuffers(b); ok {
			return n, nil
		}
		if err := c.sendHeld(); err != nil {
			return 0, err
		}
	}
	c.wv, c.wvn = b, 0
	err := c.write(c.onWv, "writev")
	n := c.wvn
	c.wv = nil
	return n, err
}

func (c *Conn) writev(fd uintptr) bool {
	for {
		bufs := *c.wv
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
		*c.wv = bufs
		if len(bufs) == 0 {
			return true
		}
		k := 0
		for ; k < len(c.iov) && k < len(bufs); k++ {
			if len(bufs[k]) == 0 {
				break
			}
			c.iov[k] = syscall.Iovec{Base: &bufs[k][0]}
			c.iov[k].SetLen(len(bufs[k]))
		}
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&c.iov[0])), uintptr(k))
		clear(c.iov[:k])
		switch e {
		case 0:
			c.wvn += int64(n)
			consume(c.wv, int64(n))
		case syscall.EINTR:
		case syscall.EAGAIN:
			return c.mustWait()
		default:
			c.werr = e
			return true
		}
	}
}

func (c *Conn) opError(op, call string, errno syscall.Errno) error {
	return opError(c.TCPConn, op, call, errno)
}

func opError(c *net.TCPConn, op, call string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(call, errno)}
}

// consume drops the first n bytes of b (net.Buffers keeps its own unexported).
func consume(b *net.Buffers, n int64) {
	for len(*b) > 0 {
		if l := int64(len((*b)[0])); l > n {
			(*b)[0] = (*b)[0][n:]
			return
		} else {
			n -= l
		}
		(*b)[0] = nil
		*b = (*b)[1:]
	}
}
