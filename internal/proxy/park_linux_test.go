package proxy

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// okService answers every request locally (no backend needed).
type okService struct{}

func (okService) Serve(t *Txn) *Reply { return &Reply{Status: 200, Body: []byte("ok\n")} }

type parkEnv struct {
	l    *Listener
	addr string
	done atomic.Int64 // done calls: connections that really ended
}

// parkListener serves on a loopback port like the accept loop does
// (ServeConnDetached); keepAlive is timeout http-keep-alive. setup
// adjusts the listener before it serves.
func parkListener(t *testing.T, keepAlive time.Duration, tlsConf *tls.Config, setup ...func(*Listener)) *parkEnv {
	t.Helper()
	fe := &Frontend{
		Name:        "fe",
		Proc:        &Process{ParkAfter: 50 * time.Millisecond},
		Counters:    &counters.Proxy{},
		Timeouts:    config.Timeouts{Client: 10 * time.Second, HTTPRequest: 2 * time.Second, HTTPKeepAlive: keepAlive},
		Stats:       okService{},
		StatsPrefix: "/",
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &parkEnv{l: &Listener{FE: fe, TLS: tlsConf}, addr: ln.Addr().String()}
	for _, f := range setup {
		f(e.l)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go e.l.ServeConnDetached(c, func() { e.done.Add(1) })
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		fe.Proc.Retire()
	})
	return e
}

// waitFor polls cond for up to 20s (a busy machine is slow).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

const getReq = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"

func expectOK(t *testing.T, br *bufio.Reader) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "ok\n" {
		t.Fatalf("response %d %q", resp.StatusCode, b)
	}
}

func TestParkedSize(t *testing.T) {
	if n := unsafe.Sizeof(parked{}); n > 72 {
		t.Errorf("parked record is %d bytes; keep it small (72)", n)
	}
}

// TestParkResume: a parked connection resumes on the next request however
// its bytes arrive, and is parked again afterwards.
func TestParkResume(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(c net.Conn, e *parkEnv)
	}{
		{"whole request", func(c net.Conn, e *parkEnv) {
			io.WriteString(c, getReq)
		}},
		{"two halves across a wait", func(c net.Conn, e *parkEnv) {
			io.WriteString(c, getReq[:10])
			// Longer than parkAfter: a started head is not parked again.
			time.Sleep(150 * time.Millisecond)
			io.WriteString(c, getReq[10:])
		}},
		{"two pipelined requests", func(c net.Conn, e *parkEnv) {
			io.WriteString(c, getReq+getReq)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := parkListener(t, 30*time.Second, nil)
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			for round := 0; round < 3; round++ {
				if round == 0 {
					io.WriteString(c, getReq)
				} else {
					tc.send(c, e)
				}
				expectOK(t, br)
				if tc.name == "two pipelined requests" && round > 0 {
					expectOK(t, br)
				}
				waitFor(t, "the connection to park", func() bool { return e.l.FE.Proc.Parked() == 1 })
				if cur := e.l.FE.Counters.CurSess.Load(); cur != 1 {
					t.Fatalf("current sessions while parked: %d", cur)
				}
			}
			c.Close()
			waitFor(t, "the end of the connection", func() bool { return e.done.Load() == 1 })
			if cur := e.l.FE.Counters.CurSess.Load(); cur != 0 || e.l.FE.Proc.ActConn.Load() != 0 {
				t.Fatalf("after close: cur sessions %d, actconn %d", cur, e.l.FE.Proc.ActConn.Load())
			}
		})
	}
}

// TestParkBytesBeforeRegistration: bytes that arrived between the timeout
// and the fd's registration are reported (level-triggered epoll).
func TestParkBytesBeforeRegistration(t *testing.T) {
	e := parkListener(t, 30*time.Second, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, getReq)
	time.Sleep(50 * time.Millisecond) // the bytes are in the socket
	fe := e.l.FE
	fe.Counters.OpenSession(time.Now())
	fe.Proc.ActConn.Add(1)
	r := &parked{conn: sc.(*net.TCPConn), lst: e.l, done: func() { e.done.Add(1) }, lastDone: time.Now(), nreq: 1}
	if err := fe.Proc.park(r); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	expectOK(t, bufio.NewReader(c))
}

