package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// ProcessHandler is the slog.Handler of process events (reloads,
// certificate rotations, listener errors). Each record becomes one line on
// stderr in HAProxy's print_message format,
//
//	[NOTICE]   (1234) : Loading success.
//
// and the same message goes to the log targets set with SetTargets (the
// running configuration's global "log" lines), as HAProxy sends its
// process messages to its loggers. Levels: slog's Info is HAProxy's
// notice, Warn warning, Error alert; Debug goes to the targets only.
// Attributes follow the message as ", key: value", HAProxy's way of
// detailing a message ("reason: ..., info: ...").
type ProcessHandler struct {
	st    *processState
	attrs []slog.Attr
}

type processState struct {
	mu      sync.Mutex // one Write per line on stderr
	stderr  io.Writer
	pid     int
	targets atomic.Pointer[Logger]
}

// NewProcessHandler writes to stderr (nil: os.Stderr) with pid (0: this
// process's) in the prefix.
func NewProcessHandler(stderr io.Writer, pid int) *ProcessHandler {
	if stderr == nil {
		stderr = os.Stderr
	}
	if pid == 0 {
		pid = os.Getpid()
	}
	return &ProcessHandler{st: &processState{stderr: stderr, pid: pid}}
}

// SetTargets sends the following records to l too (nil: stderr only).
func (h *ProcessHandler) SetTargets(l *Logger) { h.st.targets.Store(l) }

// Enabled implements slog.Handler: every level is taken (Debug only by
// the targets, which filter on their own levels).
func (h *ProcessHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *ProcessHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &ProcessHandler{st: h.st, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

// WithGroup is not used by Gatehouse; groups flatten into the attributes.
func (h *ProcessHandler) WithGroup(string) slog.Handler { return h }

// levelOf maps a slog level to HAProxy's level and stderr label.
func levelOf(l slog.Level) (Level, string) {
	switch {
	case l >= slog.LevelError:
		return LevelAlert, "ALERT"
	case l >= slog.LevelWarn:
		return LevelWarning, "WARNING"
	case l >= slog.LevelInfo:
		return LevelNotice, "NOTICE"
	}
	return LevelDebug, ""
}

func (h *ProcessHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		if a.Equal(slog.Attr{}) {
			return true
		}
		fmt.Fprintf(&b, ", %s: %v", a.Key, a.Value.Resolve().Any())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	// One message, one line: the attributes may carry client input.
	msg := escapeCtlInPlace([]byte(b.String()), 0)
	lvl, label := levelOf(r.Level)
	if l := h.st.targets.Load(); l != nil {
		l.Log(lvl, msg)
	}
	if label == "" {
		return nil
	}
	line := fmt.Sprintf("%-10s (%d) : %s\n", "["+label+"]", h.st.pid, msg)
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	_, err := io.WriteString(h.st.stderr, line)
	return err
}
