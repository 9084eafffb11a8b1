package app

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The hot path keeps a connection's deadline across requests when it still
// fits (internal/proxy count.go), so a deadline may fire before the wait
// it stands for ends. These tests pin what a client sees: timeouts as
// configured, neither early nor inherited from another wait.

// startNoPark serves cfg with parking off, so keep-alive waits are the
// session's own deadline-bound reads.
func startNoPark(t *testing.T, cfg string) *Runtime {
	t.Helper()
	return startAdjusted(t, cfg, func(g *Graph) { g.Proc.ParkAfter = -1 })
}

// timeoutsConfig is one frontend in front of be under "timeout connect 1s"
// and the given timeouts ("client 5s", ...).
func timeoutsConfig(port int, be *httptest.Server, timeouts ...string) string {
	var b strings.Builder
	b.WriteString("defaults\n    mode http\n    timeout connect 1s\n")
	for _, t := range timeouts {
		b.WriteString("    timeout " + t + "\n")
	}
	fmt.Fprintf(&b, "frontend fe\n    bind 127.0.0.1:%d\n    default_backend app\nbackend app\n    server s1 %s\n", port, hostPort(be))
	return b.String()
}

// dialPort connects to the proxy on port; the connection closes with the test.
func dialPort(t *testing.T, port int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestKeepAliveTimeoutNotEarly: the second request's keep-alive wait
// inherits the first wait's deadline (1s after request 1, 400ms before its
// own). When that fires, the wait resumes: a request 800ms after the
// second one is still served; 1.3s of silence closes the connection.
func TestKeepAliveTimeoutNotEarly(t *testing.T) {
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	port := freePort(t)
	startNoPark(t, timeoutsConfig(port, be, "client 5s", "server 5s", "http-keep-alive 1s"))
	c := dialPort(t, port)
	br := bufio.NewReader(c)
	get := func(what string) {
		t.Helper()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
			t.Fatalf("%s: write: %v", what, err)
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get("request 1")
	time.Sleep(400 * time.Millisecond)
	get("request 2")
	time.Sleep(800 * time.Millisecond)
	get("request 3, 800ms after request 2 (keep-alive 1s)")
	waited := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the keep-alive timeout: %v %v, want EOF", n, err)
	}
	if d := time.Since(waited); d < 900*time.Millisecond || d > 2*time.Second {
		t.Errorf("closed after %v idle, want ~1s", d)
	}
}

// TestBodyTimeoutNotInherited: a request body that stalls is cut after
// timeout client (300ms), not after the longer keep-alive deadline the
// connection held while it waited for the request.
func TestBodyTimeoutNotInherited(t *testing.T) {
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	port := freePort(t)
	startNoPark(t, timeoutsConfig(port, be, "client 300ms", "server 5s", "http-keep-alive 10s"))
	c := dialPort(t, port)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	sent := time.Now()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhalf!")
	// The server already saw the head; the proxy gives up on the body and
	// closes (HAProxy answers 408 if nothing was sent yet, else aborts).
	b, _ := io.ReadAll(br)
	if d := time.Since(sent); d > 2*time.Second {
		t.Fatalf("stalled body cut after %v (response %q), want ~300ms", d, b)
	}
}

// TestProbeAfterIdleDeadline: a pooled server connection whose read
// deadline expired while it sat idle (timeout server 200ms, idle 500ms) is
// still found alive by the liveness probe of a POST, and reused.
func TestProbeAfterIdleDeadline(t *testing.T) {
	var conns atomic.Int32
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	be.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	be.Start()
	t.Cleanup(be.Close)
	port := freePort(t)
	start(t, timeoutsConfig(port, be, "client 5s", "server 200ms"))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	time.Sleep(500 * time.Millisecond)
	resp, err = http.Post(url, "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || conns.Load() != 1 {
		t.Errorf("status %d, server connections %d: want 200 on the one pooled connection", resp.StatusCode, conns.Load())
	}
}

// TestReloadWakesWaitingKeepAlive: a reload moves a keep-alive connection
// that waits for its next request to the new runtime at once, not after
// its 30s timeout (the old runtime lets go of it), and the connection's
// next request is answered; a connection whose request is in flight
// finishes it first.
func TestReloadWakesWaitingKeepAlive(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	})
	t.Cleanup(unblock) // before the server's Close, which waits for handlers
	port := freePort(t)
	cfg := timeoutsConfig(port, be, "client 30s", "server 30s", "http-keep-alive 30s")
	rt := startNoPark(t, cfg)
	g1 := rt.Graph()
	dial := func() (net.Conn, *bufio.Reader) {
		c := dialPort(t, port)
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		return c, bufio.NewReader(c)
	}
	waiting, wbr := dial()
	io.WriteString(waiting, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	readResponse(t, wbr, "GET")
	busy, bbr := dial()
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	recv(t, arrived, "the slow request never reached the backend") // in flight on g1

	g2 := buildGraph(t, cfg)
	if err := rt.Apply(g2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the waiting connection to leave the old runtime", func() bool { return g1.Proc.ActConn.Load() == 1 })
	io.WriteString(waiting, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp, body := readResponse(t, wbr, "GET"); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("waiting connection's next request after a reload: %d %q", resp.StatusCode, body)
	}
	if n := g2.Frontends[0].Counters.ReqTot.Load(); n != 1 {
		t.Errorf("the new runtime served %d requests, want the waiting connection's 1", n)
	}
	unblock()
	if resp, body := readResponse(t, bbr, "GET"); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("in-flight request across the reload: %d %q", resp.StatusCode, body)
	}
}
