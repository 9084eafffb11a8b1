package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/proxyproto"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// upConn is an upstream connection with its codec state, attached to the
// pooled upstream.Conn.
type upConn struct {
	c   *upstream.Conn
	br  *http1.Reader
	bw  *http1.Writer
	in  timedReader // timeout server, as inactivity
	out timedWriter
}

func (u *upConn) close() {
	u.c.Close()
	u.br.Release()
	u.bw.Release()
}

// failure classifies why one attempt failed, to pick the retry policy and
// the termination state.
type failure uint8

const (
	failNone        failure = iota
	failConnect             // could not connect (refused, timeout, TLS)
	failStaleReuse          // a reused idle connection was closed by the server before answering
	failEmpty               // the server closed without a byte of response
	failTimeout             // timeout server waiting for the response head
	failJunk                // the server closed in the middle of the response head
	failInvalid             // an invalid response head: the proxy refuses it (PH)
	failClientAbort         // the client went away while sending the request
	failClientTimeout
	failClientProto // the client's request body broke its framing (bad chunked)
	failSendBody    // error after part of the request body was sent
	failTarget      // the request-target cannot be sent to this server as it is
)

// forward sends the request to a server of t.be and relays the response,
// with retries and redispatch as configured. It returns false when the
// client connection must close.
func (t *Txn) forward() bool {
	defer t.releaseHold()
	t.vars.ToResponse() // the request leaves: req variables end (HAProxy)
	// Only requests whose body has not been consumed can be replayed: a
	// request without body, always.
	replayable := !t.Req.HasBody()
	if t.Req.Method == "CONNECT" && t.down != nil {
		return t.refuseConnect()
	}
	var exclude *upstream.Server
	var staleRetries int
	for attempt := 0; ; {
		srv, ok := t.pickServer(exclude)
		if !ok {
			if t.status == -1 {
				return false // the client left (option abortonclose): no answer
			}
			return t.sendReply()
		}
		if t.Req.Method == "CONNECT" && srv.H2 != nil {
			srv.Release()
			return t.refuseConnect()
		}
		uc, hc, reused, f := t.connect(srv)
		if f == failNone && t.be.SendNameHeader != "" {
			// Set once connected, as HAProxy's muxes write it: the
			// server's SNI never comes from it. A retry sets it again.
			t.Req.Header.Del(t.be.SendNameHeader)
			t.Req.Header.Add(t.be.SendNameHeader, srv.Name)
		}
		if f == failNone && hc != nil {
			f = t.exchangeH2(srv, hc, reused)
			if f == failNone {
				if t.retryOnStatus(attempt, replayable) {
					t.h2x.finish(t)
					srv.Release()
					t.Resp.Reset()
					attempt++
					exclude = t.noteRetry(srv, attempt, exclude)
					continue
				}
				return t.relayH2Response(srv)
			}
			t.h2x.finish(t)
			observeFailure(srv, f)
		} else if f == failNone {
			t.holdConn(uc.c)
			f = t.exchange(srv, uc, reused)
			if f == failNone {
				if t.retryOnStatus(attempt, replayable) {
					// retry-on STATUS: drop this answer and its connection.
					uc.close()
					srv.Release()
					t.Resp.Reset()
					attempt++
					exclude = t.noteRetry(srv, attempt, exclude)
					continue
				}
				return t.relayResponse(srv, uc)
			}
			uc.close()
			observeFailure(srv, f)
		}
		srv.Release()
		t.now = t.readClock() // the failed attempt may have waited long
		// A reused keep-alive connection that the gateway had just closed
		// is Istio's "503 UC" race: retry idempotent requests on a fresh
		// connection without counting it as a retry.
		if f == failStaleReuse && replayable && isIdempotent(t.Req.Method) && staleRetries < 3 {
			staleRetries++
			continue
		}
		if f == failClientProto {
			return t.badRequestBody()
		}
		if f == failClientAbort || f == failClientTimeout {
			return t.clientAborted(f)
		}
		if t.canRetry(f, attempt, replayable) {
			attempt++
			exclude = t.noteRetry(srv, attempt, exclude)
			continue
		}
		return t.failAnswer(f)
	}
}

// refuseConnect answers 501 to a CONNECT that would have to be tunnelled
// over HTTP/2, on either side: only HTTP/1.1 tunnels are implemented, and
// forwarding it as a plain request would leave the server's connection
// in tunnel mode. "http-request deny if METH_CONNECT" refuses them all.
func (t *Txn) refuseConnect() bool {
	t.termState = [2]byte{'P', 'R'}
	t.reply = t.errorReply(501)
	return t.sendReply()
}