// TestParkExpireAndHalfClose: a parked connection closes silently at the
// keep-alive timeout, and at once when the client half-closes.
func TestParkExpireAndHalfClose(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keepAlive time.Duration
		fin       bool
		within    [2]time.Duration // the close comes within this range after the response
	}{
		{"keep-alive timeout", 300 * time.Millisecond, false, [2]time.Duration{250 * time.Millisecond, 1500 * time.Millisecond}},
		{"client FIN", 30 * time.Second, true, [2]time.Duration{0, time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := parkListener(t, tc.keepAlive, nil)
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			io.WriteString(c, getReq)
			expectOK(t, br)
			answered := time.Now()
			waitFor(t, "the connection to park", func() bool { return e.l.FE.Proc.Parked() == 1 })
			if tc.fin {
				c.(*net.TCPConn).CloseWrite()
			}
			rest, err := io.ReadAll(br)
			took := time.Since(answered)
			if err != nil || len(rest) > 0 {
				t.Fatalf("want a silent close, got %q %v", rest, err)
			}
			if took < tc.within[0] || took > tc.within[1] {
				t.Errorf("closed after %v, want within %v", took, tc.within)
			}
			waitFor(t, "the end of the connection", func() bool { return e.done.Load() == 1 })
			fe := e.l.FE
			if fe.Counters.CurSess.Load() != 0 || fe.Proc.ActConn.Load() != 0 || fe.Proc.Parked() != 0 || fe.Counters.ErrReq.Load() != 0 {
				t.Errorf("cur %d act %d parked %d ereq %d", fe.Counters.CurSess.Load(), fe.Proc.ActConn.Load(), fe.Proc.Parked(), fe.Counters.ErrReq.Load())
			}
		})
	}
}

// TestParkRetire: retiring the runtime closes parked connections at once,
// each ended exactly once; later idle connections are not parked.
func TestParkRetire(t *testing.T) {
	e := parkListener(t, 30*time.Second, nil)
	const n = 5
	var cs []net.Conn
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, getReq)
		expectOK(t, bufio.NewReader(c))
		cs = append(cs, c)
	}
	fe := e.l.FE
	waitFor(t, "all to park", func() bool { return fe.Proc.Parked() == n })
	if fe.Counters.CurSess.Load() != n {
		t.Fatalf("current sessions %d, want %d", fe.Counters.CurSess.Load(), n)
	}
	fe.Proc.Retire()
	for _, c := range cs {
		if b, err := io.ReadAll(c); err != nil || len(b) > 0 {
			t.Fatalf("want a close, got %q %v", b, err)
		}
	}
	waitFor(t, "every end", func() bool { return e.done.Load() == n })
	fe.Proc.Retire() // again: nothing more to end
	time.Sleep(50 * time.Millisecond)
	if e.done.Load() != n || fe.Counters.CurSess.Load() != 0 || fe.Proc.ActConn.Load() != 0 {
		t.Errorf("done %d cur %d act %d", e.done.Load(), fe.Counters.CurSess.Load(), fe.Proc.ActConn.Load())
	}
}

// TestParkNeverTLS: a TLS connection keeps its goroutine while idle
// (crypto/tls may hold bytes the socket's readiness would not show).
func TestParkNeverTLS(t *testing.T) {
	e := parkListener(t, 30*time.Second, selfSigned(t))
	c, err := tls.Dial("tcp", e.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		io.WriteString(c, getReq)
		expectOK(t, br)
		time.Sleep(200 * time.Millisecond) // 4 x parkAfter
		if p := e.l.FE.Proc.Parked(); p != 0 {
			t.Fatalf("%d TLS connections parked", p)
		}
	}
	if e.l.FE.Counters.CurSess.Load() != 1 {
		t.Fatal("the TLS connection did not stay open")
	}
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	return &tls.Config{Certificates: []tls.Certificate{tlstest.NewCA(t).TLSCertificate(t, "h")}}
}
