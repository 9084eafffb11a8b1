package process

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The drop is irreversible, so it runs in a child: the test binary started
// again with dropChildEnv set runs dropChild instead of the tests.
const dropChildEnv = "GATEHOUSE_PROCESS_DROP_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(dropChildEnv) != "" {
		dropChild()
		return
	}
	os.Exit(m.Run())
}

// dropChild binds a privileged port as root, starts threads, enters the
// jail and drops to nobody, then reports on stdout what it can still do
// and serves the port until stdin closes.
func dropChild() {
	jail, secret := os.Getenv("JAIL"), os.Getenv("SECRET")
	ln, err := net.Listen("tcp", os.Getenv("ADDR"))
	if err != nil {
		fmt.Println("ERR listen", err)
		os.Exit(1)
	}
	// Threads that exist before the drop must lose root too.
	for range 8 {
		go func() {
			runtime.LockOSThread()
			select {}
		}()
	}
	uid, _ := strconv.Atoi(os.Getenv("DROP_UID"))
	gid, _ := strconv.Atoi(os.Getenv("DROP_GID"))
	if err := Drop(config.Process{UID: uid, GID: gid, Chroot: jail}); err != nil {
		fmt.Println("ERR drop", err)
		os.Exit(1)
	}
	_, err = os.ReadFile(secret) // outside the jail now: must not be found
	fmt.Println("SECRET", err != nil)
	wd, _ := os.Getwd()
	_, err = os.Stat("/marker")
	fmt.Println("JAILED", wd == "/" && err == nil)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "hello\n")
			c.Close()
		}
	}()
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin)
}

// TestDropAllThreads: after Drop, every thread of the process runs as the
// new user and group with no supplementary groups, the process is inside
// its jail (a root-only file outside is gone), and the socket bound as
// root on a privileged port keeps serving.
func TestDropAllThreads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop privileges")
	}
	jail := t.TempDir()
	if err := os.WriteFile(filepath.Join(jail, "marker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := privilegedAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), dropChildEnv+"=1", "JAIL="+jail, "SECRET="+secret, "ADDR="+addr,
		"DROP_UID=65534", "DROP_GID=65534")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	report := map[string]string{}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("child exited early: %v", report)
			}
			k, v, _ := strings.Cut(l, " ")
			if k == "ERR" {
				t.Fatalf("child: %s", l)
			}
			if k == "READY" {
				break wait
			}
			report[k] = v
		case <-deadline:
			t.Fatal("the child never reported READY")
		}
	}
	if report["SECRET"] != "true" {
		t.Error("the child still reads a file outside its jail")
	}
	if report["JAILED"] != "true" {
		t.Error("the child is not at the root of its jail")
	}
	pid := cmd.Process.Pid
	if root, err := os.Readlink(fmt.Sprintf("/proc/%d/root", pid)); err != nil || root != jail {
		t.Errorf("/proc/%d/root = %q (%v), want %q", pid, root, err, jail)
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) < 2 {
		t.Fatalf("tasks: %v %v", tasks, err)
	}
	for _, task := range tasks {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(st), "\n") {
			f := strings.Fields(l)
			if len(f) == 0 {
				continue
			}
			switch f[0] {
			case "Uid:", "Gid:":
				if strings.Join(f[1:], " ") != "65534 65534 65534 65534" {
					t.Errorf("thread %s: %s (want real, effective, saved and fs all 65534)", task.Name(), l)
				}
			case "Groups:":
				if len(f) != 1 {
					t.Errorf("thread %s keeps supplementary groups: %s", task.Name(), l)
				}
			}
		}
	}
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("the privileged port bound before the drop does not serve: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != "hello\n" {
		t.Errorf("read %q, %v", l, err)
	}
}

// privilegedAddr finds a free loopback port below 1024.
func privilegedAddr(t *testing.T) string {
	t.Helper()
	for p := 1023; p > 600; p-- {
		addr := "127.0.0.1:" + strconv.Itoa(p)
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port below 1024")
	return ""
}
