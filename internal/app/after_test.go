package app

import (
	"fmt"
	"io"
	"testing"
)

// TestAfterResponseOverHTTP2: http-after-response rules and set-status
// reach an HTTP/2 client too, on a server's response and on the proxy's
// own answer (a deny), with the same fields as over HTTP/1.1.
func TestAfterResponseOverHTTP2(t *testing.T) {
	be := echoBackend(t, "b1")
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    http-request deny deny_status 403 if { path /deny }
    http-response set-status 202 reason Taken if { status 200 }
    http-after-response set-header X-After st-%%[status]
    http-after-response set-status 451 if { status 403 }
    default_backend be
backend be
    server s1 %s
`, port, hostPort(be)))
	c := h2Client(t, nil, "")
	for _, tc := range []struct {
		path  string
		code  int
		after string
	}{{"/ok", 202, "st-202"}, {"/deny", 451, "st-403"}} {
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, tc.path))
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || resp.Header.Get("X-After") != tc.after || resp.ProtoMajor != 2 {
			t.Errorf("%s: %s %d, X-After %q; want %d %q over HTTP/2", tc.path, resp.Proto, resp.StatusCode, resp.Header.Get("X-After"), tc.code, tc.after)
		}
	}
}
