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

// TestPathSplitLikeHAProxy: a "://" in the query is data, for rules,
// rewrites, redirects and the request line the server gets, in HAProxy 2.6
// and in Gatehouse alike (issue 17, item 1).
func TestPathSplitLikeHAProxy(t *testing.T) {
	answer := func(_ int, c net.Conn, _ *bufio.Reader, req *http.Request) bool {
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		return true
	}
	requests := []struct{ kind, target string }{
		{"", "/x?u=http://y/admin/secret"},
		{"", "/admin/secret"},
		{"", "/public/a:b//c?d=e://f"},
		{"", "http://app.example/x?u=http://y/admin"},
		{"", "http://app.example/admin?u=1"},
		{"", "http://app.example?u=/x"}, // a query without a path: refused
		{"", "http://app.example"},
		{"setq", "/p?u=http://x/a/b"},
		{"setq", "/p"},
		{"setq", "http://app.example/p?u=http://x/a"},
		{"setp", "/a?u=http://x/c/d"},
		{"setp", "http://app.example/a?q"},
		{"self", "/?u=http://x//evil.example/"},
		{"self", "/x?u=http://y/z"},
		{"prefix-drop", "/x?u=http://y/z"},
		{"prefix", "http://app.example/p?q"},
		{"prefix", "http://app.example"},
		{"scheme", "http://app.example/p?u=http://y/z"},
		{"scheme-drop", "/p?u=http://y/z"},
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

frontend fe
    bind 127.0.0.1:%d
    http-request deny deny_status 403 if { path_beg /admin }
    http-request set-query new=1 if { req.hdr(x-t) setq }
    http-request set-path /b if { req.hdr(x-t) setp }
    http-request redirect prefix / drop-query if { req.hdr(x-t) self }
    http-request redirect prefix https://new.example drop-query if { req.hdr(x-t) prefix-drop }
    http-request redirect prefix https://new.example if { req.hdr(x-t) prefix }
    http-request redirect scheme https if { req.hdr(x-t) scheme }
    http-request redirect scheme https drop-query if { req.hdr(x-t) scheme-drop }
    default_backend be

backend be
    server s1 %s
`, port, be.addr())
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var out []string
		for _, r := range requests {
			ec := dialEdge(t, port)
			ec.send(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: app.example\r\nX-T: %s\r\n\r\n", r.target, r.kind))
			resp, err := http.ReadResponse(ec.br, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatalf("%s: %s %s: %v", name, r.kind, r.target, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			line := fmt.Sprintf("%s %s -> %d", r.kind, r.target, resp.StatusCode)
			if loc := resp.Header.Get("Location"); loc != "" {
				line += " Location " + loc
			}
			if resp.StatusCode == 200 {
				line += " server " + lastRequestLine(t, be)
			}
			out = append(out, line)
		}
		results[name] = strings.Join(out, "\n")
		t.Logf("%s:\n%s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n--- haproxy:\n%s\n--- gatehouse:\n%s", results["haproxy"], results["gatehouse"])
	}
}

// lastRequestLine is the request line of the last head be received.
func lastRequestLine(t *testing.T, be *edgeBackend) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if h := be.received(); len(h) > 0 {
			line, _, _ := strings.Cut(h[len(h)-1].raw, "\r\n")
			return line
		}
		if time.Now().After(deadline) {
			t.Fatal("the server received no request")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
