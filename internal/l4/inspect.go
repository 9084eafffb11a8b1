package l4

import (
	"errors"
	"github.com/gatehouse/gatehouse/internal/counters"
	"io"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// inspect runs the tcp-request content rules the way HAProxy's
// tcp_inspect_request does: with rules and an inspect-delay, read the
// client's first bytes into a buffer (never consuming more than it holds)
// and evaluate the rules on every arrival while the payload may still
// grow; a rule that needs more data (a Miss) waits. When the delay
// expires, the buffer is full or the client shut its side, the rules run
// once more on what is there, as final (WAIT_END). No rule matching
// accepts. It reports false when the connection is rejected or the client
// went away (s.term says which).
func (s *session) inspect() bool {
	fe := s.fe
	rules := fe.ContentRules
	if len(rules) == 0 {
		// HAProxy inspects only for content rules: use_backend alone does
		// not wait.
		return true
	}
	s.txn.Payload = s.payload
	if fe.InspectDelay <= 0 {
		return s.verdict(rules)
	}
	limit := fe.BufSize
	if limit <= 0 {
		limit = DefaultBufSize
	}
	end := s.accept.Add(fe.InspectDelay)
	clientEnd := time.Time{}
	if ct := fe.Timeouts.Client; ct > 0 {
		clientEnd = s.accept.Add(ct)
		if clientEnd.Before(end) {
			end = clientEnd
		}
	}
	defer s.cli.SetReadDeadline(time.Time{})
	buf := s.payload
loop:
	for {
		s.txn.Payload = buf
		s.txn.Inspecting = true
		if reject, done := s.decide(rules); done {
			s.payload = buf
			return s.applied(reject)
		}
		if len(buf) >= limit {
			break loop
		}
		if cap(buf) == len(buf) {
			nb := make([]byte, len(buf), min(max(2*cap(buf), 2048), limit))
			copy(nb, buf)
			buf = nb
		}
		_ = s.cli.SetReadDeadline(end)
		n, err := s.cli.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == nil {
			continue
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			if !clientEnd.IsZero() && !time.Now().Before(clientEnd) && !end.Before(clientEnd) {
				// timeout client struck before inspect-delay.
				s.payload = buf
				s.fe.Counters.ErrReq.Add(1)
				s.lstCount(func(c *counters.Proxy) { c.ErrReq.Add(1) })
				s.term = logging.Term('c', 'R')
				return false
			}
		case errors.Is(err, io.EOF):
			s.cliEOF = true
		default:
			s.payload = buf
			s.fe.Counters.CliAbort.Add(1)
			s.term = logging.Term('C', 'R')
			return false
		}
		break loop
	}
	s.payload = buf
	s.txn.Payload = buf
	return s.verdict(rules)
}

// verdict evaluates the rules as final.
func (s *session) verdict(rules []Rule) bool {
	s.txn.Inspecting = false
	reject, _ := s.decide(rules)
	return s.applied(reject)
}

func (s *session) applied(reject bool) bool {
	s.txn.Inspecting = false
	if reject {
		s.term = logging.TermDenied
		if !s.dropped() { // a silent drop counts it there
			s.fe.Counters.DenyReq.Add(1)
			s.lstCount(func(c *counters.Proxy) { c.DenyReq.Add(1) })
		}
		return false
	}
	return true
}

// decide evaluates rules in order: a Miss (more payload may change the
// answer) stops and waits, the first matching accept or reject decides, a
// variable rule acts and goes on, none deciding accepts. Each new arrival
// runs the rules from the first again, variable rules included, as
// HAProxy 2.6's tcp_inspect_request does.
func (s *session) decide(rules []Rule) (reject, done bool) {
	for i := range rules {
		r := &rules[i]
		switch r.Cond.Eval(&s.txn) {
		case acl.Miss:
			return false, false
		case acl.Pass:
			if r.Var != nil {
				s.runVar(r.Var)
				continue
			}
			if r.Track != nil {
				s.track(r.Track)
				continue
			}
			if r.SC != nil {
				s.sc(r.SC)
				continue
			}
			s.drop = r.Drop
			return r.Reject || r.Drop, true
		}
	}
	return false, true
}

// route picks the backend: the first use_backend whose condition holds on
// the final payload, else the default.
func (s *session) route() *Backend {
	for _, r := range s.fe.Routes {
		if r.Cond.Match(&s.txn) {
			if r.Dynamic != nil {
				name := r.Dynamic.Append(nil, &logging.Context{Txn: &s.txn, Mode: config.ModeTCP, FrontendName: s.fe.Name})
				if be := r.Lookup(string(name)); be != nil {
					return be
				}
				return s.fe.Default
			}
			return r.Backend
		}
	}
	return s.fe.Default
}
