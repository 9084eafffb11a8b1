package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// ConnHandler serves one accepted connection. A frontend implements it.
type ConnHandler interface {
	ServeConn(c net.Conn)
}

// listener is one bound address. It outlives a reload when the new
// configuration binds the same address: the socket stays open and only the
// handler pointer is swapped, so no connection attempt is refused.
type listener struct {
	addr    string
	opts    SockOpts // how ln was made
	ln      net.Listener
	handler atomic.Pointer[handlerBox]
	// sock tells the http listeners of every configuration which one
	// serves the socket now: a reload moves connections to it.
	sock proxy.Socket
	stop chan struct{} // closed when the listener closes (see close)
	done chan struct{}
	wg   *sync.WaitGroup // live connections, for graceful stop
	log  *slog.Logger
	errs acceptErrors // only acceptLoop uses it
	// yield lets other goroutines run after tune.maxaccept accepts in a
	// row (runtime.Gosched; tests count the calls).
	yield func()
}

// acceptErrors rate-limits the log of failed accepts: a process out of file
// descriptors fails every accept, and a line each time would flood the log
// while nothing can be done until connections close.
type acceptErrors struct {
	last    time.Time // last line written
	pending int       // failures since then, not yet in a line
	lastErr error
}

const acceptLogEvery = time.Second

func (a *acceptErrors) failed(l *listener, err error, now time.Time) {
	a.pending++
	a.lastErr = err
	if !a.last.IsZero() && now.Sub(a.last) < acceptLogEvery {
		return
	}
	l.log.Error("accept failed", "addr", l.addr, "err", err, "count", a.pending)
	a.last, a.pending = now, 0
}

// recovered reports the failures not yet logged once accepting works again,
// within the same once-a-second limit (the next failure reports them
// otherwise).
func (a *acceptErrors) recovered(l *listener, now time.Time) {
	if a.pending == 0 || now.Sub(a.last) < acceptLogEvery {
		return
	}
	l.log.Error("accept failed", "addr", l.addr, "err", a.lastErr, "count", a.pending, "recovered", true)
	a.last, a.pending = now, 0
}

type handlerBox struct {
	h  ConnHandler
	l7 *proxy.Listener // the http listener behind h; nil in mode tcp
	// slots: the maxconn semaphores a connection holds (the bind's, the
	// frontend's, the process's), acquired before Accept.
	slots slotSet
	// keepAlive: the frontend's "option clitcpka"; noLinger its
	// "option nolinger".
	keepAlive, noLinger bool
	// maxAccept: accepts in a row before yielding ("tune.maxaccept";
	// 0: never yield).
	maxAccept int
	// sndBuf, rcvBuf: SO_SNDBUF, SO_RCVBUF of each accepted socket
	// (tune.sndbuf.client, tune.rcvbuf.client); 0: the kernel's.
	sndBuf, rcvBuf int
	// gate: the rate limits the accept loop waits on and counts
	// (rates.go); nil: none.
	gate *ratelimit.Gate
	// replaced is closed when a reload swaps the box out: an accept loop
	// waiting for its slots looks again. Without it, one waiting on a full
	// semaphore of the old frontend would wait for as long as the old
	// connections live, which a reload no longer ends (proxy/handover.go).
	replaced chan struct{}
}

func newHandlerBox(h ConnHandler, l7 *proxy.Listener, slots slotSet) *handlerBox {
	return &handlerBox{h: h, l7: l7, slots: slots, replaced: make(chan struct{})}
}

// swap installs next and releases an accept loop waiting on the old box.
// The connections of the old box's runtime find next's http listener
// (nil in mode tcp) as soon as that runtime retires.
func (l *listener) swap(next *handlerBox) {
	l.sock.Serve(next.l7)
	old := l.handler.Load()
	l.handler.Store(next)
	if old != nil {
		close(old.replaced)
	}
}

// close stops the accept loop, even one waiting for a maxconn slot, and
// waits for it.
func (l *listener) close() {
	l.sock.Serve(nil) // nothing takes the connections over
	close(l.stop)
	l.ln.Close()
	<-l.done
}

