package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestPretendKeepAliveLikeHAProxy: with "option http-server-close" or
// "option httpclose" the server is told "Connection: close" unless
// "option http-pretend-keepalive" is set, in which case the request goes
// out as a keep-alive one; the connection is closed after the response
// either way, as in HAProxy 2.6.
func TestPretendKeepAliveLikeHAProxy(t *testing.T) {
	modes := []string{
		"option http-keep-alive",
		"option http-server-close",
		"option httpclose",
		"option http-server-close\n    option http-pretend-keepalive",
		"option httpclose\n    option http-pretend-keepalive",
	}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		be := startEdgeBackend(t, func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return true
		})
		var cfg strings.Builder
		cfg.WriteString("defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n")
		ports := make([]int, len(modes))
		for i, m := range modes {
			ports[i] = testenv.FreePort(t)
			fmt.Fprintf(&cfg, "\nlisten l%d\n    bind 127.0.0.1:%d\n    %s\n    server s1 %s\n", i, ports[i], m, be.addr())
		}
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg.String())
		} else {
			testenv.StartGatehouse(t, cfg.String())
		}
		var out []string
		for i := range modes {
			for j := 0; j < 2; j++ {
				c := dialEdge(t, ports[i])
				c.send(fmt.Sprintf("GET /%d/%d HTTP/1.1\r\nHost: h\r\n\r\n", i, j))
				code, _ := c.response("GET")
				out = append(out, fmt.Sprint(code))
				c.c.Close()
			}
		}
		// What each request told the server.
		conns := map[int]int{}
		for _, h := range be.received() {
			first := strings.SplitN(h.raw, "\r\n", 2)[0]
			connHdr := "-"
			for _, l := range strings.Split(h.raw, "\r\n") {
				if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "connection") {
					connHdr = strings.ToLower(strings.TrimSpace(v))
				}
			}
			// The server connection of a closing mode carries one request.
			if !strings.HasPrefix(first, "GET /0/") {
				conns[h.conn]++
			}
			out = append(out, fmt.Sprintf("%s connection=%s", strings.Fields(first)[1], connHdr))
		}
		for id, n := range conns {
			if n > 1 {
				t.Errorf("%s: server connection %d carried %d requests in a closing mode", name, id, n)
			}
		}
		results[name] = strings.Join(out, " | ")
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
}
