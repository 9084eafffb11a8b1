package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Output collects a child's stdout and stderr: each on its own, and both
// interleaved in arrival order. Safe for concurrent use.
type Output struct {
	mu       sync.Mutex
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	combined bytes.Buffer
}

type outWriter struct {
	o   *Output
	err bool
}

func (w outWriter) Write(p []byte) (int, error) {
	w.o.mu.Lock()
	defer w.o.mu.Unlock()
	if w.err {
		w.o.stderr.Write(p)
	} else {
		w.o.stdout.Write(p)
	}
	w.o.combined.Write(p)
	return len(p), nil
}

// Stdout returns everything written to stdout so far.
func (o *Output) Stdout() string { o.mu.Lock(); defer o.mu.Unlock(); return o.stdout.String() }

// Stderr returns everything written to stderr so far.
func (o *Output) Stderr() string { o.mu.Lock(); defer o.mu.Unlock(); return o.stderr.String() }

// String returns stdout and stderr interleaved in arrival order.
func (o *Output) String() string { o.mu.Lock(); defer o.mu.Unlock(); return o.combined.String() }

// Process is a child process started for a test. It is stopped on test cleanup.
type Process struct {
	*Output
	Name string // short name for messages
	Cmd  *exec.Cmd

	done    chan struct{}
	waitErr error
}

// StartProcess starts path with args, capturing its output, and registers a
// cleanup that stops it (SIGTERM, then SIGKILL after 10s) and, if the test failed,
// logs its output.
func StartProcess(t testing.TB, name, path string, args ...string) *Process {
	t.Helper()
	p, err := startProcess(name, path, nil, args...)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.String())
		}
	})
	return p
}

func startProcess(name, path string, env []string, args ...string) (*Process, error) {
	p := &Process{Output: &Output{}, Name: name, done: make(chan struct{})}
	cmd := exec.Command(path, args...)
	cmd.Stdout = outWriter{o: p.Output}
	cmd.Stderr = outWriter{o: p.Output, err: true}
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	// Own process group (so Stop can reach grandchildren such as nginx workers),
	// and die with the test binary if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// A process that leaves a descendant holding its output (a daemon's
	// child in its own session) must not keep Wait, and so Stop, from
	// returning once it exited.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.Cmd = cmd
	go p.wait()
	return p, nil
}

func (p *Process) wait() {
	p.waitErr = p.Cmd.Wait()
	close(p.done)
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process exits.
func (p *Process) Done() <-chan struct{} { return p.done }

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error {
	if p.Exited() {
		return errors.New(p.Name + " has exited")
	}
	return p.Cmd.Process.Signal(sig)
}

// Wait waits up to timeout for the process to exit and returns its exit code
// (128+N when killed by signal N).
func (p *Process) Wait(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
		return p.ExitCode(), nil
	case <-time.After(timeout):
		return -1, fmt.Errorf("%s still running after %v", p.Name, timeout)
	}
}

// ExitCode returns the exit code of an exited process (128+N when killed by
// signal N), or -1 while it runs.
func (p *Process) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	st := p.Cmd.ProcessState
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return st.ExitCode()
}

// Stop sends SIGTERM, waits up to 10s, then kills the whole process group.
// It returns the exit code. Stopping an exited process just returns its code.
func (p *Process) Stop() int {
	if !p.Exited() {
		_ = p.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second): // WaitDelay bounds it; never hang a test run
			}
		}
	}
	// Leftovers in the group (workers whose master died) go too.
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	return p.ExitCode()
}

// WaitOutput waits until the captured output contains substr.
func (p *Process) WaitOutput(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() bool { return bytes.Contains([]byte(p.String()), []byte(substr)) },
		"%s output lacks %q; output:\n%s", p.Name, substr, lazyString(p.String))
}

// lazyString defers an expensive string until formatting.
type lazyString func() string

func (f lazyString) String() string { return f() }

var _ io.Writer = outWriter{}

// WaitTCP waits until addr accepts connections, failing at once (with the
// output) if the process exits first.
func (p *Process) WaitTCP(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	var exited bool
	ok := poll(timeout, func() bool {
		if p.Exited() {
			exited = true
			return true
		}
		return DialTCP(addr, 0) == nil
	})
	switch {
	case exited:
		t.Fatalf("%s exited (code %d) before listening on %s; output:\n%s", p.Name, p.ExitCode(), addr, p.String())
	case !ok:
		t.Fatalf("%s not listening on %s after %v; output:\n%s", p.Name, addr, timeout, p.String())
	}
}