// acceptLoop runs until the listener is closed. Accepting stops while the
// global maxconn is reached (as HAProxy pauses its listeners) instead of
// accepting and dropping.
func (l *listener) acceptLoop() {
	defer close(l.done)
	var backoff time.Duration
	inRow := 0
	for {
		box := l.handler.Load()
		if !box.acquire(l.stop) {
			select {
			case <-l.stop:
				return
			default:
				continue // replaced by a reload: its slots now
			}
		}
		if !box.waitRate(l.stop) {
			box.release()
			select {
			case <-l.stop:
				return
			default:
				continue // replaced by a reload: its limits now
			}
		}
		c, err := l.ln.Accept()
		if err != nil {
			box.release()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: back off rather than spin, but not for
			// long (HAProxy retries a listener out of fds after 100 ms),
			// and say so at most once a second.
			backoff = min(max(2*backoff, 5*time.Millisecond), 100*time.Millisecond)
			l.errs.failed(l, err, time.Now())
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		l.errs.recovered(l, time.Now())
		// The handler is loaded after Accept so a connection accepted after a
		// reload is served by the new configuration.
		cur := l.handler.Load()
		cur.accepted() // its handler reports what its connection rules decide
		// maxsslconn: past it a connection to an ssl bind is closed before
		// its handshake, as HAProxy's ssl_sock_init fails it.
		var ssl *ratelimit.SSLConns
		if g := cur.gate; g != nil && g.SSL && g.P != nil {
			ssl = g.P.SSLConns
		}
		if !ssl.Take() {
			c.Close()
			box.release()
			continue
		}
		if tc, ok := c.(*net.TCPConn); ok {
			if cur.keepAlive {
				_ = tc.SetKeepAliveConfig(upstream.KeepAlive(true))
			}
			if cur.noLinger {
				_ = tc.SetLinger(0) // option nolinger: close with a reset
			}
			// tune.sndbuf.client, tune.rcvbuf.client: after accept, as
			// HAProxy's session_accept_fd, unchecked as there.
			if cur.sndBuf != 0 {
				_ = tc.SetWriteBuffer(cur.sndBuf)
			}
			if cur.rcvBuf != 0 {
				_ = tc.SetReadBuffer(cur.rcvBuf)
			}
		}
		l.wg.Add(1)
		go serveAccepted(l.wg, cur.h, c, box, ssl)
		// HAProxy accepts at most tune.maxaccept connections before it
		// goes back to its other work; here other goroutines get the P.
		if inRow++; cur.maxAccept > 0 && inRow >= cur.maxAccept {
			inRow = 0
			l.yield()
		}
	}
}

// acquire takes the slots a connection needs before Accept; false, with
// nothing taken, when the box is replaced or the listener stops meanwhile.
func (b *handlerBox) acquire(stop <-chan struct{}) bool {
	return b.slots.acquire(b.replaced, stop)
}

// release gives back the slots taken before Accept.
func (b *handlerBox) release() { b.slots.release() }

// slotSet is the maxconn semaphores of a listener, in the order they are
// taken: the bind's own ("bind ... maxconn"), its frontend's, the global
// one; unlimited ones are left out. A full one pauses accepting, as
// HAProxy's listeners stop polling when full, and a closing connection
// resumes it.
type slotSet []chan struct{}

func newSlotSet(sems ...chan struct{}) slotSet {
	var s slotSet
	for _, c := range sems {
		if c != nil {
			s = append(s, c)
		}
	}
	return s
}

// acquire waits for a slot in each; false, with nothing taken, when
// replaced or stop closes first.
func (s slotSet) acquire(replaced, stop <-chan struct{}) bool {
	for i, c := range s {
		select {
		case c <- struct{}{}:
		case <-replaced:
			s[:i].release()
			return false
		case <-stop:
			s[:i].release()
			return false
		}
	}
	return true
}

// tryAcquire takes a slot in each, or none when one is full.
func (s slotSet) tryAcquire() bool {
	for i, c := range s {
		select {
		case c <- struct{}{}:
		default:
			s[:i].release()
			return false
		}
	}
	return true
}

func (s slotSet) release() {
	for _, c := range s {
		<-c
	}
}

// detachedHandler may return while its connection lives on (an http
// frontend parks idle keep-alive connections without a goroutine); it calls
// done exactly once when the connection has really ended.
type detachedHandler interface {
	ServeConnDetached(c net.Conn, done func())
}

func serveAccepted(wg *sync.WaitGroup, h ConnHandler, c net.Conn, box *handlerBox, ssl *ratelimit.SSLConns) {
	if d, ok := h.(detachedHandler); ok {
		// The maxconn slots, the maxsslconn count and the graceful stop's
		// count are held until the connection ends, parked or not.
		d.ServeConnDetached(c, func() {
			ssl.Done()
			box.release()
			wg.Done()
		})
		return
	}
	defer wg.Done()
	defer box.release()
	defer ssl.Done()
	h.ServeConn(c)
}

func (l *listener) String() string { return fmt.Sprintf("listener %s", l.addr) }
