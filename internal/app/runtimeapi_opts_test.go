package app

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRuntimeAPIGlobalStatsOptions: stats timeout, stats maxconn, the
// default level (operator), a TCP socket and a unix socket's mode and
// group, each doing what HAProxy documents.
func TestRuntimeAPIGlobalStatsOptions(t *testing.T) {
	dir := t.TempDir()
	tcpPort := freePort(t)
	gid := os.Getgid()
	cfg := fmt.Sprintf(`
global
    stats timeout 400ms
    stats maxconn 1
    stats socket %s/op.sock mode 640 gid %d expose-fd listeners
    stats socket ipv4@127.0.0.1:%d level user
`, dir, gid, tcpPort) + testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:1
`, freePort(t))
	c, err := parseText(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].Error(), "'expose-fd listeners' is implied in Gatehouse: reload is in process, listening sockets stay open") {
		t.Fatalf("warnings %v, want the expose-fd one", c.Warnings)
	}
	start(t, cfg)
	op := filepath.Join(dir, "op.sock")

	fi, err := os.Stat(op)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 || int(fi.Sys().(*syscall.Stat_t).Gid) != gid {
		t.Errorf("socket mode %o gid %d, want 640 and %d", fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Gid, gid)
	}
	// No level: operator, HAProxy's default; show sess needs operator.
	if got := cli(t, op, "show sess"); strings.Contains(got, "Permission denied") {
		t.Errorf("show sess on a socket without level: %q", got)
	}
	// The TCP socket at level user refuses it as HAProxy does.
	tc, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tc.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(tc, "show sess\n")
	b, _ := io.ReadAll(tc)
	tc.Close()
	if string(b) != "Permission denied\n\n" {
		t.Errorf("show sess at level user over TCP: %q", b)
	}

	// stats maxconn 1: an open session keeps the next one waiting.
	c1, err := net.DialTimeout("unix", op, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c1.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c1, "prompt\n")
	br := bufio.NewReader(c1)
	if _, err := br.ReadString('>'); err != nil {
		t.Fatal(err)
	}
	opened := time.Now()
	c2, err := net.DialTimeout("unix", op, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	io.WriteString(c2, "show info\n")
	c2.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	var one [1]byte
	if n, err := c2.Read(one[:]); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("second session served at stats maxconn 1: n=%d err=%v", n, err)
	}
	// stats timeout 400ms closes the idle first session, which lets the
	// second in.
	if rest, err := io.ReadAll(br); err != nil || strings.TrimSpace(string(rest)) != "" {
		t.Fatalf("idle session: %q %v", rest, err)
	}
	if d := time.Since(opened); d < 300*time.Millisecond {
		t.Errorf("idle session closed after %v, before stats timeout 400ms", d)
	}
	c2.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err = io.ReadAll(c2)
	if err != nil || !strings.Contains(string(b), "Name: Gatehouse") {
		t.Fatalf("waiting session: %q %v", b, err)
	}
}

// TestRuntimeAPITCPSocketAcrossReload: a TCP runtime API socket stays
// open across a reload (a session opened before it is answered after
// it) and takes the new configuration's level.
func TestRuntimeAPITCPSocketAcrossReload(t *testing.T) {
	api, fePort := freePort(t), freePort(t)
	cfg := func(level string) string {
		return fmt.Sprintf("global\n    stats socket ipv4@127.0.0.1:%d level %s\n", api, level) + testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:1
`, fePort)
	}
	rt := start(t, cfg("user"))
	addr := fmt.Sprintf("127.0.0.1:%d", api)
	ask := func(c net.Conn, line string) string {
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, line+"\n")
		b, _ := io.ReadAll(c)
		c.Close()
		return string(b)
	}
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := ask(dial(), "show sess"); got != "Permission denied\n\n" {
		t.Fatalf("level user: %q", got)
	}
	early := dial() // opened before the reload, its command sent after
	c, err := parseText(cfg("admin"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(c, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Apply(g); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got := ask(early, "show sess"); strings.Contains(got, "Permission denied") || !strings.Contains(got, "proto=tcpv4 src=127.0.0.1:") {
		t.Errorf("session from before the reload, after it at level admin: %q", got)
	}
}
