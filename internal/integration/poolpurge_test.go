package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// countingBackend answers every HTTP/1.1 request with 200 and counts the
// connections it accepted and saw closed.
type countingBackend struct {
	ln               net.Listener
	accepted, closed atomic.Int64
}

func startCountingBackend(t *testing.T) *countingBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &countingBackend{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.accepted.Add(1)
			go func() {
				defer b.closed.Add(1)
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
						return
					}
				}
			}()
		}
	}()
	return b
}

// TestPoolPurgeDelayAsHAProxy: side by side with HAProxy 2.6, a server
// connection left idle by a client that went away serves the next client
// ("http-reuse always"), unless the server has "pool-purge-delay 0", which
// keeps no idle connection: it is closed, and the next client's request
// opens a new one. An idle connection has no age limit: with
// "pool-purge-delay 200ms" it is still reused 250 ms later, since the purge
// only closes what exceeds the recent need (it would go at the third
// period, 600 ms).
func TestPoolPurgeDelayAsHAProxy(t *testing.T) {
	for _, name := range []string{"haproxy", "gatehouse"} {
		for _, opt := range []string{"", "pool-purge-delay 0", "pool-purge-delay 200ms"} {
			t.Run(fmt.Sprintf("%s/%q", name, opt), func(t *testing.T) {
				be := startCountingBackend(t)
				port, statsPort := testenv.FreePort(t), testenv.FreePort(t)
				cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    http-reuse always
    server s1 %s %s

listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, port, be.ln.Addr(), opt, statsPort)
				if name == "haproxy" {
					testenv.StartHAProxy(t, cfg)
				} else {
					testenv.StartGatehouse(t, cfg)
				}
				const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
				a := dialEdge(t, port)
				a.send(get)
				if st, _ := a.response("GET"); st != 200 {
					t.Fatalf("first client: %d", st)
				}
				a.c.Close()
				if opt != "pool-purge-delay 0" {
					testenv.Eventually(t, 20*time.Second, func() bool {
						csv := httpGetBody(t, fmt.Sprintf("http://127.0.0.1:%d/stats;csv", statsPort))
						return csvRow(t, csv, "be", "s1")["idle_conn_cur"] == "1"
					}, "the server connection never went idle")
					if opt != "" {
						time.Sleep(250 * time.Millisecond) // idle for longer than the purge delay
					}
				} else {
					testenv.Eventually(t, 20*time.Second, func() bool { return be.closed.Load() == 1 },
						"the server connection was not closed once its client left")
				}
				b := dialEdge(t, port)
				b.send(get)
				if st, _ := b.response("GET"); st != 200 {
					t.Fatalf("second client: %d", st)
				}
				want := int64(1)
				if opt == "pool-purge-delay 0" {
					want = 2
				}
				if n := be.accepted.Load(); n != want {
					t.Errorf("the server accepted %d connections, want %d", n, want)
				}
			})
		}
	}
}
