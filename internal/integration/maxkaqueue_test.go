package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// startNamedBackend answers every request with its name as the body; a
// request for /slow is answered once release is closed.
func startNamedBackend(t *testing.T, name string, release <-chan struct{}) string {
	t.Helper()
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
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if req.URL.Path == "/slow" {
						<-release
					}
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(name), name)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestMaxKeepAliveQueueAsHAProxy: side by side with HAProxy 2.6. A client
// connection's first request goes to s1 (balance first), and
// prefer-last-server brings its next one back there. Meanwhile another
// client's slow request holds s1's only slot. With max-keep-alive-queue 0
// the next request does not wait for s1: it is balanced to s2. With a
// limit the queue is under (5), it waits for s1 and is served there once
// the slow request ends.
func TestMaxKeepAliveQueueAsHAProxy(t *testing.T) {
	for _, name := range []string{"haproxy", "gatehouse"} {
		for _, limit := range []int{0, 5} {
			t.Run(fmt.Sprintf("%s/%d", name, limit), func(t *testing.T) {
				release := make(chan struct{})
				var once bool
				free := func() {
					if !once {
						once = true
						close(release)
					}
				}
				t.Cleanup(free)
				s1, s2 := startNamedBackend(t, "s1", release), startNamedBackend(t, "s2", release)
				port, statsPort := testenv.FreePort(t), testenv.FreePort(t)
				cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout queue 30s

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    balance first
    http-reuse never
    option prefer-last-server
    max-keep-alive-queue %d
    server s1 %s maxconn 1
    server s2 %s maxconn 1

listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, port, limit, s1, s2, statsPort)
				if name == "haproxy" {
					testenv.StartHAProxy(t, cfg)
				} else {
					testenv.StartGatehouse(t, cfg)
				}
				a := dialEdge(t, port)
				a.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
				if st, body := a.response("GET"); st != 200 || body != "s1" {
					t.Fatalf("first request: %d %q, want s1", st, body)
				}
				stat := func(sv, col string) string {
					csv := httpGetBody(t, fmt.Sprintf("http://127.0.0.1:%d/stats;csv", statsPort))
					return csvRow(t, csv, "be", sv)[col]
				}
				scur := func(sv string) string { return stat(sv, "scur") }
				// The first stream has ended (the client may read its answer
				// before that): s1's slot is free.
				testenv.Eventually(t, 20*time.Second, func() bool { return scur("s1") == "0" }, "s1's slot stays taken")
				// b's slow request takes s1's only slot.
				b := dialEdge(t, port)
				b.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
				testenv.Eventually(t, 20*time.Second, func() bool { return scur("s1") == "1" }, "the slow request never reached s1: %s %s", scur("s1"), scur("s2"))
				a.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
				want := "s2"
				if limit > 0 {
					want = "s1"
					// HAProxy counts the wait in s1's queue, Gatehouse in the
					// backend's: either way one request waits.
					testenv.Eventually(t, 20*time.Second, func() bool {
						return stat("s1", "qcur")+"/"+stat("BACKEND", "qcur") != "0/0"
					}, "the second request does not wait")
					free()
				}
				st, body := a.response("GET")
				if st != 200 || strings.TrimSpace(body) != want {
					t.Errorf("second request: %d %q, want %s", st, body, want)
				}
				free()
				if st, body := b.response("GET"); st != 200 || body != "s1" {
					t.Errorf("slow request: %d %q", st, body)
				}
			})
		}
	}
}
