// Package program runs the "program" sections: a command started beside
// Gatehouse, stopped with SIGTERM (then SIGKILL after a grace) when
// Gatehouse exits or a reload replaces it, its exits logged as HAProxy's
// master logs them.
package program

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// StopGrace is how long a stopped program has to exit after SIGTERM.
const StopGrace = 5 * time.Second

// Options describe one program.
type Options struct {
	Name     string
	Command  []string
	UID, GID int // -1: unchanged
	// Log receives "started" and "exited" messages.
	Log func(format string, args ...any)
}

// Runner is one program instance.
type Runner struct {
	o       Options
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	stopped bool
	adopted bool // a reload's new Runner took the process over
}

// New prepares a program; Start runs it.
func New(o Options) *Runner { return &Runner{o: o} }

func (r *Runner) logf(format string, args ...any) {
	if r.o.Log != nil {
		r.o.Log(format, args...)
	}
}

// Start runs the command once. A failure to start is logged.
func (r *Runner) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil || r.stopped {
		return
	}
	cmd := exec.Command(r.o.Command[0], r.o.Command[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if r.o.UID >= 0 || r.o.GID >= 0 {
		c := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), NoSetGroups: true}
		if r.o.UID >= 0 {
			c.Uid = uint32(r.o.UID)
		}
		if r.o.GID >= 0 {
			c.Gid = uint32(r.o.GID)
		}
		cmd.SysProcAttr.Credential = c
	}
	if err := cmd.Start(); err != nil {
		r.logf("program '%s': cannot start: %v", r.o.Name, err)
		return
	}
	r.cmd, r.done = cmd, make(chan struct{})
	r.logf("program '%s' started (pid %d)", r.o.Name, cmd.Process.Pid)
	go r.wait(cmd, r.done)
}

func (r *Runner) wait(cmd *exec.Cmd, done chan struct{}) {
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		r.logf("program '%s' (%d) exited with code 0", r.o.Name, cmd.Process.Pid)
	case errors.As(err, &ee) && ee.Exited():
		r.logf("program '%s' (%d) exited with code %d", r.o.Name, cmd.Process.Pid, ee.ExitCode())
	case errors.As(err, &ee):
		r.logf("program '%s' (%d) exited: %v", r.o.Name, cmd.Process.Pid, ee.ProcessState)
	default:
		r.logf("program '%s' (%d): %v", r.o.Name, cmd.Process.Pid, err)
	}
	close(done)
}

// PID is the running instance's process id, 0 without one.
func (r *Runner) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return 0
	}
	select {
	case <-r.done:
		return 0
	default:
		return r.cmd.Process.Pid
	}
}

// Same reports whether o runs the same command as r, as a reload needs
// to keep r's instance.
func (r *Runner) Same(o Options) bool {
	if r.o.Name != o.Name || r.o.UID != o.UID || r.o.GID != o.GID || len(r.o.Command) != len(o.Command) {
		return false
	}
	for i := range o.Command {
		if r.o.Command[i] != o.Command[i] {
			return false
		}
	}
	return true
}

// Adopt makes r the owner of old's instance ("no option start-on-reload"):
// old's Stop then leaves it running, and r does not start another.
func (r *Runner) Adopt(old *Runner) {
	old.mu.Lock()
	cmd, done := old.cmd, old.done
	old.adopted = true
	old.mu.Unlock()
	r.mu.Lock()
	r.cmd, r.done = cmd, done
	r.mu.Unlock()
}

// Stop sends SIGTERM to the program's process group, SIGKILL after
// StopGrace, and waits for it; an adopted instance is left running.
func (r *Runner) Stop() {
	r.mu.Lock()
	r.stopped = true
	cmd, done, adopted := r.cmd, r.done, r.adopted
	r.mu.Unlock()
	if cmd == nil || adopted {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(StopGrace):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// String names the program for messages.
func (r *Runner) String() string { return fmt.Sprintf("program '%s'", r.o.Name) }
