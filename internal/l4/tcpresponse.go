package l4

import (
	"errors"
	"net"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// resVerdict is what the tcp-response content rules decided.
type resVerdict uint8

const (
	resAccept resVerdict = iota // forward the response
	resReject                   // close both sides, forward nothing
	resClose                    // forward what came, close the server side at once
	resDrop                     // silent-drop: the client connection vanishes
)

// respond runs the backend's tcp-response content rules on the server's
// first bytes, as HAProxy 2.6's tcp_inspect_response: they are evaluated
// each time more bytes arrive, a rule that needs more data (a Miss) waits,
// and when "tcp-response inspect-delay" expires (it starts with the
// server connection), the buffer is full or the server ends its side, they
// run once more as final; without a delay they run once, at once, on
// nothing. Nothing reaches the client until they decide, while the
// client's data still flows to the server. On accept and close the bytes
// read are forwarded. It returns the verdict, the bytes forwarded and the
// error that ended the server's side, if any (the relay goes on from there
// on accept).
func (s *session) respond(srv *net.TCPConn) (resVerdict, int64, error) {
	be := s.be
	buf, v, rerr := s.inspectResponse(srv)
	s.txn.ResPayload = nil
	// HAProxy counts what its buffer received (%B, bytes_out), forwarded
	// or not.
	n := int64(len(buf))
	s.countOut(uint64(len(buf)))
	if (v == resAccept || v == resClose) && len(buf) > 0 {
		if _, err := s.cli.Write(buf); err != nil && rerr == nil {
			rerr = err
		}
	}
	switch v {
	case resAccept:
		return v, n, rerr
	case resClose:
		// HAProxy closes the server connection at once, with a reset
		// (nolinger); what was read goes to the client, then the end.
		_ = srv.SetLinger(0)
		closeWrite(s.cli)
	case resReject:
		be.Counters.DenyResp.Add(1)
		s.fe.Counters.DenyResp.Add(1)
		if lc := s.lst.Counters; lc != nil {
			lc.DenyResp.Add(1)
		}
		_ = srv.SetLinger(0)
	case resDrop:
		s.drop = true
		s.dropped()
		_ = srv.SetLinger(0)
	}
	s.abort(srv) // the client's direction stops too
	return v, n, nil
}

// countOut counts n bytes received from the server, as pump does.
func (s *session) countOut(n uint64) {
	if n == 0 {
		return
	}
	s.fe.Counters.BytesOut.Add(n)
	s.be.Counters.BytesOut.Add(n)
	s.srv.Counters.BytesOut.Add(n)
	if lc := s.lst.Counters; lc != nil {
		lc.BytesOut.Add(n)
	}
	s.stick.AddBytes(0, n)
}

// resTerm is the termination state a deciding verdict leaves: the
// proxy's condition during the data phase (PD) for reject and
// silent-drop, a normal end for close.
func resTerm(v resVerdict) logging.TermState {
	if v == resClose {
		return logging.TermNormal
	}
	return logging.Term('P', 'D')
}

// inspectResponse reads the server's first bytes into a buffer until the
// rules decide; it returns them, the verdict and the read error that
// ended the inspection (io.EOF when the server shut its side, a deadline
// error when a timeout of the watchdog struck).
func (s *session) inspectResponse(srv *net.TCPConn) (buf []byte, v resVerdict, rerr error) {
	rules := s.be.ResRules
	s.txn.InTCPResponse = true
	defer func() { s.txn.Inspecting, s.txn.InTCPResponse = false, false }()
	if s.be.ResInspectDelay <= 0 {
		v, _ = s.decideResponse(rules)
		return nil, v, nil
	}
	limit := s.fe.BufSize
	if limit <= 0 {
		limit = DefaultBufSize
	}
	_ = srv.SetReadDeadline(time.Now().Add(s.be.ResInspectDelay))
	defer s.clearReadDeadline(srv)
	buf = make([]byte, 0, min(2048, limit))
	for {
		s.txn.ResPayload = buf
		s.txn.Inspecting = true
		if v, done := s.decideResponse(rules); done {
			return buf, v, nil
		}
		if len(buf) >= limit {
			break
		}
		if cap(buf) == len(buf) {
			nb := make([]byte, len(buf), min(2*cap(buf), limit))
			copy(nb, buf)
			buf = nb
		}
		n, err := srv.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) || s.isAborted() {
				rerr = err
			}
			break
		}
	}
	s.txn.ResPayload = buf
	s.txn.Inspecting = false
	v, _ = s.decideResponse(rules)
	return buf, v, rerr
}

// decideResponse evaluates the rules in order: a Miss stops and waits,
// the first matching accept, reject, close or silent-drop decides, the
// other actions act and go on; none deciding accepts. Each new arrival
// runs them from the first again, as HAProxy 2.6 does.
func (s *session) decideResponse(rules []Rule) (resVerdict, bool) {
	for i := range rules {
		r := &rules[i]
		switch r.Cond.Eval(&s.txn) {
		case acl.Miss:
			return resAccept, false
		case acl.Pass:
			switch {
			case r.Var != nil:
				s.runVar(r.Var)
			case r.SC != nil:
				s.sc(r.SC)
			case r.LogLevel != 0:
				s.logLevel = r.LogLevel
			case r.Reject:
				return resReject, true
			case r.Drop:
				return resDrop, true
			case r.Close:
				return resClose, true
			default:
				return resAccept, true
			}
		}
	}
	return resAccept, true
}
