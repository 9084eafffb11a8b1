package proxy

import (
	"crypto/tls"
	"errors"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/sock"
	"github.com/gatehouse/gatehouse/internal/stick"
)

// session is one client connection. It and its transaction are pooled:
// a keep-alive connection reuses them for every request.
type session struct {
	fe   *Frontend
	lst  *Listener
	raw  net.Conn // the TCP connection
	conn net.Conn // raw, or the TLS connection over it

	accept       time.Time
	src, dst     netip.AddrPort
	tls          bool
	sni, alpn    string
	tlsVersion   string
	cipher       string
	tlsState     *tls.ConnectionState // for the ssl_c_* and ssl_fc_* fetches
	hello        *tlsconf.Hello       // ssl_fc_cipherlist_* and co., with tune.ssl.capture-buffer-size
	keylog       *tlsconf.KeyLog      // ssl_fc_*_secret, ssl_fc_*_random, with tune.ssl.keylog
	verify       tlsconf.VerifyResult // ssl_c_verify, ssl_c_err, ssl_c_ca_err
	handshakeDur time.Duration

	br  *http1.Reader
	bw  *http1.Writer
	in  timedReader // under br: client timeout while a body streams
	out timedWriter // under bw: client timeout, bytes sent to the client
	// first receives the start of the next request while the connection
	// holds no buffer (see waitRequest); most requests fit whole. It and
	// tx are HTTP/1's: apart from the session (4.2 KiB with them inline),
	// an HTTP/2 connection, which holds its session while it lives, gives
	// tx back and never takes first (serveH2; bench/run.sh idle_h2).
	first *[1024]byte
	tx    *Txn
	// requests served on this connection, for %rt/ idle timers
	nreq     int
	lastDone time.Time
	// parkAfter: wait this long for the next request, then park (park.go);
	// 0: never park. kaDeadline: the keep-alive deadline a parked
	// connection keeps.
	parkAfter  time.Duration
	kaDeadline time.Time
	resumed    bool // a parked connection's first wait after resuming
	wired      bool // wire ran in this serve
	// orphan: its runtime retired with nothing to move it to, but it has
	// not had its first request (or has one buffered): served as it is.
	orphan bool

	// waitMu guards waiting (between requests: a reload wakes it) and
	// woken (a reload moved its read deadline); per session, so marking
	// each wait costs an uncontended lock, not a process-wide one.
	waitMu  sync.Mutex
	waiting bool
	woken   bool

	// vars: the connection's sess variables; a connection holding some
	// is not parked (the parked record does not keep them).
	vars acl.SharedVars
	// stick: what the connection tracks (tcp-request connection and
	// session rules, connstick.go); its requests inherit it.
	stick stick.Stream
	// priv: its private server connections (http-reuse never); a
	// connection holding some is not parked.
	priv privateConns

	live liveStream // the request in progress, for "show sess"
	// An HTTP/2 connection's streams in progress, for "show sess".
	h2mu   sync.Mutex
	h2live map[*liveStream]struct{}
}

// wire moves a plain connection that stays for another request onto a
// sock.Conn (see sock.Wrap): one that carries a single request and goes
// idle, parked, never pays for one (bench/run.sh idle: ~250 bytes per
// connection plus the heap's headroom over them).
func (s *session) wire() {
	s.wired = true
	tc, ok := s.raw.(*net.TCPConn)
	if !ok || s.conn != s.raw {
		return
	}
	w := sock.Wrap(tc)
	s.raw, s.conn = w, w
	s.in.c, s.out.c = w, w
}

// idle marks s as waiting for its next request; false if the runtime is
// already retired, in which case the connection moves on (handover.go).
func (s *session) idle() bool {
	s.waitMu.Lock()
	s.waiting = true
	s.waitMu.Unlock()
	return !s.fe.Proc.Stale.Load()
}

// busy ends the wait. A reload's wake-up moved the read deadline behind
// timedReader's back: the next read re-arms it.
func (s *session) busy() {
	s.waitMu.Lock()
	s.waiting = false
	woken := s.woken
	s.woken = false
	s.waitMu.Unlock()
	if woken {
		s.in.until = -1
	}
}

// wake ends a wait for the next request at once (Retire): a past deadline
// lets the session move to the new runtime, or end cleanly and log
// nothing, rather than racing a Close. A head partly read is not a wait:
// it finishes first.
func (s *session) wake() {
	s.waitMu.Lock()
	if s.waiting {
		s.woken = true
		_ = s.conn.SetReadDeadline(time.Unix(1, 0))
	}
	s.waitMu.Unlock()
}

var sessionPool = sync.Pool{New: func() any { return new(session) }}

func getSession() *session {
	s := sessionPool.Get().(*session)
	if s.tx == nil {
		s.tx = new(Txn)
	}
	return s
}

