package proxy

import (
	"errors"
	"net"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
)

// Parking. A goroutine blocked in Read between keep-alive requests keeps
// the stack it grew while serving (8-16 KiB, not shrunk without a GC) and
// its pooled session: ~10 KiB per idle connection, 9x HAProxy. So a plain
// TCP keep-alive connection that has waited parkAfter for its next request
// is parked: its goroutine ends, the session goes back to the pool, and a
// small parked record waits in the Process's poller (park_linux.go) until
// the client sends, half-closes, the keep-alive timeout expires or the
// runtime retires. TLS keep-alive connections are never parked: crypto/tls
// may hold buffered plaintext that readiness of the socket would not show.
//
// An idle HTTP/2 connection parks in the same poller, TLS or not, as a
// whole (h2serve.go): its engine decides when (h2/park.go: at a frame
// boundary with nothing buffered, crypto/tls's included), keeps its state,
// and its read loop resumes on any event.

// DefaultParkAfter is how long an idle keep-alive connection keeps its
// goroutine before it is parked. A park and its resume cost two epoll_ctl,
// a goroutine start and a pooled session (a few µs), paid at most once per
// idle period of at least this length: under 0.05% of a CPU even for a
// connection that pauses just over it every time. Active connections
// (wrk, a browser loading a page, the 10 ms gaps of a 100 req/s client)
// send again within it, so the hot path never touches epoll. It also
// bounds how many goroutines (grown stacks) and sessions are live while
// thousands of connections ramp up, and the ramp's peak is what RSS keeps:
// bench/run.sh idle (9,750 connections, HAProxy ~1,175 bytes/conn)
// measured 2,680-2,853 bytes/conn with 100 ms, ~2,300 with 50 ms and
// ~1,740 with 20 ms.
const DefaultParkAfter = 20 * time.Millisecond

var errRetired = errors.New("runtime retired")

// pollable is what the poller holds: an idle connection waiting without
// a goroutine. An HTTP/1 keep-alive connection (parked) or an HTTP/2 one
// (h2conn, whose h2.Conn keeps its whole state). The poller calls the
// methods without its lock held.
type pollable interface {
	slot() *pollSlot
	tcp() *net.TCPConn
	pollReady()  // readable or half-closed: resume it
	pollExpire() // its deadline passed
	pollClosed() // the poller closed (the runtime retired): move or end it
}

// pollSlot is the poller's bookkeeping of one pollable.
type pollSlot struct {
	deadline int64 // clock.Mono() of the keep-alive timeout; 0: none
	fd       int32
	idx      int32 // in the poller's deadline heap; -1: not in it
}

// parked is an idle keep-alive connection held without a goroutine: what
// the next request's session needs to continue exactly (request count and
// end of the previous response for %Ti/%Tt, the keep-alive deadline), and
// who to tell when the connection really ends. Addresses are recomputed
// from conn on resume. Kept small: 72 bytes (TestParkedSize).
type parked struct {
	conn     *net.TCPConn
	lst      *Listener
	done     func() // the accept loop's release (slots, wait group); nil when none
	lastDone time.Time
	pollSlot
	nreq int32
}

func (r *parked) slot() *pollSlot   { return &r.pollSlot }
func (r *parked) tcp() *net.TCPConn { return r.conn }
func (r *parked) pollReady()        { go r.lst.resume(r) }
func (r *parked) pollExpire()       { r.end() }
func (r *parked) pollClosed()       { r.handover() }

// monoAt is t as a heap deadline (clock.Mono); 0 stays "none".
func monoAt(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(clock.At(t), 1)
}

// end closes a parked connection (expired, retired) silently, as an
// expired keep-alive wait closes, and ends its accounting.
func (r *parked) end() {
	r.conn.Close()
	r.lst.end(r.done)
}

// parkAfter is how long a session waits before parking; 0: never.
func (p *Process) parkAfter() time.Duration {
	if !parkSupported || p.ParkAfter < 0 || p.parkOff.Load() {
		return 0
	}
	if p.ParkAfter == 0 {
		return DefaultParkAfter
	}
	return p.ParkAfter
}

// park hands r to the poller. errRetired: the runtime is retiring, close
// the connection; another error: parking is not possible, keep waiting in
// the goroutine.
func (p *Process) park(r pollable) error {
	_, err := p.parkIn(r)
	return err
}

// parkIn is park, telling which poller took r.
func (p *Process) parkIn(r pollable) (*poller, error) {
	p.idleMu.Lock()
	if p.Stale.Load() {
		p.idleMu.Unlock()
		return nil, errRetired
	}
	if p.poll == nil {
		pl, err := newPoller()
		if err != nil {
			p.parkOff.Store(true)
			p.idleMu.Unlock()
			return nil, err
		}
		p.poll = pl
	}
	pl := p.poll
	p.idleMu.Unlock()
	return pl, pl.park(r)
}

// Parked reports how many connections are parked (tests, diagnostics).
func (p *Process) Parked() int {
	p.idleMu.Lock()
	pl := p.poll
	p.idleMu.Unlock()
	if pl == nil {
		return 0
	}
	return pl.count()
}

// resume serves a parked connection that became readable (or was
// half-closed) with a session from the pool.
func (l *Listener) resume(r *parked) { l.resumeWith(r, l.FE.Proc.parkAfter()) }

func (l *Listener) resumeWith(r *parked, parkAfter time.Duration) {
	s := getSession()
	s.fe = l.FE
	s.lst = l
	s.raw = r.conn
	s.conn = r.conn
	s.src = addrPort(r.conn.RemoteAddr())
	s.dst = addrPort(r.conn.LocalAddr())
	s.nreq = int(r.nreq)
	s.lastDone = r.lastDone
	s.resumed = true
	s.parkAfter = parkAfter
	l.run(s, r.done)
}
