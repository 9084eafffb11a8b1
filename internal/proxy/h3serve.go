package proxy

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// ServeQUIC serves one QUIC connection of a quic4@/quic6@ bind as HTTP/3
// until it ends; done runs once then. Each request stream is a
// transaction of its own, entering the pipeline where an HTTP/2 stream
// does (session.serveStream): the same rules, identity, routing, logs and
// counters. A reload moves the connection as it moves an HTTP/2 one
// (h2conn): streams in flight finish on the configuration they started
// on, the next ones are served by the new one, and when nothing takes the
// bind over the connection gets a GOAWAY and ends once its streams have.
func (l *Listener) ServeQUIC(qc *quic.Conn, done func()) {
	fe := l.FE
	now := time.Now()
	fe.Counters.OpenSession(now)
	fe.Counters.ConnTot.Add(1)
	if lc := l.Counters; lc != nil {
		lc.OpenSession(now)
		lc.ConnTot.Add(1)
	}
	fe.Proc.ActConn.Add(1)
	nc := &quicNetConn{qc: qc}
	s := &session{fe: fe, lst: l, raw: nc, conn: nc, accept: now,
		src: udpAddrPort(qc.RemoteAddr()), dst: udpAddrPort(qc.LocalAddr())}
	if fe.Stick != nil {
		s.stick.Tables, s.stick.Current = fe.Stick.All, fe.Stick.Own
	}
	defer s.stick.Release()
	early := l.Bind != nil && l.Bind.Allow0RTT
	if !early {
		// Without allow-0rtt quic-go refuses early data; wait for the
		// handshake so the session's TLS fields are whole.
		select {
		case <-qc.HandshakeComplete():
		case <-qc.Context().Done():
			s.countErrReq()
			l.end(done)
			return
		}
		s.handshakeDur = time.Since(now)
	}
	st := qc.ConnectionState().TLS
	s.tls = true
	s.sni = st.ServerName
	s.alpn = st.NegotiatedProtocol
	s.tlsVersion = tlsconf.VersionName(st.Version)
	s.cipher = tlsconf.CipherName(st.CipherSuite)
	s.tlsState = &st
	s.verify = l.ClientVerify.Result(&st)
	if rej, drop := s.sessionRules(); rej {
		c := func(pc *counters.Proxy) {
			if drop {
				pc.DenyReq.Add(1)
			} else {
				pc.DenySess.Add(1)
			}
		}
		c(fe.Counters)
		if l.Counters != nil {
			c(l.Counters)
		}
		_ = qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeRequestRejected), "")
		l.end(done)
		return
	}
	s.stick.CountSession()
	s.follow() // accepted across a reload: start on the new runtime
	hc := &h2conn{}
	v := &h2view{s: s}
	v.refs.Store(1)
	hc.cur.Store(v)
	m := &h3mux{qc: qc}
	m.srv = &http3.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !m.begin() {
				// Closing under it: refused unprocessed, safe to retry.
				resetStream(w, http3.ErrCodeRequestRejected)
				return
			}
			defer m.end()
			m.serve(hc, w, r)
		}),
		MaxHeaderBytes: maxHeaderBytes(fe),
		IdleTimeout:    firstNonZero(fe.Timeouts.HTTPKeepAlive, fe.Timeouts.Client),
	}
	hc.c = m
	if !fe.Proc.h2conns.add(hc) {
		hc.retire() // a reload retired this runtime meanwhile
	}
	_ = m.srv.ServeQUICConn(qc)
	_ = qc.CloseWithError(0, "")
	hc.mu.Lock()
	hc.ended = true
	last := hc.cur.Load().s.lst
	hc.mu.Unlock()
	last.FE.Proc.h2conns.remove(hc)
	last.end(done)
}

// udpAddrPort is a's address, an IPv4 client on a dual-stack socket as
// IPv4 (as addrPort does for TCP).
func udpAddrPort(a net.Addr) netip.AddrPort {
	if ua, ok := a.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return addrPort(a)
}

func maxHeaderBytes(fe *Frontend) int {
	return max(fe.Limits.BufSize, 16<<10)
}

func firstNonZero(d ...time.Duration) time.Duration {
	for _, x := range d {
		if x != 0 {
			return x
		}
	}
	return 0
}

