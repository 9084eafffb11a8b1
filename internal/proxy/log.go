package proxy

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/logging"
)

func ms(d time.Duration) int64 { return int64(d / time.Millisecond) }

// captureRequest records "capture request header" values for %hr.
func (t *Txn) captureRequest() {
	if fe := t.sess.fe; len(fe.Captures) > 0 && fe.Log != nil {
		t.log.CaptureRequest(fe.Captures, t.Req.Header)
	}
}

// captureResponse records "capture response header" values for %hs.
func (t *Txn) captureResponse() {
	if fe := t.sess.fe; len(fe.Captures) > 0 && fe.Log != nil {
		t.log.CaptureResponse(fe.Captures, t.Resp.Header)
	}
}

// emitLog writes the access log line of the transaction when it ends,
// unless "option logasap" already wrote it.
func (t *Txn) emitLog() {
	fe := t.sess.fe
	if fe.Log == nil || fe.LogFormat == nil || t.logged {
		return
	}
	t.markDone()
	c := t.fillLog(t.tDone)
	if t.status == -1 && fe.DontLogNull && t.bytesIn == 0 {
		return
	}
	t.writeLog(c)
}

// logASAP writes the line as the server's response head goes to the
// client ("option logasap", HAProxy's http_wait_for_response): the end is
// now, and %B counts the head's headBytes besides what went out before
// (interim responses).
func (t *Txn) logASAP(headBytes int64) {
	fe := t.sess.fe
	if !fe.LogASAP || fe.Log == nil || fe.LogFormat == nil || t.logged {
		return
	}
	c := t.fillLog(t.readClock())
	c.BytesOut += headBytes
	t.writeLog(c)
}

// fillLog sets the transaction's log context as of end, with HAProxy's
// timers: Th handshake, Ti idle, TR request head, Tw queue, Tc connect,
// Tr response head, Ta active time, Tt total.
func (t *Txn) fillLog(end time.Time) *logging.Context {
	s := t.sess
	fe := s.fe
	c := &t.log
	c.Txn = &t.acl
	// The request's addresses, which set-src and set-dst may have changed.
	c.Client = t.acl.Src
	c.FrontendAddr = t.acl.Dst
	c.FrontendName = fe.Name
	c.FrontendSSL = s.tls
	c.ASAP = fe.LogASAP
	t.captureCookies()
	if len(fe.Captures) > 0 && len(c.ResCaptures) == 0 {
		// No response (denied, an error): %hs still shows the empty
		// slots, as HAProxy's does.
		c.CaptureResponse(fe.Captures, nil)
	}
	if t.be != nil {
		c.BackendName = t.be.Name
	}
	c.BackendSrc = t.acl.BcSrc // %bi %bp: the connection to the server
	if t.cache.hit {
		c.ServerName = "<CACHE>" // as HAProxy logs an answer from its cache
	} else if t.srv != nil {
		c.ServerName = t.srv.Name
		c.ServerAddr = t.srv.Addr()
		c.SrvConn = int64(t.srv.Cur())
	} else if p := t.persist.target; p != nil {
		// A denied request whose cookie named a server logs it, as
		// HAProxy's cookie pass sets the stream's target.
		c.ServerName = p.Name
		c.ServerAddr = p.Addr()
	}
	if t.down != nil {
		// An HTTP/2 stream has its own timers: it starts with its
		// HEADERS, beside the connection's other streams.
		c.AcceptTime = t.tRequest
		c.Th = 0
	} else if s.nreq == 0 {
		c.AcceptTime = s.accept
		c.Th = ms(s.handshakeDur)
	} else {
		// On a kept-alive connection the request "accept" is the end of
		// the previous one (HAProxy resets its timers per request).
		c.AcceptTime = s.lastDone
		c.Th = 0
	}
	c.Ti = ms(t.idle)
	if !t.tRequest.IsZero() {
		c.RequestTime = t.tRequest
	}
	if !t.tHead.IsZero() && !t.tRequest.IsZero() {
		c.TR = ms(t.tHead.Sub(t.tRequest))
	}
	if t.srv != nil {
		c.Tw = ms(t.tw)
		c.Tc = ms(t.tc)
		if t.status > 0 && t.tr > 0 {
			c.Tr = ms(t.tr)
		}
	} else if t.tarpit {
		c.Tw = ms(t.tw) // HAProxy's queue time of a tarpit: the time held
	}
	if !t.tRequest.IsZero() {
		c.Ta = ms(end.Sub(t.tRequest))
	}
	c.Tt = ms(end.Sub(c.AcceptTime))
	c.Status = t.status
	c.BytesIn = t.bytesIn
	c.BytesOut = t.bytesOut
	c.Term = logging.Term(t.termState[0], t.termState[1])
	ckBe := t.be
	if ckBe == nil {
		ckBe = fe.Self // a listen is its own backend from the start
	}
	c.CookieFlags[0], c.CookieFlags[1] = t.persistFlags(ckBe)
	c.ActConn = fe.Proc.ActConn.Load()
	c.FeConn = fe.Counters.CurSess.Load()
	if t.be != nil {
		c.BeConn = t.be.Counters.CurSess.Load()
	}
	c.Retries = int64(t.retries)
	c.Redispatched = t.redispatch
	c.SSLVersion = s.tlsVersion
	c.SSLCipher = s.cipher
	c.PID = fe.Proc.PID
	c.ReqCounter = fe.Counters.ReqTot.Load()
	return c
}

// writeLog formats and sends the line at the level HAProxy's strm_log
// picks: info, or err for a failed session with "option
// log-separate-errors"; "option dontlog-normal" drops the others. A line
// not written leaves the transaction to log again at its end.
func (t *Txn) writeLog(c *logging.Context) {
	fe := t.sess.fe
	failed := logging.Failed(c)
	if !failed && fe.DontLogNormal {
		return
	}
	level := logging.LevelInfo
	if failed && fe.LogSeparateErrors {
		level = logging.LevelErr
	}
	switch {
	case t.logLevel < 0:
		return // set-log-level silent
	case t.logLevel > 0:
		level = logging.Level(t.logLevel - 1)
	}
	t.logged = true
	buf := getLogBuf()
	*buf = fe.LogFormat.Append((*buf)[:0], c)
	if fe.LogFormatSD != nil {
		sd := getLogBuf()
		*sd = fe.LogFormatSD.Append((*sd)[:0], c)
		fe.Log.LogSD(level, *sd, *buf)
		putLogBuf(sd)
	} else {
		fe.Log.Log(level, *buf)
	}
	putLogBuf(buf)
}
