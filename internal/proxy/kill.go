package proxy

import (
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/sock"
)

// killMode is how a reject or silent-drop rule ends the client
// connection instead of answering.
type killMode uint8

const (
	killNone   killMode = iota
	killReject          // closed at once, no answer
	killSilent          // gone without telling the client (sock.SilentDrop)
)

// killClient ends the client connection as the rule asked, with no
// answer and status -1 in the log. On HTTP/2 the whole connection goes,
// as in HAProxy: a reject resets the stream and sends GOAWAY, both
// ENHANCE_YOUR_CALM; a silent drop sends nothing.
func (t *Txn) killClient() bool {
	// The log keeps a server's status when the response rules dropped it.
	t.status = -1
	if t.Resp.Status > 0 {
		t.status = t.Resp.Status
	}
	t.closeAfter = true
	if t.kill == killSilent {
		sock.SilentDrop(t.sess.raw)
		return false
	}
	if t.down != nil {
		if k, ok := t.down.(interface{ KillConn(http2.ErrCode) }); ok {
			k.KillConn(http2.ErrCodeEnhanceYourCalm)
		} else {
			t.down.Reset(http2.ErrCodeEnhanceYourCalm)
		}
	}
	return false
}

// tarpitTimeout is "timeout tarpit" of the proxy whose rule tarpitted
// (the backend once chosen, else the frontend), "timeout connect" when
// unset, as HAProxy copies it at startup.
func (t *Txn) tarpitTimeout() time.Duration {
	to := t.sess.fe.Timeouts
	if t.be != nil {
		to = t.be.Timeouts
	}
	if to.Tarpit > 0 {
		return to.Tarpit
	}
	return to.Connect
}

// tarpitWait holds a tarpitted request for the tarpit timeout before its
// answer goes out. A client that closes its side gets the answer then
// (HAProxy's tarpit analyser ends on the read shutdown); one whose
// connection fails (a reset) is dropped without it, CT. The time held is
// the log's queue time, as HAProxy reports it. It reports whether to
// answer.
func (t *Txn) tarpitWait() bool {
	start := t.readClock()
	timer := time.NewTimer(t.tarpitTimeout())
	defer timer.Stop()
	answer := true
	if t.down != nil {
		select {
		case <-timer.C:
		case <-t.down.Done():
			answer = false
		}
	} else if w := watchFIN(t.sess.raw); w != nil {
		select {
		case <-timer.C:
		case <-w.done:
			// Data (a pipelined request) waits out the timeout.
			if !w.fin() && !w.failed() {
				<-timer.C
			}
		}
		w.stop()
		answer = !w.failed()
	} else {
		<-timer.C
	}
	t.tw = t.readClock().Sub(start)
	if !answer {
		t.termState = [2]byte{'C', 'T'}
		t.status = -1
		t.closeAfter = true
	}
	return answer
}
