package process

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

func nofile(t *testing.T) syscall.Rlimit {
	t.Helper()
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSetLimits: ulimit-n sets RLIMIT_NOFILE, fd-hard-limit only lowers
// it, and a limit that cannot be set fails under strict-limits and warns
// without.
func TestSetLimits(t *testing.T) {
	orig := nofile(t)
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	if orig.Cur < 600 {
		t.Skipf("RLIMIT_NOFILE %d is too low to test", orig.Cur)
	}
	if w, err := SetLimits(config.Process{UlimitN: 500}); err != nil || w != "" {
		t.Fatalf("ulimit-n 500: %q %v", w, err)
	}
	if got := nofile(t); got.Cur != 500 || got.Max != orig.Max {
		t.Errorf("after ulimit-n 500: %+v (hard was %d)", got, orig.Max)
	}
	if w, err := SetLimits(config.Process{FDHardLimit: 400}); err != nil || w != "" {
		t.Fatalf("fd-hard-limit 400: %q %v", w, err)
	}
	if got := nofile(t).Cur; got != 400 {
		t.Errorf("after fd-hard-limit 400: %d", got)
	}
	if _, err := SetLimits(config.Process{FDHardLimit: 450}); err != nil {
		t.Fatal(err)
	}
	if got := nofile(t).Cur; got != 400 {
		t.Errorf("fd-hard-limit above the current limit raised it to %d", got)
	}
	// Above the kernel's nr_open even root cannot go.
	huge := 1 << 30
	if _, err := SetLimits(config.Process{UlimitN: huge}); err == nil || !strings.Contains(err.Error(), "Cannot raise FD limit") {
		t.Errorf("strict-limits: %v, want an error", err)
	}
	w, err := SetLimits(config.Process{UlimitN: huge, NoStrictLimits: true})
	if err != nil || !strings.Contains(w, "Cannot raise FD limit") {
		t.Errorf("no strict-limits: %q %v, want a warning", w, err)
	}
}

// TestApplyEnv replays the environment keywords on the process.
func TestApplyEnv(t *testing.T) {
	t.Setenv("GH_KEEP", "k")
	t.Setenv("GH_DROP", "d")
	t.Setenv("GH_PRE", "old")
	ApplyEnv([]config.EnvOp{
		{Op: "setenv", Names: []string{"GH_SET"}, Value: "v"},
		{Op: "presetenv", Names: []string{"GH_PRE"}, Value: "new"},
		{Op: "presetenv", Names: []string{"GH_FRESH"}, Value: "f"},
		{Op: "unsetenv", Names: []string{"GH_DROP"}},
	})
	t.Cleanup(func() { os.Unsetenv("GH_SET"); os.Unsetenv("GH_FRESH") })
	for k, want := range map[string]string{"GH_SET": "v", "GH_PRE": "old", "GH_FRESH": "f", "GH_KEEP": "k"} {
		if got := os.Getenv(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if _, ok := os.LookupEnv("GH_DROP"); ok {
		t.Error("GH_DROP survived unsetenv")
	}
	saved := os.Environ()
	t.Cleanup(func() {
		os.Clearenv()
		for _, kv := range saved {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	})
	ApplyEnv([]config.EnvOp{{Op: "resetenv", Names: []string{"GH_KEEP", "PATH"}}})
	var left []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		left = append(left, k)
	}
	if strings.Join(left, ",") != "GH_KEEP,PATH" && strings.Join(left, ",") != "PATH,GH_KEEP" {
		t.Errorf("after resetenv GH_KEEP PATH: %v", left)
	}
}

func TestWritePidfile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gh.pid")
	os.WriteFile(p, []byte("99999\n77777\n"), 0o644)
	if err := WritePidfile(p, 1234); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "1234\n" {
		t.Errorf("pidfile holds %q", b)
	}
	if err := WritePidfile(filepath.Join(t.TempDir(), "no", "such", "dir.pid"), 1); err == nil {
		t.Error("a pidfile in a missing directory did not fail")
	}
}

// TestNotifier: -Ws speaks systemd's datagram protocol on NOTIFY_SOCKET,
// abstract ("@") sockets included, and hides the variable from children.
func TestNotifier(t *testing.T) {
	for _, name := range []string{filepath.Join(t.TempDir(), "notify.sock"), "@gatehouse-notify-test-" + filepath.Base(t.TempDir())} {
		ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		t.Setenv("NOTIFY_SOCKET", name)
		n := NewNotifier()
		if _, ok := os.LookupEnv("NOTIFY_SOCKET"); ok {
			t.Error("NOTIFY_SOCKET still set")
		}
		if err := n.Send("READY=1"); err != nil {
			t.Fatal(err)
		}
		if err := n.Reloading(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 256)
		ln.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, err := ln.Read(buf)
		if err != nil || string(buf[:k]) != "READY=1" {
			t.Errorf("%s: first message %q %v", name, buf[:k], err)
		}
		k, err = ln.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:k]), "RELOADING=1\nMONOTONIC_USEC=") {
			t.Errorf("%s: second message %q %v", name, buf[:k], err)
		}
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := NewNotifier().Send("READY=1"); err != nil {
		t.Errorf("without a socket: %v", err)
	}
	var nilNotifier *Notifier
	if err := nilNotifier.Reloading(); err != nil {
		t.Errorf("nil notifier: %v", err)
	}
}

