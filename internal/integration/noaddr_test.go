package integration

import (
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestServerWithoutAddressLikeHAProxy: "server x :PORT" (no address)
// connects to this host's PORT, as HAProxy does (the wildcard address),
// here a second frontend of the same proxy.
func TestServerWithoutAddressLikeHAProxy(t *testing.T) {
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		front, inner := testenv.FreePort(t), testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    server local :%d

frontend inner
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string "inner"
`, front, inner, inner)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		c := dialEdge(t, front)
		c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		code, body := c.response("GET")
		results[name] = fmt.Sprintf("%d %s", code, body)
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] || results["gatehouse"] != "200 inner" {
		t.Errorf("haproxy: %s, gatehouse: %s, want 200 inner", results["haproxy"], results["gatehouse"])
	}
}