// retryOnStatus applies "retry-on STATUS" to the response head in t.Resp.
func (t *Txn) retryOnStatus(attempt int, replayable bool) bool {
	be := t.be
	bit := retryStatus(t.Resp.Status)
	return bit != 0 && be.RetryOn&bit != 0 && replayable && attempt < be.Retries
}

// noteRetry counts a retry after a failure on srv and, with option
// redispatch, makes the retry go to another server: at once when nothing
// ties the request to srv (Farm.RedispatchNow), else on the last retry
// (HAProxy's default redispatch interval). It returns the server to avoid.
func (t *Txn) noteRetry(srv *Server, attempt int, exclude *upstream.Server) *upstream.Server {
	be := t.be
	t.retries++
	be.Counters.Retries.Add(1)
	srv.Counters.Retries.Add(1)
	// force-persist never redispatches; a request persistence tied to
	// its server moves at once only if that server is down.
	now := be.Farm.RedispatchNow(srv.Server)
	if t.persist.st.Direct {
		now = srv.Operational() == upstream.OpDown
	}
	if be.Redispatch && !t.persist.st.Force && len(be.Servers) > 1 && (upstream.RedispatchTurn(attempt, be.Retries, be.RedispatchAfter) || now) {
		t.persistRedispatch()
		t.redispatch = true
		be.Counters.Redisp.Add(1)
		srv.Counters.Redisp.Add(1)
		return srv.Server
	}
	return exclude
}

// canRetry applies retries/retry-on to one failed attempt.
func (t *Txn) canRetry(f failure, attempt int, replayable bool) bool {
	be := t.be
	if attempt >= be.Retries {
		return false
	}
	switch f {
	case failConnect:
		return be.RetryOn&RetryConnFailure != 0
	case failEmpty, failStaleReuse:
		return replayable && be.RetryOn&RetryEmptyResponse != 0
	case failTimeout:
		return replayable && be.RetryOn&RetryResponseTimeout != 0
	case failJunk, failInvalid:
		return replayable && be.RetryOn&RetryJunkResponse != 0
	}
	return false
}

// failAnswer produces the error response for a failed exchange. Like
// HAProxy, econ and eresp count the request once, when it fails for good,
// on the backend and on the server of the last attempt.
func (t *Txn) failAnswer(f failure) bool {
	be := t.be
	if f == failConnect {
		be.Counters.ErrConn.Add(1)
		if t.srv != nil {
			t.srv.Counters.ErrConn.Add(1)
		}
	} else if f != failTarget { // the client's target is no response error
		be.Counters.ErrResp.Add(1)
		if t.srv != nil {
			t.srv.Counters.ErrResp.Add(1)
		}
	}
	switch f {
	case failConnect:
		t.termState = [2]byte{'S', 'C'}
		t.reply = t.errorReply(503)
	case failTimeout:
		t.termState = [2]byte{'s', 'H'}
		t.reply = t.errorReply(504)
	case failEmpty, failStaleReuse, failJunk:
		t.termState = [2]byte{'S', 'H'}
		t.reply = t.errorReply(502)
	case failInvalid:
		// HAProxy: the proxy blocked an invalid response (PH), where a
		// server that stops mid-head aborted it (SH).
		t.termState = [2]byte{'P', 'H'}
		t.reply = t.errorReply(502)
	case failTarget:
		// The client's target, not the server: refused, never altered.
		t.termState = [2]byte{'P', 'R'}
		t.reply = t.errorReply(400)
	default:
		t.termState = [2]byte{'S', 'D'}
		t.reply = t.errorReply(502)
	}
	t.closeAfter = true
	return t.sendReply()
}

// badRequestBody answers a request whose body broke its framing after
// the head was forwarded: 400 and PR--, as HAProxy does while no byte of
// the response has gone out (it used to close without an answer). The
// server's connection is already closed: it holds half a request.
func (t *Txn) badRequestBody() bool {
	t.sess.countErrReq()
	t.termState = [2]byte{'P', 'R'}
	t.reply = t.errorReply(400)
	t.closeAfter = true
	return t.sendReply()
}

// clientBodyFailure classifies an error reading the client's request body.
func clientBodyFailure(err error) failure {
	var pe *http1.ProtocolError
	switch {
	case errors.As(err, &pe):
		return failClientProto
	case isTimeout(err):
		return failClientTimeout
	}
	return failClientAbort
}

