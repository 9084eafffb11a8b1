package integration

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// pipeSizes are the sizes (F_GETPIPE_SZ) of the pipes process pid holds,
// each opened anew through /proc.
func pipeSizes(t *testing.T, pid int) map[int]bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]bool{}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if l, err := os.Readlink(p); err != nil || !strings.HasPrefix(l, "pipe:") {
			continue
		}
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != nil {
			continue // closed meanwhile
		}
		n, _, errno := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETPIPE_SZ, 0)
		syscall.Close(fd)
		if errno == 0 {
			out[int(n)] = true
		}
	}
	return out
}

// TestPipeSizeMatchesHAProxy: a spliced tunnel's pipes are the size
// tune.pipesize asks, with HAProxy 2.6 and Gatehouse alike, read from the
// proxy's own pipes while the tunnel is open.
func TestPipeSizeMatchesHAProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }() // echo
		}
	}()
	const size = 128 << 10
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`global
    tune.pipesize %d

defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen tunnel
    bind 127.0.0.1:%d
    option splice-request
    option splice-response
    server s1 %s
`, size, port, ln.Addr())
		var pid int
		var stop func()
		if name == "haproxy" {
			h := testenv.StartHAProxy(t, cfg)
			pid, stop = h.Cmd.Process.Pid, func() { h.Stop() }
		} else {
			g := testenv.StartGatehouse(t, cfg)
			pid, stop = g.Cmd.Process.Pid, func() { g.Stop() }
		}
		c, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		data := bytes.Repeat([]byte("spliced-"), 256<<10) // 2 MiB each way
		go c.Write(data)
		got := make([]byte, len(data))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: echo through the tunnel: %v", name, err)
		}
		var sizes map[int]bool
		testenv.Eventually(t, 10*time.Second, func() bool {
			sizes = pipeSizes(t, pid)
			return sizes[size]
		}, "%s: no pipe of %d bytes among %v", name, size, sizes)
		t.Logf("%s: pipe sizes %v", name, sizes)
		c.Close()
		stop()
	}
}
