// Package testenv holds helpers for integration tests that start real processes on
// loopback: nginx acting as an Istio ingress gateway (SNI-strict TLS, 404 on an
// unknown Host, an echo of what reached it), HAProxy for side-by-side runs, and the
// gatehouse binary itself.
//
// The tools are installed by scripts/test.sh (the project's test command). A test
// that needs one and does not find it fails, it never skips: run scripts/test.sh.
//
// Nothing here sleeps and hopes: readiness is polled (WaitTCP, Eventually).
package testenv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SeedHost is the host name the seed configs send to the gateway. scripts/test.sh
// maps it to 127.0.0.1 in /etc/hosts.
const SeedHost = "helloworld.zufardhiyaulhaq.tech"

// sbinDirs are searched after PATH: Debian installs nginx and haproxy in /usr/sbin,
// which is not on an ordinary user's PATH.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// LookBinary returns the path of an executable named name, searching PATH and then
// the sbin directories.
func LookBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found on PATH or in %s", name, strings.Join(sbinDirs, ", "))
}

// RequireBinary returns the path of the named tool. When it is missing the test
// fails (it does not skip): the test command, scripts/test.sh, installs it.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := LookBinary(name)
	if err != nil {
		t.Fatalf("%v; run scripts/test.sh (or `make test`), which installs the integration test tools", err)
	}
	return p
}

// RequireHostsEntry fails the test unless name resolves to 127.0.0.1, as
// scripts/test.sh arranges for SeedHost.
func RequireHostsEntry(t testing.TB, name string) {
	t.Helper()
	addrs, err := net.LookupHost(name)
	if err == nil {
		for _, a := range addrs {
			if a == "127.0.0.1" {
				return
			}
		}
	}
	t.Fatalf("%s does not resolve to 127.0.0.1 (got %v, %v); run scripts/test.sh, which adds it to /etc/hosts", name, addrs, err)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// The usual caveat applies: another process may take it before the caller binds it.
func FreePort(t testing.TB) int {
	t.Helper()
	// Ports come from below the kernel's ephemeral range, so no other
	// process's "listen on :0" and no outgoing connection takes one
	// between this call and the bind (go test runs packages as parallel
	// processes, each binding many listeners). Each process starts at its
	// own random place in the range, never hands a port out twice, and
	// checks that the port is free right now.
	givenMu.Lock()
	defer givenMu.Unlock()
	lo, hi := portRange()
	if next == 0 {
		next = lo + rand.IntN(hi-lo)
	}
	for range hi - lo {
		port := next
		if next++; next >= hi {
			next = lo
		}
		// 10080 is on the browsers' unsafe-port list (Chromium refuses
		// to load a page from it): never hand it out.
		if given[port] || port == 10080 {
			continue
		}
		l, err := net.Listen("tcp", LocalAddr(port))
		if err != nil {
			continue
		}
		l.Close()
		given[port] = true
		return port
	}
	t.Fatalf("FreePort: no free port in %d-%d", lo, hi-1)
	return 0
}

var (
	givenMu sync.Mutex
	given   = map[int]bool{}
	next    int // the next port to try, once chosen
)

// portRange is [lo, hi): the ports between 10000 and the start of the
// kernel's ephemeral range (ip_local_port_range), or 20000-32768 when that
// cannot be read or leaves too few.
func portRange() (lo, hi int) {
	lo, hi = 10000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 20000, 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 2 {
		if eph, err := strconv.Atoi(f[0]); err == nil && eph-lo >= 4096 {
			hi = eph
		} else {
			return 20000, 32768
		}
	}
	return lo, hi
}

// LocalAddr returns "127.0.0.1:PORT".
func LocalAddr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// DialTCP tries to connect to addr until timeout and reports the last error.
func DialTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		c, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		last = err
		if time.Now().After(deadline) {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitTCP waits until addr accepts TCP connections, failing the test after timeout.
func WaitTCP(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	if err := DialTCP(addr, timeout); err != nil {
		t.Fatalf("WaitTCP %s: not accepting after %v: %v", addr, timeout, err)
	}
}

// WaitTCPClosed waits until addr refuses TCP connections.
func WaitTCPClosed(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() bool {
		c, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}, "%s still accepting connections", addr)
}

// Eventually polls cond every 20ms until it returns true, failing the test with
// msg (a format string with args) after timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("after %v: "+msg, append([]any{timeout}, args...)...)
	}
}

func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ModuleRoot returns the directory holding the module's go.mod, found by walking up
// from the working directory (go test runs in the package directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/gatehouse/gatehouse") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod of github.com/gatehouse/gatehouse not found above the working directory")
		}
		dir = parent
	}
}

// TCPPair connects to ln and returns both ends of the loopback TCP
// connection; both are closed when the test ends.
func TCPPair(t testing.TB, ln net.Listener) (client, server *net.TCPConn) {
	t.Helper()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		c.Close()
		t.Fatal("accept failed")
	}
	client, server = c.(*net.TCPConn), s.(*net.TCPConn)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// RefusedPort returns a port on 127.0.0.1 that refuses connections for the
// rest of the test: a socket is bound to it but never listens, so no other
// listener can take it. The port is below the kernel's ephemeral range, so a
// connection to it can never be given the same source port and connect to
// itself (TCP simultaneous open), which a closed ephemeral port allows.
func RefusedPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := FreePort(t)
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("RefusedPort: socket: %v", err)
		}
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			syscall.Close(fd)
			continue
		}
		t.Cleanup(func() { syscall.Close(fd) })
		return port
	}
	t.Fatal("RefusedPort: no port could be bound")
	return 0
}