func (t *Txn) clientAborted(f failure) bool {
	t.sess.fe.Counters.CliAbort.Add(1)
	if t.be != nil {
		t.be.Counters.CliAbort.Add(1)
	}
	if f == failClientTimeout {
		t.termState = [2]byte{'c', 'D'}
	} else {
		t.termState = [2]byte{'C', 'D'}
	}
	t.status = -1
	t.closeAfter = true
	return false
}

// pickServer chooses a server with a free slot, waiting in the backend's
// queue up to timeout queue when all are busy. On failure t.reply is set.
func (t *Txn) pickServer(exclude *upstream.Server) (*Server, bool) {
	be := t.be
	var us *upstream.Server
	target := t.persistTarget(exclude)
	if target == nil && be.PreferLast && exclude == nil {
		target = t.sess.priv.last(be) // reuse.go
		// max-keep-alive-queue: a full server with a queue that long is
		// given up for the balance (HAProxy's assign_server).
		if target != nil && be.MaxKAQueue > 0 && target.Full() && target.Queued()+1 >= be.MaxKAQueue {
			target = nil
		}
	}
	if target != nil {
		// A server persistence chose: its slot, or a wait for it alone.
		start := t.readClock()
		var err error
		us, err = t.waitServer(func(ctx context.Context) (*upstream.Server, error) { return be.Farm.AssignTo(ctx, target.Server) })
		t.now = t.readClock()
		t.tw += t.now.Sub(start)
		if errors.Is(err, upstream.ErrQueueFull) && be.Redispatch && !t.persist.st.Force {
			// Its queue is full: with option redispatch the request is
			// balanced instead, as HAProxy does for a direct one.
			t.persistRedispatch()
			us, err = nil, nil
		}
		if err != nil {
			return nil, t.noServer(err)
		}
	}
	key := t.balanceKey()
	if us == nil {
		us = be.Farm.TryAssign(key, exclude)
	}
	if us == nil {
		start := t.readClock()
		var err error
		us, err = t.waitServer(func(ctx context.Context) (*upstream.Server, error) { return be.Farm.Assign(ctx, key, exclude) })
		t.now = t.readClock()
		t.tw += t.now.Sub(start)
		if err != nil {
			return nil, t.noServer(err)
		}
	}
	srv := be.server(us)
	if t.srv != nil && us != t.srv {
		t.persistMoved()
	}
	if us != t.srv {
		// lbtot counts load-balancing choices; as in HAProxy, a retry
		// that lands on the server of the failed attempt is not one.
		us.Counters.LbTot.Add(1)
		be.Counters.LbTot.Add(1)
	}
	t.srv = us
	t.holdServer(us)
	t.live.setServer(us)
	t.acl.Server = us.Name
	us.Counters.OpenSession(t.now)
	us.Counters.ReqHistory.Tick(t.now)
	return srv, true
}

// noServer answers a request no server could take: 503, with HAProxy's
// termination state for "none usable" or "queue timeout".
func (t *Txn) noServer(err error) bool {
	if errors.Is(err, errQueueAbort) {
		// option abortonclose: the client left while queued; it gets
		// nothing and the log says CQ, as HAProxy's.
		t.clientAborted(failClientAbort)
		t.termState = [2]byte{'C', 'Q'}
		return false
	}
	if errors.Is(err, upstream.ErrNoServer) {
		// "backend X has no server available!" is logged once, by the
		// health checker, when the last server goes down.
		t.termState = [2]byte{'S', 'C'}
	} else {
		t.termState = [2]byte{'s', 'Q'}
	}
	t.reply = t.errorReply(503)
	t.closeAfter = t.closeAfter || t.Req.HasBody()
	return false
}

// errQueueAbort: the client closed its side while its request waited for
// a server, with option abortonclose.
var errQueueAbort = errors.New("client closed while queued")

// waitServer runs a wait for a server slot. With option abortonclose an
// HTTP/1 client's FIN ends the wait (errQueueAbort), as HAProxy drops a
// queued request whose client has closed; without it the request stays
// queued and is served, as HTTP wants.
func (t *Txn) waitServer(wait func(context.Context) (*upstream.Server, error)) (*upstream.Server, error) {
	if !t.be.AbortOnClose || t.down != nil {
		return wait(context.Background())
	}
	w := watchFIN(t.sess.raw)
	if w == nil {
		return wait(context.Background())
	}
	us, err := wait(w.ctx)
	closed := w.stop()
	t.sess.in.until = 0 // the watch cleared the read deadline: re-arm on the next read
	if err != nil && closed {
		return nil, errQueueAbort
	}
	return us, err
}

