package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Process events print as HAProxy's print_message on stderr and go to the
// log targets with the matching syslog level.
func TestProcessHandler(t *testing.T) {
	var stderr, out lockedBuffer
	h := NewProcessHandler(&stderr, 4242)
	log := slog.New(h)
	log.Info("before any target")
	l, err := NewLogger([]*config.Log{{Target: "stdout", Format: "short"}}, Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	h.SetTargets(l)
	log.Info("Loading success.")
	log.Warn("Loading failure!", "reason", errors.New("bad\nline"))
	log.With("files", "/etc/a.pem").Error("TLS certificates not reloaded")
	log.Debug("debug only to targets")
	l.Close()

	wantErr := "[NOTICE]   (4242) : before any target\n" +
		"[NOTICE]   (4242) : Loading success.\n" +
		"[WARNING]  (4242) : Loading failure!, reason: bad#0Aline\n" +
		"[ALERT]    (4242) : TLS certificates not reloaded, files: /etc/a.pem\n"
	if got := stderr.String(); got != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, wantErr)
	}
	// Facility kern (0): <5> notice, <4> warning, <1> alert, <7> debug.
	wantOut := "<5>Loading success.\n" +
		"<4>Loading failure!, reason: bad#0Aline\n" +
		"<1>TLS certificates not reloaded, files: /etc/a.pem\n" +
		"<7>debug only to targets\n"
	if got := out.String(); got != wantOut {
		t.Errorf("log target:\n%s\nwant:\n%s", got, wantOut)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
