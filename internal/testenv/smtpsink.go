package testenv

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMTPSink is a small SMTP server for tests (RFC 5321's minimal command
// set: HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT): every finished
// session's commands and message are kept for comparison.
type SMTPSink struct {
	ln    net.Listener
	mails chan SMTPMail
	mu    sync.Mutex
	// RcptReply, when set, answers RCPT TO instead of 250 (a refusal).
	rcptReply string
}

// SMTPMail is one session: the client's command lines in order (the
// message excluded) and the message as sent after DATA, dot-terminated
// line excluded, CRLFs kept.
type SMTPMail struct {
	Commands []string
	Data     string
}

// StartSMTPSink listens on a loopback port; it closes on cleanup.
func StartSMTPSink(t testing.TB) *SMTPSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPSink{ln: ln, mails: make(chan SMTPMail, 100)}
	t.Cleanup(func() { ln.Close() })
	go s.accept()
	return s
}

// Addr is the sink's "127.0.0.1:port".
func (s *SMTPSink) Addr() string { return s.ln.Addr().String() }

// RefuseRcpt makes RCPT TO answer reply (e.g. "550 5.1.1 no such user").
func (s *SMTPSink) RefuseRcpt(reply string) {
	s.mu.Lock()
	s.rcptReply = reply
	s.mu.Unlock()
}

// Next waits up to timeout for the next finished session, failing the
// test without one.
func (s *SMTPSink) Next(t testing.TB, timeout time.Duration) SMTPMail {
	t.Helper()
	select {
	case m := <-s.mails:
		return m
	case <-time.After(timeout):
		t.Fatalf("no mail reached the SMTP sink %s within %v", s.Addr(), timeout)
		return SMTPMail{}
	}
}

// None checks that no session finishes within d.
func (s *SMTPSink) None(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case m := <-s.mails:
		t.Fatalf("unexpected mail: %q", m.Data)
	case <-time.After(d):
	}
}

func (s *SMTPSink) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.serve(c)
	}
}

func (s *SMTPSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	reply := func(l string) bool { _, err := c.Write([]byte(l + "\r\n")); return err == nil }
	var m SMTPMail
	var mailed bool
	if !reply("220 sink.test ESMTP ready") {
		return
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if !strings.HasSuffix(line, "\r\n") {
			reply("500 5.5.2 lines end with CRLF")
			return
		}
		line = strings.TrimSuffix(line, "\r\n")
		m.Commands = append(m.Commands, line)
		verb := strings.ToUpper(line)
		if i := strings.IndexAny(verb, " :"); i >= 0 {
			verb = verb[:i]
		}
		switch verb {
		case "HELO", "EHLO":
			if len(line) < 6 {
				reply("501 5.5.4 a domain is required")
				continue
			}
			reply("250 sink.test")
		case "MAIL":
			if !strings.HasPrefix(strings.ToUpper(line), "MAIL FROM:<") || !strings.HasSuffix(line, ">") {
				reply("501 5.5.4 syntax: MAIL FROM:<address>")
				continue
			}
			reply("250 2.1.0 ok")
		case "RCPT":
			s.mu.Lock()
			refuse := s.rcptReply
			s.mu.Unlock()
			if refuse != "" {
				reply(refuse)
				continue
			}
			if !strings.HasPrefix(strings.ToUpper(line), "RCPT TO:<") || !strings.HasSuffix(line, ">") {
				reply("501 5.5.4 syntax: RCPT TO:<address>")
				continue
			}
			reply("250 2.1.5 ok")
		case "DATA":
			reply("354 end data with <CR><LF>.<CR><LF>")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			m.Data = data.String()
			mailed = true
			reply("250 2.0.0 queued")
		case "RSET", "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			if mailed {
				s.mails <- m
			}
			return
		default:
			reply("500 5.5.1 command unrecognized")
		}
	}
}