func (t *Txn) balanceKey() upstream.Key {
	k := upstream.Key{Src: t.acl.Src.Addr(), URI: t.Req.URI}
	if name := t.be.Farm.HashHeader(); name != "" {
		k.Hdr, _ = t.Req.Header.Get(name)
	}
	if e := t.be.HashExpr; e != nil {
		start := len(t.arena)
		var ok bool
		if t.arena, ok = e.AppendBinary(t.arena, &t.acl); ok {
			k.Sample, k.HasSample = unsafeString(t.arena[start:]), true
		}
	}
	return k
}

// connect returns a pooled connection matching the request's SNI or a new
// one: an HTTP/1 connection (uc), or a stream reserved on an HTTP/2 one
// (hc) for servers that speak it.
func (t *Txn) connect(srv *Server) (uc *upConn, hc *h2Conn, reused bool, f failure) {
	be := t.be
	key := upstream.PoolKey{ALPN: srv.ALPN}
	if srv.TLS != nil {
		key.SNI = t.upstreamSNI(srv)
		key.ClientCertID = srv.TLS.ClientCertID()
	}
	if srv.SendProxy != 0 {
		key.Client = t.acl.Src
	}
	// A server at 0.0.0.0 connects to the request's destination: its
	// connections are kept apart by that address.
	key.Dst = t.serverDst(srv)
	private := be.Reuse == config.ReuseNever // http-reuse never (reuse.go)
	if private {
		key.Owner = t.sess.priv.id()
	}
	if srv.H2 != nil && !private {
		if hc := srv.H2.take(key); hc != nil {
			t.noteServerConn(hc.raw, 2)
			return nil, hc, true, failNone
		}
	}
	// Only requests that cannot be replayed pay for the liveness probe:
	// the others are retried on a fresh connection if the server had
	// closed this one (see forward).
	probe := t.Req.HasBody() || !isIdempotent(t.Req.Method)
	if c := t.takeIdle(srv.Pool(), key, probe); c != nil {
		uc := c.Codec.(*upConn)
		uc.c = c
		uc.arm(c, t.serverTimeout(), probe, &t.clk)
		t.noteServerConn(c, 1)
		return uc, nil, true, failNone
	}
	start := t.readClock()
	ct := be.Timeouts.Connect
	if ct == 0 {
		ct = 5 * time.Second
	}
	var tlsConf *tls.Config
	if srv.TLS != nil {
		if srv.SNI != nil {
			tlsConf = srv.TLS.ForSNI(key.SNI)
		} else {
			// The SNI is the Host's, which HAProxy 2.6 does not send:
			// "verifyhost" still names the certificate.
			tlsConf = srv.TLS.ForAutoSNI(key.SNI)
		}
	}
	c, isH2, err := t.dial(srv, key, tlsConf, ct)
	t.now = t.readClock()
	t.tc += t.now.Sub(start)
	if err != nil {
		srv.Observe(upstream.OutcomeL4Err, 0)
		return nil, nil, false, failConnect
	}
	srv.Observe(upstream.OutcomeL4OK, 0)
	if isH2 {
		hc, err := srv.H2.adopt(key, c, private)
		if err != nil {
			return nil, nil, false, failConnect
		}
		t.noteServerConn(c, 2)
		return nil, hc, false, failNone
	}
	srv.Pool().Use(c)
	uc = &upConn{c: c}
	uc.br = http1.NewReader(&uc.in, t.sess.fe.Limits)
	uc.bw = http1.NewWriter(&uc.out, 0)
	uc.bw.CaseAdjust = t.be.CaseAdjust // option h1-case-adjust-bogus-server
	uc.arm(c, t.serverTimeout(), false, &t.clk)
	c.Codec = uc
	t.noteServerConn(c, 1)
	return uc, nil, false, failNone
}

// noteServerConn records the server connection's addresses and HTTP
// version for the bc_* fetches and the log's %bi and %bp.
func (t *Txn) noteServerConn(c *upstream.Conn, major int) {
	if c == nil || c.Raw == nil {
		return
	}
	t.acl.BcSrc, t.acl.BcDst = c.Addrs()
	t.acl.BcHTTPMajor = major
	t.acl.BcClientRandom, t.acl.BcServerRandom = c.ClientRandom, c.ServerRandom
}

