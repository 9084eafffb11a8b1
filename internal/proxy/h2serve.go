package proxy

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/h2"
	"github.com/gatehouse/gatehouse/internal/sock"
)

// serveH2 serves the session's connection as HTTP/2: negotiated by ALPN
// on a TLS bind, or spoken from the first byte on a bind with "proto h2".
// Every stream is a transaction of its own on its own goroutine; the
// session only carries what they share (frontend, addresses, TLS).
//
// A detached connection (done not nil: the accept loop does not wait for
// its end) parks while idle: its read loop's goroutine ends, and the
// runtime's poller (park_linux.go) resumes it on a new one when the client
// sends again (h2conn.resume). It returns when the connection has ended
// (and done has run) or has parked.
func (s *session) serveH2(done func()) {
	s.wireH2()
	// The HTTP/1 transaction goes back: streams take theirs from txnPool.
	s.tx.reset()
	txnPool.Put(s.tx)
	s.tx = nil
	hc := &h2conn{s0: s, done: done}
	v := &h2view{s: s}
	v.refs.Store(1)
	hc.cur.Store(v)
	c := h2.NewConn(s.conn, s.fe.H2, func(st *h2.Stream) { hc.serveStream(st) })
	hc.c, hc.h2 = c, c
	if done != nil && tcpOf(s.raw) != nil {
		c.SetParker(hc, s.fe.Proc.parkAfter())
	}
	if !s.fe.Proc.h2conns.add(hc) {
		// A reload retired this runtime while the handshake ran.
		hc.retire()
	}
	hc.served(c.Serve())
}

// served ends the connection's share of the proxy once the engine has
// ended it; a parked connection lives on in the poller.
func (hc *h2conn) served(err error) {
	if errors.Is(err, h2.ErrParked) {
		return
	}
	// Every stream has ended: only the current view is left.
	hc.mu.Lock()
	hc.ended = true
	last := hc.cur.Load().s.lst
	hc.mu.Unlock()
	last.FE.Proc.h2conns.remove(hc)
	s := hc.s0
	s.conn.Close()
	putSession(s)
	last.end(hc.done)
}

// resume continues a parked connection on the calling (new) goroutine.
func (hc *h2conn) resume() { hc.served(hc.h2.Resume()) }

// Park implements h2.Parker: the idle connection waits in the poller of
// the runtime that serves it now. Called with the h2.Conn's lock held,
// which also guards pl.
func (hc *h2conn) Park(deadline time.Time) (ok, retry bool) {
	p := hc.cur.Load().s.fe.Proc
	if p.parkAfter() == 0 {
		return false, false
	}
	hc.ps.deadline = monoAt(deadline)
	pl, err := p.parkIn(hc)
	switch {
	case err == nil:
		hc.pl = pl
		// The table of streams in progress ("show sess") is empty: it
		// goes (~190 bytes) and the next stream makes it again.
		s := hc.cur.Load().s
		s.h2mu.Lock()
		if len(s.h2live) == 0 {
			s.h2live = nil
		}
		s.h2mu.Unlock()
		return true, false
	case errors.Is(err, errRetired):
		// Retired, the connection not moved yet: it will be.
		return false, true
	}
	return false, false
}

// Unpark implements h2.Parker.
func (hc *h2conn) Unpark() bool { return hc.pl != nil && hc.pl.unpark(hc) }

// An h2conn in the poller: every event resumes its read loop, which
// serves the next frame, ends the connection, or parks it again (in the
// poller of the runtime it has moved to, after a reload).
func (hc *h2conn) slot() *pollSlot   { return &hc.ps }
func (hc *h2conn) tcp() *net.TCPConn { return tcpOf(hc.s0.raw) }
func (hc *h2conn) pollReady()        { go hc.resume() }
func (hc *h2conn) pollExpire()       { go hc.resume() }
func (hc *h2conn) pollClosed()       { go hc.resume() }

// wireH2 gives a cleartext h2c connection raw recv/send (sock.Wrap), as a
// TLS bind's connection has under its TLS. Through net.TCPConn every read
// and flush entered the runtime's blocking-syscall state, and sysmon,
// finding the only P in a system call, handed it to another thread: 0.22
// context switches and 0.1 sysmon sleeps per request (h2load 32x10),
// 0.04 and 0.01 wrapped, and ~18% fewer CPU-seconds per request.
func (s *session) wireH2() {
	if tc, ok := s.conn.(*net.TCPConn); ok && s.raw == s.conn {
		w := sock.Wrap(tc)
		s.raw, s.conn = w, w
	}
}

