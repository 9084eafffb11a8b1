package proxy

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
)

// parkSupported: idle keep-alive connections can wait in our own epoll set
// instead of in a goroutine (see park.go).
const parkSupported = true

// poller holds parked connections of one Process in an epoll set and a
// deadline heap. One goroutine waits in EpollWait; a ready connection is
// removed from the set and resumed in a fresh goroutine.
//
// Go's netpoller keeps the same fd registered (edge-triggered) in its own
// epoll instance; that is independent of ours. We never read the socket
// here: epoll only says when to start a goroutine that reads it through
// the net.Conn. Level-triggered (with EPOLLONESHOT, and a DEL at once)
// means bytes that arrived before the fd was added are still reported.
type poller struct {
	epfd         int
	ep           *os.File        // epfd, registered in Go's netpoller
	rc           syscall.RawConn // of ep
	wakeR, wakeW int             // pipe: a new earlier deadline, or close

	mu     sync.Mutex
	closed bool
	byFD   []pollable // fd -> parked connection; nil when not parked
	heap   []pollable // parked connections with a deadline, earliest first
	n      int        // parked connections
	wakeAt int64      // when the current EpollWait returns at the latest; 0: never
}

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, err
	}
	// The loop waits for our epoll fd to become readable inside Go's
	// netpoller (nested epoll): a blocking epoll_wait would hold the P
	// until sysmon took it back, and with GOMAXPROCS=1 every goroutine
	// stalled each time the loop went back to wait (bench/run.sh large:
	// the proxy idled a third of the time once connections parked often).
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, err
	}
	ep := os.NewFile(uintptr(epfd), "gatehouse-park-epoll")
	rc, err := ep.SyscallConn()
	if err == nil {
		// A file the netpoller does not take stays blocking: refuse it.
		err = ep.SetReadDeadline(time.Time{})
	}
	if err != nil {
		ep.Close()
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, err
	}
	pl := &poller{epfd: epfd, ep: ep, rc: rc, wakeR: p[0], wakeW: p[1]}
	go pl.loop()
	return pl, nil
}

func connFD(c *net.TCPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return -1, err
	}
	return fd, nil
}

// park adds r to the set. After a nil return r belongs to the poller: it
// is resumed, expired or closed by close.
func (p *poller) park(r pollable) error {
	fd, err := connFD(r.tcp())
	if err != nil {
		return err
	}
	sl := r.slot()
	sl.fd = int32(fd)
	sl.idx = -1
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errRetired
	}
	if fd >= len(p.byFD) {
		n := max(2*len(p.byFD), fd+1, 64)
		b := make([]pollable, n)
		copy(b, p.byFD)
		p.byFD = b
	}
	p.byFD[fd] = r
	if sl.deadline != 0 {
		p.push(r)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.unlink(r)
		p.mu.Unlock()
		return err
	}
	p.n++
	if sl.deadline != 0 && (p.wakeAt == 0 || sl.deadline < p.wakeAt) {
		p.wakeAt = sl.deadline
		p.wake()
	}
	p.mu.Unlock()
	return nil
}

// unpark takes r out of the set and resumes it (pollReady); false when it
// is not in the set (resumed or handed back meanwhile: whoever took it
// out resumes it).
func (p *poller) unpark(r pollable) bool {
	p.mu.Lock()
	fd := int(r.slot().fd)
	if p.closed || fd >= len(p.byFD) || p.byFD[fd] != r {
		p.mu.Unlock()
		return false
	}
	p.unlink(r)
	p.n--
	p.mu.Unlock()
	r.pollReady()
	return true
}

// wake interrupts EpollWait. Called with p.mu held and before the loop has
// seen closed, so the pipe is still open.
func (p *poller) wake() { _, _ = syscall.Write(p.wakeW, []byte{0}) }

// unlink removes r from the tables and the epoll set; p.mu is held.
func (p *poller) unlink(r pollable) {
	sl := r.slot()
	p.byFD[sl.fd] = nil
	if sl.idx >= 0 {
		p.remove(int(sl.idx))
	}
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(sl.fd), nil)
}