func putSession(s *session) {
	if s.br != nil {
		s.br.Release()
	}
	if s.bw != nil {
		s.bw.Release()
	}
	br, bw, first := s.br, s.bw, s.first
	tx := s.tx
	if tx != nil {
		tx.reset()
	}
	s.stick.Release() // the connection's tracking ends with it
	s.vars.End()      // its sess variables give back their tune.vars bytes
	s.priv.release()  // and its private server connections (http-reuse never)
	*s = session{br: br, bw: bw, first: first, tx: tx}
	sessionPool.Put(s)
}

// serve reads and answers requests until the connection must close, or
// must be parked (true).
func (s *session) serve() (park bool) {
	fe := s.fe
	fe.Proc.register(s)
	defer func() { s.fe.Proc.unregister(s) }() // s.fe changes at a hand-over
	s.in = timedReader{c: s.conn, clk: &s.tx.clk}
	s.out = timedWriter{c: s.conn, idle: fe.Timeouts.Client, clk: &s.tx.clk}
	if s.br == nil {
		s.br = http1.NewReader(&s.in, fe.Limits)
		s.bw = http1.NewWriter(&s.out, fe.Limits.BufSize)
	} else {
		s.br.Reset(&s.in)
		s.bw.Reset(&s.out)
	}
	s.bw.CaseAdjust = fe.CaseAdjust
	for {
		t := s.tx
		t.begin(s)
		// HTTP/1: the stamp is spent wherever the transaction may wait.
		t.stick.Clock = &t.clk.mono
		switch s.readRequest(t) {
		case readClose:
			return false
		case readPark:
			return true
		case readAgain:
			continue
		}
		t.live = &s.live
		s.live.start(s.fe, t.tHead)
		keep := t.handle()
		s.live.end()
		done := t.markDone()
		// The log reads the connection's timers as they were during the
		// request (%Tt from the accept, or from the previous response).
		t.finish()
		s.nreq++
		s.lastDone = done
		if !s.wired {
			s.wire()
		}
		if !keep {
			return false
		}
	}
}

type readResult uint8

const (
	readOK    readResult = iota // a request head was read
	readClose                   // the connection must close
	readPark                    // nothing came within parkAfter: park it
	readAgain                   // a reload moved the session: begin again
)

// readRequest reads the next request head with HAProxy's timers: the
// keep-alive timeout while waiting for a new request on a used connection,
// then http-request (or client) for the whole head.
func (s *session) readRequest(t *Txn) readResult {
	if s.fe.Proc.Stale.Load() && !s.orphan {
		if s.handover() {
			return readAgain
		}
		// Nothing took the connection over: an idle keep-alive one closes,
		// as does a new one at a stop; otherwise what it sends is served.
		if s.br.Buffered() == 0 && (s.nreq > 0 || s.fe.Proc.stopping.Load()) {
			return readClose
		}
		s.orphan = true
	}
	fe := s.fe
	idle := fe.Timeouts.HTTPRequest
	if s.nreq > 0 && fe.Timeouts.HTTPKeepAlive > 0 {
		idle = fe.Timeouts.HTTPKeepAlive
	}
	if idle == 0 {
		idle = fe.Timeouts.Client
	}
	// The keep-alive wait counts from the end of the previous response,
	// which a resumed parked connection keeps; a new connection's from now.
	// The park wait counts from now: the previous response just ended,
	// unless the connection was parked and resumed.
	from, now := s.lastDone, s.lastDone
	// The client is still reading our last response: let the other
	// connections go first (see awaitAnswer). A resumed connection
	// has bytes waiting, and a new one nothing to answer.
	answered := s.nreq > 0 && !s.resumed
	if s.nreq == 0 || s.resumed {
		now = clock.Now()
		s.resumed = false
	}
	if s.nreq == 0 {
		from = now
	}
	var deadline time.Time
	if idle > 0 {
		deadline = from.Add(idle)
	}
	// A used plain connection first waits only parkAfter, then parks.
	wait, parking, window := deadline, false, idle
	if s.parkAfter > 0 && s.nreq > 0 && s.vars.Len() == 0 && !s.tracking() && s.priv.empty() {
		if p := now.Add(s.parkAfter); deadline.IsZero() || p.Before(deadline) {
			wait, parking, window = p, true, s.parkAfter
		}
	}
	// The deadline armed for the previous wait usually still fits this
	// one (early by less than half the window): keep it, and resume the
	// wait if it fires early (readFirst). It is armed before the
	// connection is marked waiting, so a reload's wake-up is not undone.
	var waitMono int64
	if !wait.IsZero() {
		waitMono = clock.At(wait)
	}
	s.in.expect(waitMono, window/2)
	if !s.idle() && !s.orphan {
		s.busy()
		return readAgain
	}
	if s.br.Buffered() == 0 {
		// Between requests an idle connection holds no pooled buffer: it
		// waits with its own small array, then primes the reader.
		s.br.Release()
		s.bw.Release()
		if answered {
			awaitAnswer(s.raw)
		}
		n, err := s.readFirst(waitMono)
		s.busy() // a head partly read is not woken by a reload
		if n == 0 {
			if isTimeout(err) && s.fe.Proc.Stale.Load() && !s.orphan {
				return readAgain // a reload ended the wait: move on
			}
			if parking && isTimeout(err) {
				s.kaDeadline = deadline
				return readPark
			}
			if err == nil {
				err = io.ErrNoProgress
			}
			s.onReadError(t, err, false)
			return readClose
		}
		s.br.Prime(s.first[:n])
	} else {
		s.busy()
	}
	t.tRequest = t.readClock()
	if s.nreq > 0 {
		t.idle = t.tRequest.Sub(s.lastDone)
	} else {
		t.idle = t.tRequest.Sub(s.accept) - s.handshakeDur
	}
	// The head's own deadline is armed only if the head needs another read.
	var headLimit int64
	if hr := fe.Timeouts.HTTPRequest; hr > 0 {
		headLimit = clock.At(t.tRequest) + int64(hr)
	} else if c := fe.Timeouts.Client; c > 0 {
		headLimit = clock.At(t.tRequest) + int64(c)
	}
	s.in.absolute(headLimit)
	reads := s.in.reads
	err := s.br.ReadRequest(&t.Req)
	if err == nil && t.Req.Chunked {
		// Bad framing that came with the head is the request's own:
		// refused before anything is forwarded (HAProxy: 400 PR-- <BADREQ>).
		if err = s.br.CheckBufferedChunks(); err != nil {
			t.Req.Reset()
		}
	}
	if err != nil {
		// Whether the client had started a request decides between a
		// silent close and an error answer.
		s.onReadError(t, err, s.br.Buffered() > 0)
		return readClose
	}
	t.tHead = t.tRequest
	if s.in.reads != reads {
		t.tHead = t.readClock()
	}
	t.now = t.tHead
	// The body, if any, streams under timeout client.
	s.in.inactivity(fe.Timeouts.Client)
	return readOK
}