// dial opens a connection to srv; isH2 reports that it speaks HTTP/2
// (ALPN chose h2, or "proto h2"). A server offered h2 that chose
// HTTP/1.1 is served on the HTTP/1 path.
func (t *Txn) dial(srv *Server, key upstream.PoolKey, tlsConf *tls.Config, timeout time.Duration) (c *upstream.Conn, isH2 bool, err error) {
	var preface []byte
	if srv.SendProxy != 0 {
		preface = t.proxyHeader(srv, key.SNI)
	}
	c, err = upstream.DialTo(context.Background(), srv.Server, key.Dst, key, tlsConf, timeout, preface)
	if err != nil {
		return nil, false, err
	}
	return c, srv.H2 != nil && (srv.H2.Prior || c.Proto == "h2"), nil
}

// upstreamSNI evaluates the server's "sni" expression, or takes the
// outgoing Host (without port) when none is set, as HAProxy 3.3 does: a
// gateway that routes on SNI is what breaks first in front of Istio.
func (t *Txn) upstreamSNI(srv *Server) string {
	if srv.SNI != nil {
		start := len(t.arena)
		var ok bool
		t.arena, ok = srv.SNI.AppendString(t.arena, &t.acl)
		if ok {
			return unsafeString(t.arena[start:])
		}
		t.arena = t.arena[:start]
		return ""
	}
	host, _ := t.Req.Header.Get("Host")
	return hostWithoutPort(host)
}

// exchange writes the request (head and body) and reads the response head.
func (t *Txn) exchange(srv *Server, uc *upConn, reused bool) failure {
	req := &t.Req
	// Sending is CPU work after the last wait (head, queue or connect):
	// the response wait counts from that reading.
	sentAt := t.now
	// What accept-invalid-http-request let in goes out as received; the
	// answer is read as this backend's accept-invalid-http-response says.
	uc.bw.AcceptInvalid = t.sess.fe.Limits.AcceptInvalid
	uc.br.SetAcceptInvalid(t.be.AcceptInvalidResp)
	if err := uc.bw.WriteRequestHead(req); err != nil {
		return failJunk
	}
	if req.Expect100 && req.HasBody() && t.down == nil {
		if f := t.exchangeExpect(uc, reused); f != failNone {
			return f
		}
	} else {
		if req.HasBody() {
			if f := t.sendBody(uc, reused); f != failNone {
				return f
			}
		}
		if uc.br.Buffered() == 0 {
			// The head's first read is a recv on the connection: it
			// sends what the flush leaves (holdForAnswer).
			holdForAnswer(uc.c.Wire)
		}
		if err := uc.bw.Flush(); err != nil {
			return staleOr(reused, failEmpty)
		}
		awaitAnswer(uc.c.Wire)
		if f := t.readResponseHead(uc, reused); f != failNone {
			return f
		}
	}
	t.now = t.readClock()
	t.tr = t.now.Sub(sentAt)
	return failNone
}

// holdForAnswer has the connection under c (a sock.Conn) keep what the
// request's last flush writes and send it from inside the read that waits
// for the response (sock.Conn.HoldForAnswer): that read then waits at once
// instead of first trying a recv that cannot succeed yet (bench/profile.md).
// A reused connection the server had closed still fails at once, or within
// the Conn's check of such waits, and is retried on a new one.
func holdForAnswer(c net.Conn) {
	if h, ok := c.(interface{ HoldForAnswer() }); ok {
		h.HoldForAnswer()
	}
}

// sendBody copies the request body to the server.
func (t *Txn) sendBody(uc *upConn, reused bool) failure {
	req := &t.Req
	var n int64
	var rerr, werr error
	fe := t.sess.fe
	if t.down != nil {
		n, rerr, werr = copyStreamBody(uc.bw, t.down, req.Chunked, fe.sanitizeTrailers)
	} else {
		// What has arrived goes on whenever the client pauses, as with
		// HAProxy: a server may answer (or fail the framing) on a part.
		n, rerr, werr = t.sess.br.CopyBody(uc.bw, http1.RequestFraming(req), http1.CopyOptions{Flush: true, Trailer: fe.sanitizeTrailers})
	}
	t.bytesIn += n
	if rerr != nil {
		return clientBodyFailure(rerr)
	}
	if werr != nil {
		if n == 0 {
			return staleOr(reused, failEmpty)
		}
		return failSendBody
	}
	return failNone
}

func staleOr(reused bool, f failure) failure {
	if reused {
		return failStaleReuse
	}
	return f
}

