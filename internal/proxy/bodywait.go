package proxy

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// bodyWait is the transaction's part in HAProxy's http_wait_for_msg_body
// ("option http-buffer-request", "http-request wait-for-body"): the start
// of the request body, buffered without being consumed, for req.body and
// its kin. The body is then forwarded as usual, from its first byte.
type bodyWait struct {
	data     []byte
	complete bool
	waited   bool // data holds what a wait found
}

// waitBody waits for the request body: all of it, a full buffer or
// atLeast bytes (0: no such bound), until the deadline (clock.Mono; 0:
// none). A deadline that passes first is a client timeout answered 408
// (cR), for the option and wait-for-body alike, as HAProxy 2.6 does. It
// reports false when the transaction ended.
func (t *Txn) waitBody(atLeast int64, deadline int64) bool {
	req := &t.Req
	if !req.HasBody() || t.body.waited && t.body.complete {
		return true
	}
	want := t.sess.fe.Limits.BufSize
	if want <= 0 {
		want = http1.DefaultBufSize
	}
	if atLeast > 0 && atLeast < int64(want) {
		want = int(atLeast)
	}
	if req.Expect100 {
		// The client waits for a 100 before it sends: the proxy gives it,
		// and the server is not asked again (HAProxy removes the field).
		if !t.send100() {
			return false
		}
		req.Expect100 = false
		req.Header.Del("Expect")
	}
	var err error
	if t.down != nil {
		until := time.Now().Add(24 * time.Hour) // no timeout: the buffer or the body's end
		if deadline != 0 {
			until = clock.Time(deadline)
		}
		t.body.data, t.body.complete, err = t.down.(interface {
			PeekBody(int, time.Time) ([]byte, bool, error)
		}).PeekBody(want, until)
	} else {
		s := t.sess
		s.in.absolute(deadline)
		t.body.data, t.body.complete, err = s.br.PeekBody(http1.RequestFraming(req), want, true)
		s.in.inactivity(s.fe.Timeouts.Client)
	}
	t.body.waited = true
	t.now = t.readClock()
	switch {
	case err != nil && isTimeout(err):
		t.sess.countErrReq()
		t.termState = [2]byte{'c', 'R'}
		t.sendError(408)
		return false
	case err != nil:
		// The client went away or broke the framing: it ends here, as
		// when the body is forwarded.
		t.termState = [2]byte{'C', 'R'}
		t.status = -1
		t.closeAfter = true
		return false
	}
	return true
}

// waitBodyOption runs "option http-buffer-request": the wait is bounded
// by timeout http-request from the request's start (timeout client when
// unset), as HAProxy applies it to the body then.
func (t *Txn) waitBodyOption() bool {
	to := t.sess.fe.Timeouts
	var deadline int64
	if to.HTTPRequest > 0 {
		deadline = clock.At(t.tRequest) + int64(to.HTTPRequest)
	} else if to.Client > 0 {
		deadline = clock.Mono() + int64(to.Client)
	}
	return t.waitBody(0, deadline)
}

// AvailableBody is the request body the rules can see (acl.BodySource):
// what a wait buffered, else what has arrived with the head.
func (t *Txn) AvailableBody() ([]byte, bool) {
	if t.body.waited {
		return t.body.data, t.body.complete
	}
	if !t.Req.HasBody() {
		return nil, true
	}
	if t.down != nil {
		data, complete, _ := t.down.(interface {
			PeekBody(int, time.Time) ([]byte, bool, error)
		}).PeekBody(0, time.Time{})
		return data, complete
	}
	data, complete, _ := t.sess.br.PeekBody(http1.RequestFraming(&t.Req), 0, false)
	return data, complete
}

// send100 answers an "Expect: 100-continue" itself, as HAProxy does when
// it waits for the body. It reports false when the client is gone.
func (t *Txn) send100() bool {
	resp := httpmsg.Response{Status: 100, Reason: "Continue", Proto: "HTTP/1.1", Major: 1, Minor: 1, NoBody: true}
	if t.down != nil {
		return t.down.WriteHead(&resp, false) == nil && t.down.Flush() == nil
	}
	bw := t.sess.bw
	before := t.sess.out.n
	err := bw.WriteResponseHead(&resp)
	if err == nil {
		err = bw.Flush()
	}
	t.bytesOut += t.sess.out.n - before
	return err == nil
}
