// Package mailers sends a proxy's "email-alert" mails: HAProxy 2.6's SMTP
// exchange (src/mailers.c: HELO, MAIL FROM, RCPT TO, DATA, QUIT, each
// answer checked) to every mailer of its "mailers" section, from one queue
// per mailer, so a slow or dead mailer never holds up the proxy nor the
// other mailers.
package mailers

import (
	"context"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/logging"
)

// DefaultTimeout is HAProxy's "timeout mail" default.
const DefaultTimeout = 10 * time.Second

// queueLen bounds the mails waiting for one mailer: past it new alerts are
// dropped (and logged) rather than held in memory without end.
const queueLen = 64

// Mailer is one "mailer" line.
type Mailer struct {
	Name string
	Addr string // host:port
}

// Options describe one proxy's alerts.
type Options struct {
	Proxy      string // the proxy's name, for the failure messages
	Mailers    []Mailer
	Timeout    time.Duration // one exchange with one mailer; 0: DefaultTimeout
	From, To   string
	MyHostname string
	Level      logging.Level // mail messages at this level or more severe
	// Log receives the failures; nil drops them.
	Log func(level logging.Level, msg string)
	// Now gives the Date header's time; nil: time.Now.
	Now func() time.Time
}

// Sender queues and sends one proxy's alerts.
type Sender struct {
	o      Options
	queues []chan []byte
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	wg     sync.WaitGroup
}

// New starts one worker per mailer.
func New(o Options) *Sender {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Sender{o: o}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, m := range o.Mailers {
		q := make(chan []byte, queueLen)
		s.queues = append(s.queues, q)
		s.wg.Add(1)
		go s.worker(m, q)
	}
	return s
}

// Alert mails msg if level is at or above the configured one (HAProxy's
// send_email_alert). It never blocks.
func (s *Sender) Alert(level logging.Level, msg string) {
	if level > s.o.Level {
		return
	}
	data := Message(s.o.From, s.o.To, s.o.Now(), msg)
	for i, q := range s.queues {
		select {
		case q <- data:
		default:
			s.logf("Email alert [%s] could not be enqueued for mailer %s: %d alerts already waiting", s.o.Proxy, s.o.Mailers[i].Name, queueLen)
		}
	}
}

// Close stops taking alerts; the queued ones are still sent (each within
// the timeout) so that a reload does not lose an alert. It does not wait.
func (s *Sender) Close() {
	s.once.Do(func() {
		for _, q := range s.queues {
			close(q)
		}
	})
}

// Abort drops the queued alerts and interrupts the exchanges, then waits
// for the workers (for the process's exit).
func (s *Sender) Abort() {
	s.Close()
	s.cancel()
	s.wg.Wait()
}

func (s *Sender) worker(m Mailer, q <-chan []byte) {
	defer s.wg.Done()
	for data := range q {
		if s.ctx.Err() != nil {
			continue
		}
		if err := s.send(m, data); err != nil {
			s.logf("Email alert [%s] could not be sent to mailer %s (%s): %v", s.o.Proxy, m.Name, m.Addr, err)
		}
	}
}

func (s *Sender) logf(format string, args ...any) {
	if s.o.Log != nil {
		s.o.Log(logging.LevelWarning, fmt.Sprintf(format, args...))
	}
}

// Message is the DATA HAProxy 2.6 sends: its four headers, the message as
// the body, and the terminating dot. The message is one line of HAProxy's
// making (no line starting with a dot to escape).
func Message(from, to string, date time.Time, msg string) []byte {
	var b strings.Builder
	b.WriteString("From: " + from + "\r\n")
	b.WriteString("To: " + to + "\r\n")
	// strftime's "%a, %d %b %Y %T %z (%Z)" in local time.
	b.WriteString("Date: " + date.Local().Format("Mon, 02 Jan 2006 15:04:05 -0700 (MST)") + "\r\n")
	b.WriteString("Subject: [HAProxy Alert] " + msg + "\r\n")
	b.WriteString("\r\n")
	b.WriteString(msg + "\r\n")
	b.WriteString("\r\n")
	b.WriteString(".\r\n")
	return []byte(b.String())
}

// send runs one exchange, as HAProxy's tcp-check rules for it: each
// command waits for its reply code.
func (s *Sender) send(m Mailer, data []byte) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.o.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	tc := textproto.NewConn(conn)
	steps := []struct {
		cmd  string
		code int
	}{
		{"", 220},
		{"HELO " + s.o.MyHostname + "\r\n", 250},
		{"MAIL FROM:<" + s.o.From + ">\r\n", 250},
		{"RCPT TO:<" + s.o.To + ">\r\n", 250},
		{"DATA\r\n", 354},
		{string(data), 250},
		{"QUIT\r\n", 221},
	}
	for _, st := range steps {
		if st.cmd != "" {
			if _, err := conn.Write([]byte(st.cmd)); err != nil {
				return err
			}
		}
		if _, _, err := tc.ReadResponse(st.code); err != nil {
			what := strings.TrimSpace(strings.SplitN(st.cmd, "\r\n", 2)[0])
			if st.cmd == string(data) {
				what = "the message"
			} else if what == "" {
				what = "the greeting"
			}
			if te, ok := err.(*textproto.Error); ok {
				// The mailer's own words, unquoted.
				return fmt.Errorf("after %s: %03d %s", what, te.Code, te.Msg)
			}
			return fmt.Errorf("after %s: %v", what, err)
		}
	}
	return nil
}
