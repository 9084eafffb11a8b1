package integration

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestSendNameHeaderAsHAProxy: http-send-name-header, side by side with
// HAProxy 2.6. The first server refuses connections, so the request is
// redispatched to the second: what that server receives carries its own
// name, once, as the last field (in lower case), and the client's fields of
// that name are gone.
func TestSendNameHeaderAsHAProxy(t *testing.T) {
	answer := func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		be := startEdgeBackend(t, answer)
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    retries 1
    option redispatch 1

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    balance first
    http-send-name-header X-Served-By
    server refused 127.0.0.1:%d
    server live %s
`, port, testenv.FreePort(t), be.addr())
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		ec := dialEdge(t, port)
		ec.send("GET /a HTTP/1.1\r\nHost: x\r\nX-Served-By: forged\r\nx-served-by: forged too\r\nAccept: */*\r\n\r\n")
		status, _ := ec.response("GET")
		heads := be.received()
		if status != 200 || len(heads) != 1 {
			t.Fatalf("%s: status %d, %d heads at the server", name, status, len(heads))
		}
		lines := strings.Split(strings.TrimSuffix(heads[0].raw, "\r\n\r\n"), "\r\n")
		var got []string
		for i, l := range lines[1:] {
			if n, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(n, "x-served-by") {
				got = append(got, fmt.Sprintf("%q=%q last=%v", n, strings.TrimSpace(v), i == len(lines)-2))
			}
		}
		results[name] = strings.Join(got, "; ")
		t.Logf("%s: %s", name, results[name])
	}
	want := `"x-served-by"="live" last=true`
	if results["haproxy"] != want || results["gatehouse"] != want {
		t.Errorf("haproxy %s, gatehouse %s; want %s", results["haproxy"], results["gatehouse"], want)
	}
}
