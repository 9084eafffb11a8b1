package cfgwatch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// harness runs a watcher and records what it reports.
type harness struct {
	t       *testing.T
	mu      sync.Mutex
	changes int
	checks  int
	errs    []string
	cancel  context.CancelFunc
	done    chan struct{}
}

// start watches paths from their current content. Events only unless
// pollOnly; the poll is off unless poll > 0.
func start(t *testing.T, paths []string, pollOnly bool, poll time.Duration) *harness {
	t.Helper()
	since, err := Fingerprint(paths)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, done: make(chan struct{})}
	w := &watcher{paths: paths, last: since, pollOnly: pollOnly,
		changed: func() { h.mu.Lock(); h.changes++; h.mu.Unlock() },
		onErr:   func(err error) { h.mu.Lock(); h.errs = append(h.errs, err.Error()); h.mu.Unlock() },
		checked: func() { h.mu.Lock(); h.checks++; h.mu.Unlock() },
	}
	if poll <= 0 {
		poll = -1
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { defer close(h.done); w.run(ctx, Options{Debounce: 50 * time.Millisecond, Poll: poll}) }()
	t.Cleanup(h.stop)
	// The first check runs at once; after it the watches are in place.
	h.waitChecks(1)
	return h
}

func (h *harness) stop() {
	h.cancel()
	select {
	case <-h.done:
	case <-time.After(20 * time.Second):
		h.t.Error("the watcher did not stop within 20s")
	}
}

func (h *harness) counts() (changes, checks int, errs []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changes, h.checks, append([]string(nil), h.errs...)
}

// waitFor polls cond with a 20 s deadline.
func (h *harness) waitFor(what string, cond func(changes, checks int, errs []string) bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, k, e := h.counts()
		if cond(c, k, e) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: not within 20s (changes %d, checks %d, errors %q)", what, c, k, e)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) waitChecks(n int) {
	h.t.Helper()
	h.waitFor("check", func(_, k int, _ []string) bool { return k >= n })
}

func (h *harness) waitChanges(n int) {
	h.t.Helper()
	h.waitFor("change reported", func(c, _ int, _ []string) bool { return c >= n })
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEditInPlace: a write into the file is one change; writing the same
// bytes again (a touch) and a new unrelated file beside it are checks
// without a change.
func TestEditInPlace(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "gatehouse.cfg")
	write(t, f, "global\n")
	h := start(t, []string{f}, false, 0)
	write(t, f, "global\n    maxconn 10\n")
	h.waitChanges(1)
	_, k, _ := h.counts()
	write(t, f, "global\n    maxconn 10\n")
	write(t, filepath.Join(dir, "other.txt"), "x")
	h.waitChecks(k + 1)
	if c, _, e := h.counts(); c != 1 || len(e) > 0 {
		t.Fatalf("after a touch and an unrelated file: %d changes (want 1), errors %q", c, e)
	}
	write(t, f, "global\n    maxconn 20\n")
	h.waitChanges(2)
}

// TestRenameOver: an editor's or a config manager's write (a new file
// renamed over the old) is a change.
func TestRenameOver(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "gatehouse.cfg")
	write(t, f, "global\n")
	h := start(t, []string{f}, false, 0)
	write(t, f+".tmp", "defaults\n")
	if err := os.Rename(f+".tmp", f); err != nil {
		t.Fatal(err)
	}
	h.waitChanges(1)
}

// configMap lays dir out as the kubelet mounts a ConfigMap: the key is a
// symlink to ..data/KEY, ..data a symlink to a timestamped directory.
// swap publishes new contents the kubelet's way: a new directory, a new
// ..data symlink renamed over the old, the old directory removed.
type configMap struct {
	t    *testing.T
	dir  string
	gen  int
	prev string
}