// readResponseHead reads the next response head, relaying interim 1xx
// responses (100 Continue, 103 Early Hints) to the client.
func (t *Txn) readResponseHead(uc *upConn, reused bool) failure {
	for {
		err := uc.br.ReadResponse(&t.Resp, t.Req.Method)
		if err != nil {
			switch {
			case isTimeout(err):
				return failTimeout
			case errors.Is(err, io.EOF):
				return staleOr(reused, failEmpty)
			case errors.Is(err, io.ErrUnexpectedEOF):
				return failJunk
			}
			var pe *http1.ProtocolError
			if errors.As(err, &pe) {
				t.captureResponseError(uc, pe.Msg)
				return failInvalid
			}
			return staleOr(reused, failEmpty)
		}
		if t.Resp.Status >= 200 || t.Resp.Status == 101 {
			if t.Resp.Chunked && !t.Resp.NoBody {
				// Bad framing that came with the head: 502 before a byte
				// goes out, as HAProxy (it was a 200 cut short).
				if err := uc.br.CheckBufferedChunks(); err != nil {
					t.captureResponseError(uc, err.(*http1.ProtocolError).Msg)
					return failInvalid
				}
			}
			return failNone
		}
		_ = t.writeInterim()
		t.Resp.Reset()
	}
}

// writeInterim relays a 1xx response to the client.
// sendHints writes the 103 Early Hints answer early-hint rules built; a
// client that went away is the final answer's business.
func (t *Txn) sendHints() {
	resp := httpmsg.Response{Status: 103, Reason: "Early Hints", Proto: "HTTP/1.1", Major: 1, Minor: 1, Header: t.hints, NoBody: true}
	t.hints = t.hints[:0]
	if t.down != nil {
		if t.down.WriteHead(&resp, false) == nil {
			_ = t.down.Flush()
		}
		return
	}
	bw := t.sess.bw
	before := t.sess.out.n
	_ = bw.WriteResponseHead(&resp)
	_ = bw.Flush()
	t.bytesOut += t.sess.out.n - before
}

func (t *Txn) writeInterim() error {
	if t.down != nil {
		if err := t.down.WriteHead(&t.Resp, false); err != nil {
			return err
		}
		return t.down.Flush()
	}
	bw := t.sess.bw
	before := t.sess.out.n
	_ = bw.WriteResponseHead(&t.Resp)
	err := bw.Flush()
	t.bytesOut += t.sess.out.n - before
	return err
}

// observeFailure reports a failed exchange to passive health checking
// ("observe layer7"). A stale pooled connection is the pool's business,
// not the server's health.
func observeFailure(srv *Server, f failure) {
	switch f {
	case failTimeout:
		srv.Observe(upstream.OutcomeReadTimeout, 0)
	case failEmpty, failSendBody:
		srv.Observe(upstream.OutcomeBrokenPipe, 0)
	case failJunk, failInvalid:
		srv.Observe(upstream.OutcomeHTTPInvalid, 0)
	}
}

// proxyHeader is the PROXY protocol header for a send-proxy server: the
// client's address (itself from a PROXY header when the bind has
// accept-proxy), so the mesh sees who connected.
func (t *Txn) proxyHeader(srv *Server, sni string) []byte {
	s := t.sess
	src, dst := t.acl.Src, t.acl.Dst // as set-src and set-dst left them
	if srv.SendProxy == 1 {
		return proxyproto.AppendV1(nil, src, dst)
	}
	o := srv.ProxyV2
	if o.Authority {
		o.AuthorityValue = sni
	}
	if o.SSL && s.tls {
		o.ClientTLS, o.TLSVersion = true, s.tlsVersion
	}
	o.ALPN = s.alpn
	if o.UniqueID {
		o.UniqueIDValue = t.acl.UniqueID
	}
	return proxyproto.AppendV2(nil, src, dst, &o)
}

// arm points the connection's codec at c with timeout server as the
// inactivity bound for both directions.
// A reused connection keeps the deadlines it holds (they still fit the
// window most of the time) unless probed: the liveness probe of a TLS
// connection moves its read deadline.
func (u *upConn) arm(c *upstream.Conn, idle time.Duration, probed bool, clk *stamp) {
	// The codec talks to the connection itself (*net.TCPConn or
	// *tls.Conn), so vectored writes reach writev.
	if u.in.c != c.Conn || probed {
		u.in = timedReader{c: c.Conn}
		u.out = timedWriter{c: c.Conn}
	}
	u.in.clk, u.out.clk = clk, clk
	u.in.inactivity(idle)
	u.out.idle = idle
	u.br.Reset(&u.in)
	u.bw.Reset(&u.out)
}
