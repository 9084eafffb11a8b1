package l4

import (
	"net"
	"sync"
	"syscall"
	"time"
)

// watchdog applies HAProxy's inactivity timeouts to a spliced tunnel
// without touching the data path: a timer samples each socket's progress
// (bytes received from the peer plus bytes it acknowledged, from
// TCP_INFO), and when a side made none for its timeout, it expires the
// session. In tcp mode "timeout tunnel", when set, replaces both "timeout
// client" and "timeout server" once connected.
type watchdog struct {
	mu      sync.Mutex
	timer   *time.Timer
	step    time.Duration
	sides   [2]side // client, server
	cause   byte    // 'c' or 's' once expired
	onFire  func()
	stopped bool
}

type side struct {
	c       net.Conn
	timeout time.Duration
	last    uint64
	since   time.Time
	cause   byte
}

func (s *session) watch(srv *net.TCPConn) *watchdog {
	t := s.fe.Timeouts
	bt := s.be.Timeouts
	ct, st := t.Client, bt.Server
	if tun := bt.Tunnel; tun > 0 {
		ct, st = tun, tun
	} else if tun := t.Tunnel; tun > 0 {
		ct, st = tun, tun
	}
	now := time.Now()
	w := &watchdog{
		sides:  [2]side{{c: s.raw, timeout: ct, since: now, cause: 'c'}, {c: srv, timeout: st, since: now, cause: 's'}},
		onFire: func() { s.abort(srv) },
	}
	step := time.Duration(0)
	for i := range w.sides {
		d := w.sides[i].timeout
		if d <= 0 {
			continue
		}
		w.sides[i].last, _ = progress(w.sides[i].c)
		if step == 0 || d < step {
			step = d
		}
	}
	if step == 0 {
		return w
	}
	w.step = min(max(step/4, 5*time.Millisecond), 5*time.Second)
	w.timer = time.AfterFunc(w.step, w.tick)
	return w
}

func (w *watchdog) tick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	now := time.Now()
	for i := range w.sides {
		sd := &w.sides[i]
		if sd.timeout <= 0 {
			continue
		}
		p, ok := progress(sd.c)
		if !ok {
			continue
		}
		if p != sd.last {
			sd.last, sd.since = p, now
			continue
		}
		if now.Sub(sd.since) >= sd.timeout {
			w.cause = sd.cause
			w.stopped = true
			w.onFire()
			return
		}
	}
	w.timer.Reset(w.step)
}

// halfClosed gives side i (0 client, 1 server) the timeout d from now on,
// once Gatehouse has shut that side for writing: HAProxy's "timeout
// client-fin" and "timeout server-fin" replace the inactivity timeout of a
// half-closed side. d <= 0 keeps the current one.
func (w *watchdog) halfClosed(i int, d time.Duration) {
	if d <= 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	sd := &w.sides[i]
	sd.timeout, sd.since = d, time.Now()
	sd.last, _ = progress(sd.c)
	step := min(max(d/4, 5*time.Millisecond), 5*time.Second)
	if w.timer == nil {
		w.step = step
		w.timer = time.AfterFunc(step, w.tick)
		return
	}
	if step < w.step {
		w.step = step
		w.timer.Reset(step)
	}
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *watchdog) expired() byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cause
}

// dead reports whether c's socket was reset (TCP state CLOSE).
func (w *watchdog) dead(c net.Conn) bool {
	return closedByPeer(c)
}

func rawConn(c net.Conn) (syscall.RawConn, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, false
	}
	rc, err := sc.SyscallConn()
	return rc, err == nil
}
