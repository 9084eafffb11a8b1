package proxy

import (
	"errors"
	"sync/atomic"
	"time"
)

// Hand-over. A reload is in-process: the listening sockets stay open and
// only the configuration behind them changes. A connection the retired
// configuration accepted is therefore never closed for the reload's sake
// (HAProxy's soft-stop promise: what was accepted gets its answers):
//
//   - a request in flight, or a head partly read, finishes on the retired
//     configuration;
//   - a connection waiting for its first or next request, parked or not,
//     moves to the listener that now serves its socket (Socket) and is
//     served by the new configuration. Closing an idle keep-alive
//     connection instead races the client's next request, which then
//     fails (a reset, or an empty answer);
//   - with nothing to move to (a stop, or a bind the new configuration
//     dropped or changed), an idle keep-alive connection closes, a new one
//     is served its first request by the retired configuration, and every
//     answer says "Connection: close".
//
// HTTP/2 connections move too, stream by stream (h2serve.go).

// Socket is what the listeners of every configuration that served one
// listening socket share: the one serving it now. A retired listener's
// connections look it up here rather than through a chain of the
// listeners in between, so a long-lived connection keeps only its own
// configuration and the current one reachable, however many reloads
// happened meanwhile.
type Socket struct{ cur atomic.Pointer[Listener] }

// Serve makes l the listener of the socket (nil: none, the socket closes)
// and attaches l to it. A reload calls it before it retires the previous
// runtime, so a connection that finds its runtime stale also finds where
// to go.
func (s *Socket) Serve(l *Listener) {
	if l != nil {
		l.sock.Store(s)
	}
	s.cur.Store(l)
}

// successor is the listener now serving l's socket when it can take l's
// connections as they are (alike in TLS, PROXY protocol and protocol);
// nil when there is none.
func (l *Listener) successor() *Listener {
	s := l.sock.Load()
	if s == nil {
		return nil
	}
	n := s.cur.Load()
	if n == nil || n == l || (n.TLS == nil) != (l.TLS == nil) {
		return nil
	}
	if (n.Bind == nil) != (l.Bind == nil) || n.Bind != nil &&
		(n.Bind.AcceptProxy != l.Bind.AcceptProxy || n.Bind.Proto != l.Bind.Proto) {
		return nil
	}
	return n
}

// retiring: the runtime was replaced and nothing takes this listener's
// connections over, so each must close after its current request.
func (l *Listener) retiring() bool {
	return l.FE.Proc.Stale.Load() && (l.FE.Proc.stopping.Load() || l.successor() == nil)
}

// moveTo transfers one connection's accounting from l to next; the
// accept loop's release (maxconn slots, the stop's wait group) stays with
// the connection.
func (l *Listener) moveTo(next *Listener) {
	l.FE.Proc.ActConn.Add(-1)
	l.FE.Counters.CloseSession()
	next.FE.Proc.ActConn.Add(1)
	next.FE.Counters.OpenSession(time.Now())
	if l.Counters != nil {
		l.Counters.CloseSession()
	}
	if next.Counters != nil {
		next.Counters.OpenSession(time.Now())
	}
}

// Stop retires the runtime for good (no successor): idle connections close
// at once, new ones that have not sent anything too, as HAProxy's soft
// stop closes them; requests in flight finish.
func (p *Process) Stop() {
	p.stopping.Store(true)
	p.Retire()
}

// handover moves s, waiting between requests on a retired runtime, to its
// listener's successor; false when there is none. It is called only
// between requests: the transaction must begin again afterwards.
func (s *session) handover() bool {
	for s.fe.Proc.Stale.Load() {
		s.fe.Proc.unregister(s)
		if !s.follow() {
			return false
		}
		// Retired meanwhile (reloads in a row): Retire may have missed it.
		s.fe.Proc.register(s)
	}
	return true
}

// follow moves s from its retired listener to the newest successor;
// false when there is none.
func (s *session) follow() bool {
	for s.fe.Proc.Stale.Load() {
		next := s.lst.successor()
		if next == nil || s.fe.Proc.stopping.Load() {
			return false
		}
		s.lst.moveTo(next)
		s.lst, s.fe = next, next.FE
		s.out.idle = next.FE.Timeouts.Client
		if s.parkAfter > 0 {
			s.parkAfter = next.FE.Proc.parkAfter()
		}
	}
	return true
}

// handover moves a parked connection of a retired runtime to its
// listener's successor, parked there, or closes it when there is none.
func (r *parked) handover() {
	for {
		next := r.lst.successor()
		if next == nil || r.lst.FE.Proc.stopping.Load() {
			r.end()
			return
		}
		r.lst.moveTo(next)
		r.lst = next
		err := next.FE.Proc.park(r)
		switch {
		case err == nil:
			return
		case errors.Is(err, errRetired):
			// next was retired too: on to its successor.
		default:
			// Parking is not possible: wait in a goroutine.
			go next.resumeWith(r, 0)
			return
		}
	}
}
