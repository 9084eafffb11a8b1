package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// abortRun holds one request on a maxconn 1 server, queues a second
// whose client then closes its side (FIN after the request), releases the
// first, and reports whether the second reached the server.
func abortRun(t *testing.T, proxy string, option bool) string {
	var mu sync.Mutex
	seen := map[string]bool{}
	gate := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = true
		mu.Unlock()
		if r.URL.Path == "/first" {
			select {
			case <-gate:
			case <-time.After(30 * time.Second):
			}
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	port := testenv.FreePort(t)
	opt := ""
	if option {
		opt = "option abortonclose"
	}
	cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout queue 30s

listen l
    bind 127.0.0.1:%d
    %s
    server s1 %s maxconn 1
`, port, opt, srv.Listener.Addr())
	if proxy == "haproxy" {
		testenv.StartHAProxy(t, cfg)
	} else {
		testenv.StartGatehouse(t, cfg)
	}
	addr := testenv.LocalAddr(port)
	first, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	io.WriteString(first, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
	testenv.Eventually(t, 30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return seen["/first"] },
		"%s: the first request never reached the server", proxy)
	second, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	io.WriteString(second, "GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	// The request waits in the queue; the client gives up.
	second.(*net.TCPConn).CloseWrite()
	// With the option the proxy drops it and closes: wait for that (long
	// enough for a busy machine); without it nothing comes before the
	// server is free, and a second is enough to see that it stays queued.
	wait := time.Second
	if option {
		wait = 20 * time.Second
	}
	second.SetReadDeadline(time.Now().Add(wait))
	var early [1]byte
	n, err := second.Read(early[:])
	// Closed: a FIN or a reset (HAProxy may reset the connection).
	closedEarly := n == 0 && err != nil && !isTimeoutErr(err)
	close(gate)
	first.SetReadDeadline(time.Now().Add(20 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(first), nil); err == nil {
		resp.Body.Close()
	}
	var b []byte
	if !closedEarly {
		second.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, _ = io.ReadAll(second)
		b = append(early[:n], b...)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%s option=%v: second answered %q, closed while queued: %v, reached server: %v", proxy, option, b, closedEarly, seen["/second"])
	// When the proxy closes (at once, or once the server is free, as
	// HAProxy does at times) is not compared: what the client got and
	// whether the server saw the request are.
	return fmt.Sprintf("answered: %v, reached server: %v", len(b) > 0, seen["/second"])
}

// TestAbortOnCloseMatchesHAProxy: a request queued for a full server whose
// client then closes its side is served without option abortonclose and
// dropped with it (the client connection closed without an answer, the
// server never asked), side by side with HAProxy 2.6.
func TestAbortOnCloseMatchesHAProxy(t *testing.T) {
	for _, option := range []bool{false, true} {
		h := abortRun(t, "haproxy", option)
		g := abortRun(t, "gatehouse", option)
		if h != g {
			t.Errorf("abortonclose=%v: haproxy %s; gatehouse %s", option, h, g)
		}
	}
}