// TestSetLimitsForMaxconn: without ulimit-n, a soft limit below what the
// global maxconn needs is raised to it, as HAProxy raises RLIMIT_NOFILE
// to its maxsock; past the hard limit it is the strict-limits error.
func TestSetLimitsForMaxconn(t *testing.T) {
	orig := nofile(t)
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	if orig.Max < 2000 {
		t.Skipf("RLIMIT_NOFILE hard limit %d is too low to test", orig.Max)
	}
	low := syscall.Rlimit{Cur: 1000, Max: orig.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	if w, err := SetLimitsFor(config.Process{}, 1500); err != nil || w != "" {
		t.Fatalf("need 1500: %q %v", w, err)
	}
	if got := nofile(t).Cur; got != 1500 {
		t.Errorf("soft limit %d after needing 1500", got)
	}
	if _, err := SetLimitsFor(config.Process{}, 1200); err != nil || nofile(t).Cur != 1500 {
		t.Errorf("a smaller need lowered the limit to %d (%v)", nofile(t).Cur, err)
	}
	if _, err := SetLimitsFor(config.Process{FDHardLimit: 1600}, 1800); err != nil || nofile(t).Cur != 1600 {
		t.Errorf("fd-hard-limit 1600 with need 1800: %d (%v)", nofile(t).Cur, err)
	}
	huge := 1 << 30
	if _, err := SetLimitsFor(config.Process{}, huge); err == nil || !strings.Contains(err.Error(), "Cannot raise FD limit") {
		t.Errorf("strict-limits: %v, want an error", err)
	}
	if w, err := SetLimitsFor(config.Process{NoStrictLimits: true}, huge); err != nil || !strings.Contains(w, "Cannot raise FD limit") {
		t.Errorf("no strict-limits: %q %v, want a warning", w, err)
	}
}

// TestSetLimitsForUlimitBelowNeed: a ulimit-n below what the global
// maxconn needs is raised to the need, as HAProxy 2.6 does.
func TestSetLimitsForUlimitBelowNeed(t *testing.T) {
	orig := nofile(t)
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	if orig.Max < 2000 {
		t.Skipf("RLIMIT_NOFILE hard limit %d is too low to test", orig.Max)
	}
	if w, err := SetLimitsFor(config.Process{UlimitN: 500}, 1200); err != nil || w != "" {
		t.Fatalf("ulimit-n 500, need 1200: %q %v", w, err)
	}
	if got := nofile(t).Cur; got != 1200 {
		t.Errorf("soft limit %d, want the need (1200)", got)
	}
	if _, err := SetLimitsFor(config.Process{UlimitN: 500}, 1<<30); err == nil || !strings.Contains(err.Error(), "Cannot raise FD limit") {
		t.Errorf("a need past the hard limit: %v, want the strict-limits error", err)
	}
}
