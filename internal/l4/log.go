package l4

import (
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

func ms(d time.Duration) int64 { return int64(d / time.Millisecond) }

// finish writes the session's tcplog line.
func (s *session) finish() {
	if s.fe.LogAtAccept || s.logged {
		return
	}
	if s.fe.DontLogNull && s.bytesIn == 0 && s.bytesOut == 0 && len(s.payload) == 0 {
		return
	}
	s.log()
}

// fill sets a log context from the session, with HAProxy's tcp timers:
// Tw queue (-1 when no server was assigned), Tc connect (-1 when not
// connected), Tt total.
func (s *session) fill(c *logging.Context) {
	fe := s.fe
	c.Mode = config.ModeTCP
	c.Txn = &s.txn
	c.Client = s.src
	c.FrontendAddr = s.dst
	c.FrontendName = fe.Name
	c.FrontendSSL = s.lst.TLS != nil
	c.AcceptTime = s.accept
	c.Th = ms(s.th)
	c.Ti = 0
	if s.be != nil {
		c.BackendName = s.be.Name
		c.BeConn = s.be.Counters.CurSess.Load()
	}
	if s.srv != nil {
		c.ServerName = s.srv.Name
		c.ServerAddr = s.srv.Addr()
		c.SrvConn = int64(s.srv.Cur())
	}
	if s.assigned || s.term == logging.TermQueueTimeout {
		c.Tw = ms(s.tw)
	}
	if s.conn {
		c.Tc = ms(s.tc)
	}
	c.Tt = ms(time.Since(s.accept))
	c.BytesIn = s.bytesIn
	c.BytesOut = s.bytesOut
	c.Term = s.term
	c.ActConn = fe.ActConn.Load()
	c.FeConn = fe.Counters.CurSess.Load()
	c.Retries = int64(s.retries)
	c.Redispatched = s.redisp
	c.PID = fe.PID
	if s.tls != nil {
		c.SSLVersion = tlsconf.VersionName(s.tls.Version)
	}
}

func (s *session) log() {
	fe := s.fe
	if fe.Log == nil || fe.LogFormat == nil {
		return
	}
	c := logging.NewContext()
	s.fill(c)
	c.ASAP = fe.LogASAP
	// HAProxy's strm_log: "option dontlog-normal" keeps only failed
	// sessions, "option log-separate-errors" sends those at level err.
	failed := logging.Failed(c)
	if !failed && fe.DontLogNormal {
		return
	}
	level := logging.LevelInfo
	if failed && fe.LogSeparateErrors {
		level = logging.LevelErr
	}
	switch {
	case s.logLevel < 0:
		return // set-log-level silent
	case s.logLevel > 0:
		level = logging.Level(s.logLevel - 1)
	}
	s.logged = true
	fe.Log.Log(level, fe.LogFormat.Append(nil, c))
}

// logASAP writes the line once the server connection is established
// ("option logasap" in mode tcp); a line dontlog-normal held back is
// reconsidered when the session ends.
func (s *session) logASAP() {
	if s.fe.LogASAP && !s.fe.LogAtAccept {
		s.log()
	}
}

// errorLevel is the level of a connection error's line, as HAProxy's
// session_kill_embryonic picks it: info, or err with
// "option log-separate-errors".
func (fe *Frontend) errorLevel() logging.Level {
	if fe.LogSeparateErrors {
		return logging.LevelErr
	}
	return logging.LevelInfo
}

// logError logs a connection that failed before becoming a session (bad
// PROXY header, failed handshake) the way HAProxy does:
// "CLIENT:PORT [DATE] FRONTEND/BIND: MESSAGE".
func (s *session) logError(msg string) {
	fe := s.fe
	if fe.Log == nil {
		return
	}
	t := s.accept
	line := fmt.Sprintf("%s:%d [%02d/%s/%04d:%02d:%02d:%02d.%03d] %s/%s: %s",
		s.src.Addr(), s.src.Port(), t.Day(), t.Month().String()[:3], t.Year(),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1e6, fe.Name, s.lst.BindName, msg)
	// Printf escapes control characters: msg may quote the client's bytes.
	fe.Log.Printf(fe.errorLevel(), "%s", line)
}