// serve runs one request stream. A request that arrived as early data
// (0-RTT, handshake not complete) is served only for a safe method, with
// Early-Data: 1 toward the server (RFC 8470 §5.1, as HAProxy adds it);
// others get 425 Too Early, which the client retries after the handshake.
func (m *h3mux) serve(hc *h2conn, w http.ResponseWriter, r *http.Request) {
	st, err := newH3Stream(w, r, m.qc, hc.cur.Load().s.fe.Timeouts.Client)
	if err != nil {
		// Malformed (RFC 9114 §4.1.2): a stream error, no transaction.
		hc.cur.Load().s.countErrReq()
		resetStream(w, http3.ErrCodeMessageError)
		return
	}
	// tune.http.maxhdr bounds the fields (Host from :authority included),
	// as on HTTP/1.1 and HTTP/2: more is a 400.
	max := hc.cur.Load().s.fe.Limits.MaxHeaders
	if max == 0 {
		max = http1.DefaultMaxHeaders
	}
	if len(st.req.Header) > max {
		hc.cur.Load().s.countErrReq()
		w.Header()["Date"] = nil
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if inEarlyData(m.qc) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			if !st.req.Header.Has("early-data") {
				st.req.Header.Add("early-data", "1")
			}
		default:
			w.Header()["Date"] = nil
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusTooEarly)
			return
		}
	}
	hc.serveStream(st)
	if st.aborted.Load() {
		panic(http.ErrAbortHandler) // quic-go resets the stream both ways
	}
}

// resetStream ends a stream both ways with code, no response sent.
func resetStream(w http.ResponseWriter, code http3.ErrCode) {
	hs, ok := w.(http3.HTTPStreamer)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	str, err := hs.HTTPStream()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	str.CancelRead(quic.StreamErrorCode(code))
	str.CancelWrite(quic.StreamErrorCode(code))
}

// inEarlyData: the handshake has not completed, so what the connection
// carries may be a replay of the client's 0-RTT data.
func inEarlyData(qc *quic.Conn) bool {
	select {
	case <-qc.HandshakeComplete():
		return false
	default:
		return qc.ConnectionState().Used0RTT
	}
}

// h3CloseGrace is how long a GOAWAY'd connection with no request left is
// given to close itself before the server closes it.
const h3CloseGrace = 3 * time.Second

// h3mux is an HTTP/3 connection's server: Shutdown sends the GOAWAY and
// closes the connection once the streams in flight have ended.
type h3mux struct {
	qc  *quic.Conn
	srv *http3.Server

	mu       sync.Mutex
	inflight int
	closing  bool
	idle     chan struct{} // closed when closing and no stream is in flight
}

func (m *h3mux) begin() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing && m.inflight == 0 {
		return false // the connection is being closed under this stream
	}
	m.inflight++
	return true
}

func (m *h3mux) end() {
	m.mu.Lock()
	m.inflight--
	if m.closing && m.inflight == 0 {
		close(m.idle)
	}
	m.mu.Unlock()
}

// Shutdown implements h2conn's GOAWAY for HTTP/3: no new stream is
// accepted (quic-go rejects them with H3_REQUEST_REJECTED, which clients
// retry), those in flight finish, then the connection closes (the client
// closes it, or the server after h3CloseGrace).
func (m *h3mux) Shutdown() {
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return
	}
	m.closing = true
	m.idle = make(chan struct{})
	if m.inflight == 0 {
		close(m.idle)
	}
	idle := m.idle
	m.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-idle
		// The last responses may still be in flight (a handler returns
		// once its data is queued, not acknowledged): a client closes the
		// connection itself after a GOAWAY once its requests are done;
		// one that does not is closed after the grace.
		select {
		case <-m.qc.Context().Done():
		case <-time.After(h3CloseGrace):
		}
		cancel()
	}()
	go func() {
		_ = m.srv.Shutdown(ctx)
		cancel()
	}()
}

// quicNetConn stands for a QUIC connection where the session keeps its
// client connection: addresses, and Close for the rules that end it. The
// streams carry the data.
type quicNetConn struct{ qc *quic.Conn }

func (c *quicNetConn) Read([]byte) (int, error)         { return 0, net.ErrClosed }
func (c *quicNetConn) Write([]byte) (int, error)        { return 0, net.ErrClosed }
func (c *quicNetConn) Close() error                     { return c.qc.CloseWithError(0, "") }
func (c *quicNetConn) LocalAddr() net.Addr              { return c.qc.LocalAddr() }
func (c *quicNetConn) RemoteAddr() net.Addr             { return c.qc.RemoteAddr() }
func (c *quicNetConn) SetDeadline(time.Time) error      { return nil }
func (c *quicNetConn) SetReadDeadline(time.Time) error  { return nil }
func (c *quicNetConn) SetWriteDeadline(time.Time) error { return nil }
