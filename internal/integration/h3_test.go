package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestH3Basic: a quic4@ bind serves HTTP/3 through the same pipeline as
// the TCP binds: the request reaches the backend with its head, the
// response comes back over HTTP/3.
func TestH3Basic(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	e := startH3(t, `defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind %[1]s alpn h3
    bind %[2]s
    default_backend be

backend be
    server s1 `+echo.Addr+"\n")
	resp, body := e.do(t, e.Client, "GET", e.URL+"/hello?x=1", nil, "X-Test", "a")
	if resp.StatusCode != 200 || resp.Proto != "HTTP/3.0" {
		t.Fatalf("status %d proto %s: %s", resp.StatusCode, resp.Proto, body)
	}
	if !strings.Contains(body, `"uri":"/hello?x=1"`) || !strings.Contains(body, `"X-Test":["a"]`) {
		t.Fatalf("the backend did not get the request as sent: %s", body)
	}
	if !strings.Contains(body, fmt.Sprintf(`"host":"localhost:%d"`, e.UDPPort)) {
		t.Fatalf("want the :authority as Host: %s", body)
	}
}
