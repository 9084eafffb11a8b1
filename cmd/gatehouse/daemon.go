package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// daemonEnv tells a daemon's child which descriptor reports readiness.
const daemonEnv = "GATEHOUSE_DAEMON_READY_FD"

// daemonChild is set in the process -D started; read once at start.
var daemonChild = os.Getenv(daemonEnv) != ""

func isDaemonChild() bool { return daemonChild }

// daemonize is -D (and 'daemon'): Go cannot fork a running runtime, so
// the binary starts itself again in a new session and waits until that
// child serves (listeners bound, privileges dropped) or fails. The
// command exits 0 once the child serves, or with the child's status, so
// an init script sees a failed start as HAProxy's -D shows it.
func daemonize(args []string, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] daemon: cannot find the executable: %v\n", err)
		return 1
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT] daemon: %v\n", err)
		return 1
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the child
	cmd.Stderr = stderr            // start-up errors still reach the terminal
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "[ALERT] daemon: %v\n", err)
		return 1
	}
	w.Close()
	buf := make([]byte, 1)
	n, _ := r.Read(buf) // "1" once serving; EOF if the child died
	r.Close()
	if n == 1 {
		cmd.Process.Release()
		return 0
	}
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
	}
	return 1
}

// daemonReady tells the waiting parent the child serves, then detaches
// the standard streams as HAProxy's daemon mode does: nothing more goes
// to the terminal (logs go to the configured log targets).
func daemonReady() {
	f := os.NewFile(3, "ready")
	f.Write([]byte("1"))
	f.Close()
	os.Unsetenv(daemonEnv)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return
	}
	for fd := 0; fd <= 2; fd++ {
		syscall.Dup3(int(null.Fd()), fd, 0)
	}
	null.Close()
}
