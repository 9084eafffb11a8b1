package proxy

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/stick"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// Txn is one HTTP transaction (request and response) on a client
// connection. Rules, services and identity work on it; it is reused for
// every request of a connection.
type Txn struct {
	Req  httpmsg.Request
	Resp httpmsg.Response

	sess *session
	acl  acl.Txn // cleared by begin, keeping its scratch buffers
	log  logging.Context

	// vars holds the txn, req and res variables and reaches the session's
	// and the runtime's; its storage is kept across transactions.
	vars acl.Vars

	arena []byte // strings built by rules live here until the txn ends
	// captured, respCapts: the capture slots' values; hints: the fields
	// of the 103 Early Hints answer adjacent early-hint rules are building.
	captured  []string
	respCapts []string
	hints     httpmsg.Headers

	txnState
}

// txnState is the part of a transaction that starts from zero on every
// request; reset clears it in one pass, in place.
type txnState struct {
	// down is the HTTP/2 stream the transaction answers; nil on HTTP/1.
	down clientStream
	// h2x is the exchange in progress with an HTTP/2 server, if any.
	h2x *h2Exchange
	// stick is the stick-table stage (track-sc counters); see stickstage.go.
	stick stick.Stream
	// comp is the compression stage; see compstage.go.
	comp compStage
	// cache is the HTTP cache stage; see cachestage.go.
	cache cacheStage
	// persist is the cookie persistence state; see persiststage.go.
	persist persistTxn
	// stickp holds the stick store rules' pending keys; stickpersist.go.
	stickp stickPersistTxn

	be  *Backend
	srv *upstream.Server
	// live publishes the request in progress to "show sess": its
	// HTTP/1 session's; nil for an HTTP/2 stream.
	live *liveStream
	// hold lets on-marked-down / on-marked-up cut the stream (sesskill.go).
	hold *srvHold

	reply      *Reply
	termState  [2]byte
	status     int
	denied     bool
	deniedResp bool
	retries    int
	redispatch bool
	closeAfter bool // close the client connection after this transaction
	noLog      bool // a monitor-uri request: HAProxy never logs those
	noAfter    bool // an answer to an unparsed request: no http-after-response
	// logLevel: set-log-level's choice, a logging.Level plus one; -1
	// silent; 0 none (the usual level).
	logLevel int8
	// serverTO, tunnelTO: set-timeout's values; 0: the backend's.
	serverTO, tunnelTO time.Duration
	bodyTaken          bool // a local service consumed the request body
	bodyUnsent         bool // the server answered an Expect: 100-continue without 100
	teTrailers         bool // the client accepts trailers ("TE: trailers"; gRPC needs it forwarded)
	// idHeader, idSend, traceparent: the request ids assignRequestIDs
	// chose, written for the server after the rules (sendRequestIDs).
	idHeader, traceparent string
	idSend                bool
	// kill: a reject or silent-drop rule ends the connection instead of
	// answering; tarpit: the answer waits "timeout tarpit" first.
	kill   killMode
	tarpit bool
	body   bodyWait // the request body waited for (bodywait.go)

	// Timers (HAProxy's): accept, first byte of request, end of head,
	// queue, connect, response head, end.
	tRequest time.Time
	tHead    time.Time
	tw, tc   time.Duration
	tr       time.Duration
	tDone    time.Time
	idle     time.Duration
	// now is the last clock reading, taken where a wait ended (head read,
	// queue, connect, response head); what happens between waits is CPU
	// work and uses it rather than reading the clock again.
	now time.Time
	// clk is the same reading as a stamp for the timed readers and writers
	// of the transaction's connections, and tells when it went stale.
	clk      stamp
	bytesIn  int64 // request bytes from the client (head + body)
	bytesOut int64 // response bytes to the client
	logged   bool  // the access log line is out ("option logasap")
	// contIn, contOut: bytes "option contstats" already counted.
	contIn, contOut int64 // atomic: a tunnel counts from two goroutines

	// Ext carries per-request state of extensions (identity).
	Ext any
}

// Frontend returns the frontend serving the transaction.
func (t *Txn) Frontend() *Frontend { return t.sess.fe }

// Sample returns the transaction as acl fetches see it.
func (t *Txn) Sample() *acl.Txn { return &t.acl }

// ClientTLS reports whether the client connection is TLS.
func (t *Txn) ClientTLS() bool { return t.sess.tls }

