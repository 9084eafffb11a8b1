package filewatch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// run starts l until the test ends and returns the number of checks so far.
func run(t *testing.T, l *Loop) func() int64 {
	t.Helper()
	var checks atomic.Int64
	check := l.Check
	l.Check = func() {
		if check != nil {
			check()
		}
		checks.Add(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("the loop did not stop within 20s")
		}
	})
	return checks.Load
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A file written in a watched directory is checked once its burst is
// quiet; the first check runs at once.
func TestEventTriggersCheck(t *testing.T) {
	dir := t.TempDir()
	checks := run(t, &Loop{Name: "t", Debounce: 20 * time.Millisecond, Poll: -1, Dirs: func() []string { return []string{dir} }})
	waitFor(t, "the first check", func() bool { return checks() >= 1 })
	before := checks()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a check after a write", func() bool { return checks() > before })
}

// A writer that never pauses still gets checked: a burst is bounded to
// four debounce periods.
func TestSteadyWriterIsChecked(t *testing.T) {
	dir := t.TempDir()
	checks := run(t, &Loop{Name: "t", Debounce: 100 * time.Millisecond, Poll: -1, Dirs: func() []string { return []string{dir} }})
	waitFor(t, "the first check", func() bool { return checks() >= 1 })
	before := checks()
	stop := time.Now().Add(20 * time.Second)
	for checks() == before {
		if time.Now().After(stop) {
			t.Fatal("a steady writer held every check back for 20s")
		}
		os.WriteFile(filepath.Join(dir, "f"), []byte(time.Now().String()), 0o600)
		time.Sleep(10 * time.Millisecond) // well under Debounce: the burst never goes quiet
	}
}

// Without events the poll alone checks.
func TestPollWithoutEvents(t *testing.T) {
	checks := run(t, &Loop{Name: "t", Debounce: time.Hour, Poll: 10 * time.Millisecond, EventsOff: true})
	waitFor(t, "three polled checks", func() bool { return checks() >= 3 })
}

// A directory that appears later is watched from the next check on.
func TestDirsAskedAgain(t *testing.T) {
	root := t.TempDir()
	later := filepath.Join(root, "later")
	checks := run(t, &Loop{Name: "t", Debounce: 20 * time.Millisecond, Poll: -1,
		Dirs: func() []string { return []string{root, later} }})
	waitFor(t, "the first check", func() bool { return checks() >= 1 })
	before := checks()
	if err := os.Mkdir(later, 0o700); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a check after the directory appeared", func() bool { return checks() > before })
	before = checks()
	os.WriteFile(filepath.Join(later, "f"), []byte("x"), 0o600)
	waitFor(t, "a check after a write in the new directory", func() bool { return checks() > before })
}

// A directory that cannot be watched is reported once, however many
// checks fail on it; the poll keeps checking.
func TestWatchFailureReportedOnce(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o600)
	var mu sync.Mutex
	var reports []string
	checks := run(t, &Loop{Name: "t", Debounce: 20 * time.Millisecond, Poll: 5 * time.Millisecond,
		Dirs:   func() []string { return []string{filepath.Join(notDir, "sub")} },
		Report: func(err error) { mu.Lock(); reports = append(reports, err.Error()); mu.Unlock() }})
	waitFor(t, "five polled checks", func() bool { return checks() >= 5 })
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 1 || !strings.Contains(reports[0], "t: cannot watch") {
		t.Errorf("reports %q, want one 't: cannot watch'", reports)
	}
}
