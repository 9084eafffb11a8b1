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

// TestSetTimeoutMatchesHAProxy: http-request set-timeout server, a time
// or an expression's milliseconds, bounds the wait for this request's
// response only, as in HAProxy 2.6 (504 and sH in the log).
func TestSetTimeoutMatchesHAProxy(t *testing.T) {
	answer := func(_ int, c net.Conn, _ *bufio.Reader, req *http.Request) bool {
		io.Copy(io.Discard, req.Body)
		if req.URL.Path != "/fast" {
			time.Sleep(1500 * time.Millisecond) // past the short timeouts, well within 30s
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	}
	paths := []string{"/fast", "/short", "/expr", "/bad-expr", "/long"}
	out := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		be := startEdgeBackend(t, answer)
		sink := startSyslogSink(t)
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen li
    bind 127.0.0.1:%d
    log %s local0 info
    log-format "LOG|%%HP|%%ST|%%ts"
    http-request set-timeout server 300ms if { path /short } || { path /fast }
    http-request set-timeout server req.hdr(x-to) if { path /expr } || { path /bad-expr }
    server s1 %s
`, port, sink.Addr, be.addr())
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var got []string
		for i, p := range paths {
			ec := dialEdge(t, port)
			to := "250"
			if p == "/bad-expr" {
				to = "soon"
			}
			ec.send(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: h\r\nX-To: %s\r\n\r\n", p, to))
			code, _ := ec.response(http.MethodGet)
			testenv.Eventually(t, 20*time.Second, func() bool { return len(requestLogs(sink)) > i }, "%s: no log line for %s", name, p)
			l := requestLogs(sink)[i]
			got = append(got, fmt.Sprintf("%s %d %s", p, code, strings.TrimSpace(l[strings.Index(l, "LOG|"):])))
		}
		out[name] = strings.Join(got, "\n")
	}
	t.Logf("haproxy:\n%s\ngatehouse:\n%s", out["haproxy"], out["gatehouse"])
	if out["haproxy"] != out["gatehouse"] {
		t.Error("outcomes differ")
	}
}