func newConfigMap(t *testing.T, files map[string]string) *configMap {
	m := &configMap{t: t, dir: t.TempDir()}
	m.swap(files)
	for k := range files {
		if err := os.Symlink(filepath.Join("..data", k), filepath.Join(m.dir, k)); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (m *configMap) swap(files map[string]string) {
	m.t.Helper()
	m.gen++
	ts := filepath.Join(m.dir, "..2026_12_07_00_00_0"+string(rune('0'+m.gen)))
	if err := os.Mkdir(ts, 0o755); err != nil {
		m.t.Fatal(err)
	}
	for k, v := range files {
		write(m.t, filepath.Join(ts, k), v)
	}
	tmp := filepath.Join(m.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		m.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(m.dir, "..data")); err != nil {
		m.t.Fatal(err)
	}
	if m.prev != "" {
		if err := os.RemoveAll(m.prev); err != nil {
			m.t.Fatal(err)
		}
	}
	m.prev = ts
}

// TestConfigMapSwap: the kubelet's "..data" swap is seen by file events
// alone (no poll), whether -f names the key's file or the mounted
// directory, and the next swap is seen too (the watch follows the new
// timestamped directory).
func TestConfigMapSwap(t *testing.T) {
	for _, asDir := range []bool{false, true} {
		t.Run(map[bool]string{false: "file", true: "dir"}[asDir], func(t *testing.T) {
			m := newConfigMap(t, map[string]string{"gatehouse.cfg": "global\n", "notes.txt": "a"})
			path := filepath.Join(m.dir, "gatehouse.cfg")
			if asDir {
				path = m.dir
			}
			h := start(t, []string{path}, false, 0)
			m.swap(map[string]string{"gatehouse.cfg": "global\n    maxconn 1\n", "notes.txt": "a"})
			h.waitChanges(1)
			// A swap that changes only a key a load does not read.
			_, k, _ := h.counts()
			m.swap(map[string]string{"gatehouse.cfg": "global\n    maxconn 1\n", "notes.txt": "b"})
			h.waitChecks(k + 1)
			if c, _, _ := h.counts(); c != 1 {
				t.Fatalf("a swap of notes.txt alone: %d changes, want 1", c)
			}
			m.swap(map[string]string{"gatehouse.cfg": "global\n    maxconn 2\n", "notes.txt": "b"})
			h.waitChanges(2)
		})
	}
}

// TestDirectoryFiles: with -f DIR, a new *.cfg file is a change; a file
// of another name is not.
func TestDirectoryFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "10-global.cfg"), "global\n")
	h := start(t, []string{dir}, false, 0)
	_, k, _ := h.counts()
	write(t, filepath.Join(dir, "README"), "not configuration")
	h.waitChecks(k + 1)
	if c, _, _ := h.counts(); c != 0 {
		t.Fatalf("a README: %d changes", c)
	}
	write(t, filepath.Join(dir, "20-defaults.cfg"), "defaults\n")
	h.waitChanges(1)
}

// TestMissingFileWaits: a file that disappears is reported once and does
// not count as a change (nothing would load); its return with new
// content does.
func TestMissingFileWaits(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "gatehouse.cfg")
	write(t, f, "global\n")
	h := start(t, []string{f}, false, 0)
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the read error reported", func(_, _ int, e []string) bool { return len(e) > 0 })
	write(t, f, "global\n    maxconn 3\n")
	h.waitChanges(1)
	if c, _, e := h.counts(); c != 1 || len(e) != 1 || !strings.Contains(e[0], "keeping the running one") {
		t.Fatalf("changes %d, errors %q", c, e)
	}
}

// TestPollFallback: without file events, the poll finds the change.
func TestPollFallback(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "gatehouse.cfg")
	write(t, f, "global\n")
	h := start(t, []string{f}, true, 20*time.Millisecond)
	write(t, f, "defaults\n")
	h.waitChanges(1)
}

// TestFingerprintIgnoresPaths: the same content under another directory
// (a chroot's view) has the same sum; another name in a directory, or
// another content, does not.
func TestFingerprintIgnoresPaths(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write(t, filepath.Join(a, "x.cfg"), "global\n")
	write(t, filepath.Join(b, "x.cfg"), "global\n")
	sa, err := Fingerprint([]string{a})
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := Fingerprint([]string{b})
	if sa != sb {
		t.Error("same content, other directory: sums differ")
	}
	os.Rename(filepath.Join(b, "x.cfg"), filepath.Join(b, "y.cfg"))
	if sc, _ := Fingerprint([]string{b}); sc == sa {
		t.Error("another file name in the directory: same sum")
	}
	if _, err := Fingerprint([]string{filepath.Join(a, "missing.cfg")}); err == nil {
		t.Error("a missing file has a sum")
	}
}