// readFirst reads the first bytes of the next request into s.first,
// resuming the wait when the connection's deadline, kept from an earlier
// wait, fired before waitMono (clock.Mono; 0: none). A reload's wake-up
// (Stale) ends the wait at once, except for an orphan (see readRequest).
func (s *session) readFirst(waitMono int64) (int, error) {
	if s.first == nil {
		s.first = new([1024]byte)
	}
	for {
		n, err := s.in.Read(s.first[:])
		if n > 0 || !isTimeout(err) || s.fe.Proc.Stale.Load() && !s.orphan {
			return n, err
		}
		if waitMono == 0 || clock.Mono() >= waitMono {
			return n, err
		}
		s.in.expect(waitMono, 0)
	}
}

// onReadError answers a request that could not be read: nothing for a
// clean close between requests, 408 for a timeout during a request, the
// codec's status (400, 413, 414, 431, 501, 505) for a malformed one.
func (s *session) onReadError(t *Txn, err error, started bool) {
	fe := s.fe
	var pe *http1.ProtocolError
	switch {
	case !started && fe.IgnoreProbes:
		// option http-ignore-probes: a browser's pre-connect that ends
		// (close, reset or timeout) before its first byte is not an error.
		return
	case errors.As(err, &pe):
		s.countErrReq()
		t.stickBadRequest(pe.Status)
		s.captureRequestError(pe.Msg)
		t.termState = [2]byte{'P', 'R'}
		t.tHead = t.readClock()
		t.sendError(pe.Status)
		t.logRejected()
	case isTimeout(err):
		if !started && s.nreq > 0 {
			return // keep-alive timeout: a normal end
		}
		// HAProxy's timeout counts the request, not an HTTP error.
		t.stick.CountRequest()
		if s.nreq == 0 && !started && fe.DontLogNull {
			s.countErrReq()
			return
		}
		s.countErrReq()
		t.termState = [2]byte{'c', 'R'}
		t.tHead = t.readClock()
		t.sendError(408)
		t.logRejected()
	case errors.Is(err, io.EOF):
		// Clean close before a request: normal for keep-alive; a
		// connection that never sent anything is logged unless dontlognull.
		if s.nreq == 0 && !fe.DontLogNull {
			// HAProxy logs such a connection as a 400 that never got a
			// request head (TR -1).
			t.termState = [2]byte{'C', 'R'}
			t.tRequest = time.Time{}
			t.status = 400
			s.countErrReq()
			t.stickBadRequest(400)
			t.logRejected()
		}
	case !started && s.nreq > 0:
		// A reset between requests ends an idle keep-alive connection
		// like a close: HAProxy logs nothing.
	default:
		// Truncated head or a reset: the client aborted.
		t.stickBadRequest(400)
		if !started && fe.DontLogNull {
			s.countErrReq()
			return
		}
		s.countErrReq()
		fe.Counters.CliAbort.Add(1)
		t.termState = [2]byte{'C', 'R'}
		t.status = 400
		t.logRejected()
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
