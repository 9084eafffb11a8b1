package lock

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestDirStaleTakeoverRace: of many replicas that find the same stale lock
// at once, exactly one gets the name.
func TestDirStaleTakeoverRace(t *testing.T) {
	dir := t.TempDir()
	crashed, err := NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		name := fmt.Sprintf("race-%d", round)
		// A holder that crashed a while ago.
		if err := crashed.create(crashed.fileName("lock-", name), crashed.encode(newToken(), time.Now().Add(-time.Second))); err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []func()
		start := make(chan struct{})
		for range n {
			d, err := NewDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				unlock, ok, err := d.Lock(bg(t), name, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won = append(won, unlock)
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(won) != 1 {
			t.Fatalf("round %d: %d replicas took the stale lock, want exactly 1", round, len(won))
		}
		won[0]()
	}
	if left, _ := filepath.Glob(filepath.Join(dir, tmpPrefix+"*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

// TestDirDamagedLock: a lock file this code did not write blocks the name
// for ttl from its modification time, not forever.
func TestDirDamagedLock(t *testing.T) {
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := d.fileName("lock-", "damaged")
	if err := os.WriteFile(p, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustNotLock(t, d, "damaged")
	old := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	mustLock(t, d, "damaged", time.Minute)()
}

// TestDirSweep: a new Dir removes expired challenges nobody asked for and
// old temporary files, and leaves live challenges and locks.
func TestDirSweep(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := bg(t)
	if err := d.Put(ctx, "old", "old.x", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "live", "live.x", time.Minute); err != nil {
		t.Fatal(err)
	}
	unlock := mustLock(t, d, "held", time.Minute)
	defer unlock()
	tmp := filepath.Join(dir, tmpPrefix+"crashed")
	if err := os.WriteFile(tmp, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(tmp, old, old); err != nil {
		t.Fatal(err)
	}
	oldChallenge := d.fileName(challengePrefix, "old")
	testenv.Eventually(t, 20*time.Second, func() bool {
		if _, err := NewDir(dir); err != nil {
			t.Fatal(err)
		}
		_, err := os.Stat(oldChallenge)
		return os.IsNotExist(err)
	}, "the expired challenge file is still there")
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("old temporary file: %v", err)
	}
	if v, ok, err := d.Get(ctx, "live"); !ok || err != nil || v != "live.x" {
		t.Fatalf("live challenge: %q %v %v", v, ok, err)
	}
	mustNotLock(t, d, "held")
}

// TestDirFileNames: any name stays one file inside the directory.
func TestDirFileNames(t *testing.T) {
	d := &Dir{dir: "/shared"}
	for name, want := range map[string]string{
		"*.example.com":          "/shared/lock-%2A.example.com",
		"../../etc/passwd":       "/shared/lock-..%2F..%2Fetc%2Fpasswd",
		"..":                     "/shared/lock-..",
		strings.Repeat("a", 300): "/shared/lock-sha256-",
	} {
		if got := d.fileName("lock-", name); !strings.HasPrefix(got, want) || filepath.Dir(got) != "/shared" {
			t.Errorf("fileName(%q) = %s, want %s", name, got, want)
		}
	}
}

// TestDirAcrossProcesses: processes contending for one name through the
// directory never hold it at the same time. Each child (this test binary
// again) takes the lock a number of times and logs when it enters and
// leaves; the log must show no overlap.
func TestDirAcrossProcesses(t *testing.T) {
	if os.Getenv("GH_LOCK_CHILD_DIR") != "" {
		t.Skip("child mode is TestDirLockChild")
	}
	dir := t.TempDir()
	logFile := filepath.Join(dir, "log")
	const children, rounds = 4, 15
	var cmds []*exec.Cmd
	for range children {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDirLockChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GH_LOCK_CHILD_DIR="+filepath.Join(dir, "locks"),
			"GH_LOCK_CHILD_LOG="+logFile, "GH_LOCK_CHILD_ROUNDS="+strconv.Itoa(rounds))
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			if t.Failed() {
				t.Logf("child %d:\n%s", cmd.Process.Pid, out)
			}
		})
	}
	done := make(chan error, children)
	for _, c := range cmds {
		go func() { done <- c.Wait() }()
	}
	deadline := time.After(120 * time.Second)
	for range children {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child: %v", err)
			}
		case <-deadline:
			t.Fatal("children did not finish within 120s")
		}
	}
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	holder, entries := "", 0
	for sc.Scan() {
		kind, who, _ := strings.Cut(sc.Text(), " ")
		switch {
		case kind == "enter" && holder == "":
			holder = who
			entries++
		case kind == "leave" && holder == who:
			holder = ""
		default:
			t.Fatalf("line %q while %q holds the lock: two holders at once", sc.Text(), holder)
		}
	}
	if entries != children*rounds {
		t.Fatalf("%d entries, want %d", entries, children*rounds)
	}
}

// TestDirLockChild is TestDirAcrossProcesses' child; it does nothing in an
// ordinary run.
func TestDirLockChild(t *testing.T) {
	dir := os.Getenv("GH_LOCK_CHILD_DIR")
	if dir == "" {
		return
	}
	d, err := NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rounds, _ := strconv.Atoi(os.Getenv("GH_LOCK_CHILD_ROUNDS"))
	log, err := os.OpenFile(os.Getenv("GH_LOCK_CHILD_LOG"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	me := strconv.Itoa(os.Getpid())
	for i := 0; i < rounds; {
		unlock, ok, err := d.Lock(bg(t), "shared", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			time.Sleep(time.Millisecond) // someone else's turn
			continue
		}
		fmt.Fprintf(log, "enter %s-%d\n", me, i)
		// Work under the lock long enough for the others to try.
		for range 20 {
			if _, ok, _ := d.Lock(bg(t), "shared", time.Minute); ok {
				t.Fatal("took a lock this process holds")
			}
		}
		fmt.Fprintf(log, "leave %s-%d\n", me, i)
		unlock()
		i++
	}
}