// An HTTP/2 connection across reloads. A reload moves it to the listener
// that replaced its own, as it moves an HTTP/1 connection between requests
// (handover.go): its next streams are served by the new configuration,
// the ones in flight finish on the old. Each configuration it has served
// through is a view: a session on that listener, counted as a connection
// of its runtime (%ac, scur) while it is current or has streams in flight,
// so a retired runtime is released only after its last stream. A GOAWAY
// would fail the streams a client has queued but not sent (nghttp2 drops
// them once it reads one), so it is sent only when nothing takes over: at
// a stop, or when the new configuration dropped or changed the bind.
//
// HTTP/3 connections (h3serve.go) move the same way: c is what sends the
// GOAWAY of either.
type h2conn struct {
	c   interface{ Shutdown() }
	cur atomic.Pointer[h2view]

	mu    sync.Mutex // orders retire against the connection's end
	ended bool

	// HTTP/2 over TCP (nil for HTTP/3): the engine, the session the
	// connection was accepted with (given back at its end), the accept
	// loop's release, and, while parked, its poller and slot there.
	h2   *h2.Conn
	s0   *session
	done func()
	pl   *poller
	ps   pollSlot
}

// h2view is one configuration's share of an HTTP/2 connection.
type h2view struct {
	s    *session
	refs atomic.Int64 // 1 while current, plus one per stream in flight
}

func (hc *h2conn) serveStream(st clientStream) {
	for {
		v := hc.cur.Load()
		// A view whose count reached zero was replaced: take the new one.
		if r := v.refs.Load(); r > 0 && v.refs.CompareAndSwap(r, r+1) {
			v.s.serveStream(st)
			hc.drop(v)
			return
		}
	}
}

// drop releases one reference; the last one of a replaced view ends its
// share of the connection.
func (hc *h2conn) drop(v *h2view) {
	if v.refs.Add(-1) == 0 {
		v.s.fe.Proc.ActConn.Add(-1)
		v.s.fe.Counters.CloseSession()
		if lc := v.s.lst.Counters; lc != nil {
			lc.CloseSession()
		}
	}
}

// retire runs when the current view's runtime retires: the connection
// moves to the listener's successor, or, with none, ends with a GOAWAY.
func (hc *h2conn) retire() {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for !hc.ended {
		v := hc.cur.Load()
		next := v.s.lst.successor()
		if next == nil || v.s.fe.Proc.stopping.Load() {
			hc.c.Shutdown()
			return
		}
		nv := &h2view{s: v.s.viewOn(next)}
		nv.refs.Store(1)
		next.FE.Proc.ActConn.Add(1)
		next.FE.Counters.OpenSession(time.Now())
		if next.Counters != nil {
			next.Counters.OpenSession(time.Now())
		}
		hc.cur.Store(nv)
		hc.drop(v)
		if next.FE.Proc.h2conns.add(hc) {
			return
		}
		// next was retired meanwhile: on to its successor.
	}
}

// viewOn is a session for l's configuration sharing s's connection and
// what describes it; HTTP/2 streams read nothing else of a session.
func (s *session) viewOn(l *Listener) *session {
	return &session{
		fe: l.FE, lst: l, raw: s.raw, conn: s.conn,
		accept: s.accept, src: s.src, dst: s.dst,
		tls: s.tls, sni: s.sni, alpn: s.alpn, tlsVersion: s.tlsVersion, cipher: s.cipher, tlsState: s.tlsState, hello: s.hello, keylog: s.keylog, verify: s.verify,
		handshakeDur: s.handshakeDur,
	}
}

// h2Registry tracks a runtime's HTTP/2 connections, so a reload can move
// each to the new runtime (or a stop send each a GOAWAY).
type h2Registry struct {
	mu      sync.Mutex
	retired bool
	conns   map[*h2conn]struct{}
}

func (r *h2Registry) add(c *h2conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.retired {
		return false
	}
	if r.conns == nil {
		r.conns = map[*h2conn]struct{}{}
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *h2Registry) remove(c *h2conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// shutdown retires every connection, now and any added later (add fails).
func (r *h2Registry) shutdown() {
	r.mu.Lock()
	r.retired = true
	conns := r.conns
	r.conns = nil
	r.mu.Unlock()
	for c := range conns {
		c.retire()
	}
}