// begin prepares the transaction for the next request on s.
func (t *Txn) begin(s *session) {
	t.reset()
	t.log.Reset()
	t.sess = s
	// Field by field into the cleared sample: a literal is built in a
	// temporary and copied, and would drop the scratch buffers.
	a := &t.acl
	a.Clear()
	a.Captured, a.Body, a.Stream = t, t, t
	a.Req = &t.Req
	a.Src, a.Dst, a.ConnSrc, a.ConnDst = s.src, s.dst, s.src, s.dst
	a.NotFirst = s.nreq > 0
	a.TLS, a.SNI, a.ALPN, a.TLSVersion, a.TLSState = s.tls, s.sni, s.alpn, s.tlsVersion, s.tlsState
	a.ClientVerify, a.ClientCrtErr, a.ClientCAErr = s.verify.Verify, s.verify.CrtErr, s.verify.CAErr
	a.ClientCertVerified = s.verify.Verified
	a.Hello, a.KeyLog = s.hello, s.keylog
	a.Frontend = s.fe.Name
	a.UsableServers, a.Proxies = s.fe.UsableServers, s.fe.Proxies
	t.log.Txn = &t.acl
	t.vars.Proc, t.vars.Sess = s.fe.Proc.Vars, &s.vars
	t.acl.Vars = &t.vars
	t.stickBegin(s.fe)
	t.termState = [2]byte{'-', '-'}
}

// reset clears the transaction, keeping its buffers.
func (t *Txn) reset() {
	t.stickEnd()
	t.cacheEnd()
	t.Req.Reset()
	t.Resp.Reset()
	t.vars.Reset()
	t.sess = nil
	t.arena, t.captured, t.respCapts, t.hints = t.arena[:0], t.captured[:0], t.respCapts[:0], t.hints[:0]
	// In place: the composite literal this was (Txn{Req: t.Req, ...})
	// was built in a 2.7 kB stack temporary and copied over, two passes
	// on every request. acl and log are cleared by begin.
	t.txnState = txnState{}
}

// readClock reads the clock where a wait ended.
func (t *Txn) readClock() time.Time {
	now := clock.Now()
	t.clk.set(clock.At(now))
	return now
}

// markDone stamps the end of the transaction once and returns it: the
// last clock reading if nothing could have waited since (the response
// went out without waiting for room), else a new one. An HTTP/2 stream's
// response goes out under flow control, outside the timed writer.
func (t *Txn) markDone() time.Time {
	if t.tDone.IsZero() {
		if t.clk.mono != 0 && t.down == nil {
			t.tDone = clock.Time(t.clk.mono)
		} else {
			t.tDone = t.readClock()
		}
		t.now = t.tDone
	}
	return t.tDone
}

// finish accounts for a completed transaction.
func (t *Txn) finish() {
	fe := t.sess.fe
	if t.status > 0 {
		fe.Counters.CountStatus(t.status)
	}
	// What "option contstats" counted already is not counted again.
	in, out := uint64(max(0, t.bytesIn-atomic.LoadInt64(&t.contIn))), uint64(max(0, t.bytesOut-atomic.LoadInt64(&t.contOut)))
	fe.Counters.BytesIn.Add(in)
	fe.Counters.BytesOut.Add(out)
	if lc := t.sess.lst.Counters; lc != nil {
		lc.BytesIn.Add(in)
		lc.BytesOut.Add(out)
	}
	// As HAProxy's stream counters: the request's bytes (head included)
	// and the answer's, the proxy's own error answers too, count on the
	// backend and on the server the request was last assigned to.
	if be := t.be; be != nil || fe.Self != nil {
		if be == nil {
			be = fe.Self
		}
		be.Counters.BytesIn.Add(in)
		be.Counters.BytesOut.Add(out)
	}
	if t.srv != nil {
		t.srv.Counters.BytesIn.Add(in)
		t.srv.Counters.BytesOut.Add(out)
	}
	if !t.noLog {
		t.emitLog()
	}
	t.stickDone()
}

// logRejected logs a request that never reached the rules (bad request,
// timeout) and accounts it.
func (t *Txn) logRejected() {
	// HAProxy counts such a request in req_tot as it does in ereq and
	// hrsp_4xx, an empty connection's "<BADREQ>" included.
	t.sess.fe.Counters.ReqTot.Add(1)
	if t.status > 0 {
		t.sess.fe.Counters.CountStatus(t.status)
	}
	t.sess.fe.Counters.BytesOut.Add(uint64(t.bytesOut))
	if lc := t.sess.lst.Counters; lc != nil {
		lc.BytesOut.Add(uint64(t.bytesOut))
	}
	// HAProxy 2.6 refuses such a head in its HTTP/1 layer, before a stream
	// exists: the line shows no request ("<BADREQ>", even when the request
	// line was read), no complete head (TR -1) and no bytes (%B 0).
	t.Req.Method = ""
	t.tHead = time.Time{}
	t.bytesOut = 0
	t.emitLog()
}

// Body returns a reader of the request body, for local services that
// consume it (the stats page's admin form). Reading it is the service's
// choice; an unread body is discarded or the connection closed.
func (t *Txn) Body() io.Reader {
	t.bodyTaken = true
	if t.down != nil {
		return t.down.Body()
	}
	return t.sess.br.Body(http1.RequestFraming(&t.Req))
}

// Reply answers the request locally (extension actions such as oidc-auth:
// a login redirect, a 401); the rule that calls it then reports replied.
func (t *Txn) Reply(r *Reply) {
	t.reply = r
	t.termState = [2]byte{'L', 'R'}
}
