package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// pidsIn reads the PIDs a program script appended to file.
func pidsIn(file string) []int {
	b, _ := os.ReadFile(file)
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func waitPids(t *testing.T, file string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		p := pidsIn(file)
		if len(p) >= n {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d starts within 30s", file, len(p), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs after 30s", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestProgramSections: programs start with Gatehouse; a reload stops and
// starts again the one with start-on-reload (the default) and keeps the
// one without; exits are logged with their code; Gatehouse's exit stops
// them all.
func TestProgramSections(t *testing.T) {
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
program keep
    command sh -c 'echo $$ >> %[1]s/keep; exec sleep 1000'
    no option start-on-reload
program again
    command sh -c 'echo $$ >> %[1]s/again; exec sleep 1000'
    option start-on-reload
program fail
    command sh -c 'exit 3'
defaults
    mode http
    timeout client 5s
    timeout connect 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%[2]d
    http-request return status 200
`, dir, testenv.FreePort(t))
	g := testenv.StartGatehouse(t, cfg)
	keep := waitPids(t, dir+"/keep", 1)[0]
	again := waitPids(t, dir+"/again", 1)[0]
	g.WaitOutput(t, "program 'fail' (", 30*time.Second)
	g.WaitOutput(t, "exited with code 3", 30*time.Second)
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	again2 := waitPids(t, dir+"/again", 2)[1]
	waitDead(t, again)
	if !alive(again2) {
		t.Errorf("the restarted program %d is not running", again2)
	}
	if p := pidsIn(dir + "/keep"); len(p) != 1 || !alive(keep) {
		t.Errorf("'no option start-on-reload' program restarted or stopped: starts %v, %d alive %v", p, keep, alive(keep))
	}
	g.Stop()
	waitDead(t, keep)
	waitDead(t, again2)
}
