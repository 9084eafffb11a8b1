//go:build linux

package app

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// TestParkedMaxconnStatsReload: parked keep-alive connections keep their
// maxconn slot and count as current sessions until they really end; a
// client closing a parked connection frees its slot exactly once; a reload
// moves the old runtime's parked connections to the new one at once, and a
// stop does not wait for them.
func TestParkedMaxconnStatsReload(t *testing.T) {
	be := echoBackend(t, "b1")
	port := freePort(t)
	cfg := testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    maxconn 2
    timeout http-keep-alive 30s
    default_backend app
backend app
    server s1 %s
`, port, hostPort(be))
	c, err := parseText(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(c, "test")
	if err != nil {
		t.Fatal(err)
	}
	g.Proc.ParkAfter = 50 * time.Millisecond
	rt := NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := rt.Apply(g); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = rt.Shutdown()
		}
	})
	fe := g.Frontends[0]
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	get := func(c net.Conn) {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		if resp, _ := readResponse(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	waitParked := func(n int) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); g.Proc.Parked() != n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("parked %d, want %d", g.Proc.Parked(), n)
			}
		}
	}
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		get(c)
		held = append(held, c)
	}
	waitParked(2)
	if cur := fe.Counters.CurSess.Load(); cur != 2 {
		t.Fatalf("current sessions with 2 parked: %d", cur)
	}
	third, err := net.Dial("tcp", addr) // waits in the backlog: maxconn 2
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	io.WriteString(third, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _ := third.Read(make([]byte, 1)); n != 0 {
		t.Fatal("a third connection was served while 2 parked held maxconn 2")
	}
	held[0].Close() // resumes, reads EOF, ends: the slot frees
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, _ := readResponse(t, bufio.NewReader(third), "GET"); resp.StatusCode != 200 {
		t.Fatalf("third: status %d", resp.StatusCode)
	}
	waitParked(2)
	if cur := fe.Counters.CurSess.Load(); cur != 2 {
		t.Fatalf("current sessions: %d, want 2", cur)
	}

	// Reload: the old runtime's parked connections move to the new one,
	// parked there, and are served by it.
	g2, err := Build(c, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Apply(g2); err != nil {
		t.Fatal(err)
	}
	fe2 := g2.Frontends[0]
	for end := time.Now().Add(20 * time.Second); g2.Proc.Parked() != 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("new runtime parked %d, want the 2 moved", g2.Proc.Parked())
		}
	}
	if cur := fe.Counters.CurSess.Load(); cur != 0 || g.Proc.ActConn.Load() != 0 || g.Proc.Parked() != 0 {
		t.Fatalf("old runtime after reload: cur %d act %d parked %d", cur, g.Proc.ActConn.Load(), g.Proc.Parked())
	}
	if cur := fe2.Counters.CurSess.Load(); cur != 2 {
		t.Fatalf("new runtime's current sessions: %d, want the 2 moved", cur)
	}
	for _, c := range []net.Conn{held[1], third} {
		get(c)
	}
	if n := fe2.Counters.ReqTot.Load(); n != 2 {
		t.Fatalf("the new runtime served %d requests, want 2", n)
	}
	// The moved connections keep the old frontend's maxconn slots; the
	// new frontend's are free: two new connections are served and park
	// too; a stop closes them all without waiting.
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		get(c)
	}
	for end := time.Now().Add(20 * time.Second); g2.Proc.Parked() != 4; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("new runtime parked %d, want 4", g2.Proc.Parked())
		}
	}
	began := time.Now()
	stopped = true
	if err := rt.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("shutdown took %v with parked connections", d)
	}
}

// TestParkedLogTimers: the request that resumes a parked connection is
// logged with the timers it has without parking (%Ti: the wait since the
// previous response; %Tt; the request counter).
func TestParkedLogTimers(t *testing.T) {
	type fields struct{ ti, tt, rt, st int }
	run := func(parkAfter time.Duration) fields {
		be := echoBackend(t, "b1")
		sink, next := udpLogSink(t)
		port := freePort(t)
		c, err := parseText(testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    log udp@%s format raw local0
    log-format "Ti=%%Ti Tt=%%Tt rt=%%rt st=%%ST"
    timeout http-keep-alive 30s
    default_backend app
backend app
    server s1 %s
`, port, sink, hostPort(be)))
		if err != nil {
			t.Fatal(err)
		}
		g, err := Build(c, "test")
		if err != nil {
			t.Fatal(err)
		}
		g.Proc.ParkAfter = parkAfter
		rt := NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := rt.Apply(g); err != nil {
			t.Fatal(err)
		}
		defer rt.Shutdown()
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		var line string
		for i := 0; i < 2; i++ {
			io.WriteString(conn, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			readResponse(t, br, "GET")
			line = next()
			if i == 0 {
				time.Sleep(300 * time.Millisecond)
				if parked := g.Proc.Parked(); (parked == 1) != (parkAfter > 0) {
					t.Fatalf("parkAfter %v: %d parked", parkAfter, parked)
				}
			}
		}
		var f fields
		if _, err := fmt.Sscanf(line[strings.Index(line, "Ti="):], "Ti=%d Tt=%d rt=%d st=%d", &f.ti, &f.tt, &f.rt, &f.st); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		return f
	}
	goroutine, parked := run(-1), run(50*time.Millisecond)
	// Both idle periods are a 300 ms sleep, which a busy machine stretches
	// unevenly; a parking bug shows as a lost (0) or doubled idle time.
	near := func(a, b int) bool { return a-b < 200 && b-a < 200 }
	if parked.tt < parked.ti {
		t.Errorf("%%Tt %d shorter than %%Ti %d", parked.tt, parked.ti)
	}
	if !near(parked.ti, goroutine.ti) || !near(parked.tt, goroutine.tt) || parked.rt != goroutine.rt || parked.st != goroutine.st || parked.ti < 290 {
		t.Errorf("resumed request logged as %+v; without parking %+v", parked, goroutine)
	}
}