// close stops the poller and hands back every parked connection (a
// reload moves them, a stop closes them); later parks fail with errRetired.
func (p *poller) close() []pollable {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var all []pollable
	for _, r := range p.byFD {
		if r != nil {
			all = append(all, r)
			_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(r.slot().fd), nil)
		}
	}
	p.byFD, p.heap, p.n = nil, nil, 0
	p.wake()
	p.mu.Unlock()
	return all
}

// count reports the parked connections (tests).
func (p *poller) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *poller) loop() {
	events := make([]syscall.EpollEvent, 128)
	var ready, expired []pollable
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			break
		}
		now := clock.Mono()
		for len(p.heap) > 0 && p.heap[0].slot().deadline <= now {
			r := p.heap[0]
			p.unlink(r)
			p.n--
			expired = append(expired, r)
		}
		p.wakeAt = 0
		if len(p.heap) > 0 {
			p.wakeAt = p.heap[0].slot().deadline
		}
		wakeAt := p.wakeAt
		p.mu.Unlock()
		for i, r := range expired {
			// HTTP/1: as an expired keep-alive wait, closed silently.
			r.pollExpire()
			expired[i] = nil
		}
		expired = expired[:0]

		if wakeAt != 0 {
			_ = p.ep.SetReadDeadline(clock.Time(wakeAt))
		} else {
			_ = p.ep.SetReadDeadline(time.Time{})
		}
		n := 0
		var werr error
		err := p.rc.Read(func(fd uintptr) bool {
			n, werr = syscall.EpollWait(int(fd), events, 0)
			if werr == syscall.EINTR {
				n, werr = 0, nil
			}
			return n > 0 || werr != nil // nothing ready: wait in the netpoller
		})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue // a keep-alive deadline is due
		}
		if err != nil || werr != nil {
			// Not expected with valid arguments; do not spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.mu.Lock()
		for _, ev := range events[:max(n, 0)] {
			fd := int(ev.Fd)
			if fd == p.wakeR {
				var b [64]byte
				for {
					if m, _ := syscall.Read(p.wakeR, b[:]); m <= 0 {
						break
					}
				}
				continue
			}
			if fd >= len(p.byFD) || p.byFD[fd] == nil {
				continue // closed meanwhile
			}
			r := p.byFD[fd]
			p.unlink(r)
			p.n--
			ready = append(ready, r)
		}
		p.mu.Unlock()
		for i, r := range ready {
			r.pollReady()
			ready[i] = nil
		}
		ready = ready[:0]
	}
	p.ep.Close()
	syscall.Close(p.wakeR)
	syscall.Close(p.wakeW)
}

// The heap orders parked connections by deadline; idx is kept so any
// entry can be removed when its connection becomes ready.

func (p *poller) push(r pollable) {
	sl := r.slot()
	sl.idx = int32(len(p.heap))
	p.heap = append(p.heap, r)
	p.up(int(sl.idx))
}

func (p *poller) remove(i int) {
	h := p.heap
	last := len(h) - 1
	h[i].slot().idx = -1
	if i != last {
		h[i] = h[last]
		h[i].slot().idx = int32(i)
	}
	h[last] = nil
	p.heap = h[:last]
	if i != last {
		p.down(i)
		p.up(i)
	}
}

func (p *poller) up(i int) {
	h := p.heap
	for i > 0 {
		j := (i - 1) / 2
		if h[j].slot().deadline <= h[i].slot().deadline {
			break
		}
		h[i], h[j] = h[j], h[i]
		h[i].slot().idx, h[j].slot().idx = int32(i), int32(j)
		i = j
	}
}

func (p *poller) down(i int) {
	h := p.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && h[r].slot().deadline < h[l].slot().deadline {
			j = r
		}
		if h[i].slot().deadline <= h[j].slot().deadline {
			return
		}
		h[i], h[j] = h[j], h[i]
		h[i].slot().idx, h[j].slot().idx = int32(i), int32(j)
		i = j
	}
}
