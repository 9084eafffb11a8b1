package mailers

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

type logRec struct {
	mu    sync.Mutex
	lines []string
	got   chan struct{}
}

func newLogRec() *logRec { return &logRec{got: make(chan struct{}, 100)} }

func (l *logRec) log(lvl logging.Level, msg string) {
	l.mu.Lock()
	l.lines = append(l.lines, lvl.String()+": "+msg)
	l.mu.Unlock()
	select {
	case l.got <- struct{}{}:
	default:
	}
}

func (l *logRec) wait(t *testing.T) string {
	t.Helper()
	select {
	case <-l.got:
	case <-time.After(20 * time.Second):
		t.Fatal("no failure was logged within 20s")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lines[len(l.lines)-1]
}

func TestAlertDialogue(t *testing.T) {
	sink := testenv.StartSMTPSink(t)
	date := time.Date(2026, 12, 7, 10, 30, 0, 0, time.Local)
	s := New(Options{Proxy: "be", Mailers: []Mailer{{Name: "m1", Addr: sink.Addr()}},
		From: "gh@example.com", To: "ops@example.com", MyHostname: "edge1", Level: logging.LevelAlert,
		Now: func() time.Time { return date }})
	defer s.Abort()
	s.Alert(logging.LevelNotice, "Server be/s1 is UP") // below the level: not sent
	s.Alert(logging.LevelAlert, "Server be/s1 is DOWN")
	m := sink.Next(t, 20*time.Second)
	want := []string{"HELO edge1", "MAIL FROM:<gh@example.com>", "RCPT TO:<ops@example.com>", "DATA", "QUIT"}
	if !slices.Equal(m.Commands, want) {
		t.Errorf("commands %q, want %q", m.Commands, want)
	}
	wantData := "From: gh@example.com\r\nTo: ops@example.com\r\nDate: " + date.Format("Mon, 02 Jan 2006 15:04:05 -0700 (MST)") +
		"\r\nSubject: [HAProxy Alert] Server be/s1 is DOWN\r\n\r\nServer be/s1 is DOWN\r\n\r\n"
	if m.Data != wantData {
		t.Errorf("message\n%q\nwant\n%q", m.Data, wantData)
	}
	sink.None(t, 300*time.Millisecond) // the UP below the level was not sent
}

// A dead mailer and a refusing one are logged; the others still get the
// mail, and Alert never waits for any of them.
func TestAlertFailuresLoggedOthersServed(t *testing.T) {
	good, refusing := testenv.StartSMTPSink(t), testenv.StartSMTPSink(t)
	refusing.RefuseRcpt("550 5.1.1 no such user")
	dead := fmt.Sprintf("127.0.0.1:%d", testenv.RefusedPort(t))
	logs := newLogRec()
	s := New(Options{Proxy: "be", Mailers: []Mailer{{"dead", dead}, {"refusing", refusing.Addr()}, {"good", good.Addr()}},
		From: "a@b", To: "c@d", MyHostname: "h", Level: logging.LevelNotice, Timeout: 20 * time.Second, Log: logs.log})
	defer s.Abort()
	start := time.Now()
	for i := 0; i < queueLen+10; i++ { // more than a queue holds: the rest are dropped, logged
		s.Alert(logging.LevelAlert, "Server be/s1 is DOWN")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Alert blocked for %v", d)
	}
	good.Next(t, 20*time.Second)
	var all []string
	deadline := time.Now().Add(20 * time.Second)
	for !(containsLine(all, "mailer dead (") && containsLine(all, "mailer refusing (") && containsLine(all, "could not be enqueued")) {
		if time.Now().After(deadline) {
			t.Fatalf("logged %q", all)
		}
		logs.wait(t)
		logs.mu.Lock()
		all = slices.Clone(logs.lines)
		logs.mu.Unlock()
	}
	for _, l := range all {
		if strings.Contains(l, "sent to mailer refusing") && !strings.Contains(l, "after RCPT TO:<c@d>: 550 5.1.1 no such user") {
			t.Errorf("refusal logged as %q", l)
		}
		if !strings.HasPrefix(l, "warning: Email alert [be] ") {
			t.Errorf("logged %q", l)
		}
	}
}

func containsLine(lines []string, sub string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, sub) })
}
