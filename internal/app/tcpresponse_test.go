package app

import (
	"fmt"
	"strings"
	"testing"
)

// TestResponseRulesBeforeHandoff: a mode tcp backend whose server is an
// http frontend of the same configuration is normally served in process;
// with tcp-response rules it goes over the socket, so the rules see the
// frontend's answer and may reject it, as HAProxy's loopback hop does.
func TestResponseRulesBeforeHandoff(t *testing.T) {
	front, web := freePort(t), freePort(t)
	start(t, fmt.Sprintf(`
defaults
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend tcp
    mode tcp
    bind 127.0.0.1:%d
    default_backend local

backend local
    mode tcp
    tcp-response inspect-delay 2s
    tcp-response content reject if { res.payload(0,5) -m str HTTP/ }
    server h 127.0.0.1:%d

frontend web
    mode http
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string ok
`, front, web, web))
	req := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	if out := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", web), req); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("the http frontend answers %q", out)
	}
	if out := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", front), req); out != "" {
		t.Errorf("the response passed the tcp-response reject: %q", out)
	}
}
