package integration

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestBindMaxConnAsHAProxy: "bind ... maxconn 1", side by side with HAProxy
// 2.6. With one connection open on that socket a second one is not
// accepted (it waits in the listen queue, unanswered), while the
// frontend's other socket still serves; once the first closes, the second
// is served. The stats agree: the frontend counts two sessions, the full
// socket's row shows slim 1, the other 0 (none of its own).
func TestBindMaxConnAsHAProxy(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	for _, name := range []string{"haproxy", "gatehouse"} {
		t.Run(name, func(t *testing.T) {
			limited, free, statsPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
			cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s

frontend fe
    maxconn 50
    option socket-stats
    bind 127.0.0.1:%d name limited maxconn 1
    bind 127.0.0.1:%d name free
    default_backend be

backend be
    server s1 %s

listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, limited, free, echo.Addr, statsPort)
			if name == "haproxy" {
				testenv.StartHAProxy(t, cfg)
			} else {
				testenv.StartGatehouse(t, cfg)
			}
			const get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
			a := dialEdge(t, limited)
			a.send(get)
			if st, _ := a.response("GET"); st != 200 {
				t.Fatalf("first connection: %d", st)
			}
			// The second connection is in the listen queue: its request
			// waits while a stays open (keep-alive).
			b := dialEdge(t, limited)
			b.send(get)
			c := dialEdge(t, free)
			c.send(get)
			if st, _ := c.response("GET"); st != 200 {
				t.Fatalf("other socket: %d", st)
			}
			a.send(get)
			if st, _ := a.response("GET"); st != 200 {
				t.Fatalf("first connection, second request: %d", st)
			}
			csv := httpGetBody(t, fmt.Sprintf("http://127.0.0.1:%d/stats;csv", statsPort))
			if fe := csvRow(t, csv, "fe", "FRONTEND"); fe["scur"] != "2" || fe["slim"] != "50" {
				t.Errorf("frontend scur %s slim %s, want 2 and 50", fe["scur"], fe["slim"])
			}
			if l := csvRow(t, csv, "fe", "limited"); l["scur"] != "1" || l["slim"] != "1" {
				t.Errorf("limited socket scur %s slim %s, want 1 and 1", l["scur"], l["slim"])
			}
			if l := csvRow(t, csv, "fe", "free"); l["slim"] != "0" {
				t.Errorf("free socket slim %s, want 0", l["slim"])
			}
			_ = b.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if n, _ := b.br.Peek(1); len(n) != 0 {
				t.Fatal("the second connection was answered while the first was open")
			}
			_ = b.c.SetReadDeadline(time.Now().Add(30 * time.Second))
			a.c.Close()
			if st, _ := b.response("GET"); st != http.StatusOK {
				t.Fatalf("second connection once the first closed: %d", st)
			}
		})
	}
}
