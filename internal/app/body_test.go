package app

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

// Tests of request and response bodies on their way through: framing
// errors, Content-Length normalisation, 100-continue.

// TestBadChunkedBodyAnswered: a chunked body whose framing breaks after
// the head was forwarded gets 400 and is logged PR--, whether the bad
// bytes came with the head or later; it used to close without a word.
func TestBadChunkedBodyAnswered(t *testing.T) {
	be := newScriptedBackend(t, func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		// Read what the body holds: the proxy cuts it off.
		io.Copy(io.Discard, req.Body)
		return false
	})
	// A server that reads the whole body before it answers, over HTTP/2.
	h2be := newH2Backend(t, true, func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		w.WriteHeader(200)
	})
	logs, logPort := syslogSink(t)
	port, h2Port := freePort(t), freePort(t)
	start(t, fmt.Sprintf(`
defaults
    mode http
    log 127.0.0.1:%d local0
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    default_backend app
frontend toh2
    bind 127.0.0.1:%d
    default_backend h2
backend app
    server s1 %s
backend h2
    server s1 %s proto h2
`, logPort, port, h2Port, be.addr(), h2be.addr()))

	head := func(path string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	}
	for _, tc := range []struct {
		name, path, first, later string
		h2                       bool
	}{
		{"with the head", "/together", "zz\r\nhello\r\n", "", false},
		{"after the head", "/later", "", "zz\r\nhello\r\n", false},
		{"after a good chunk", "/midway", "5\r\nhello\r\n", "5\r\nhelloXX\r\n", false},
		{"to an HTTP/2 server", "/h2", "5\r\nhello\r\nzz\r\n", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialClient(t, port)
			if tc.h2 {
				c = dialClient(t, h2Port)
			}
			conns := be.conns()
			c.send(head(tc.path) + tc.first)
			if tc.later != "" {
				// The request is on its way to the server before the bad
				// bytes leave.
				testenv.Eventually(t, 30*time.Second, func() bool { return be.conns() > conns },
					"the proxy never connected to the server for %s", tc.path)
				c.send(tc.later)
			}
			resp, err := http.ReadResponse(c.br, &http.Request{Method: "POST"})
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 || !resp.Close {
				t.Fatalf("got %d (close %v), want 400 and close", resp.StatusCode, resp.Close)
			}
			waitLog(t, logs, ` 400 `, ` PR-- `, `"POST `+tc.path+` HTTP/1.1"`)
		})
	}
}

// clFields returns the Content-Length fields of a raw head, in order.
func clFields(head string) []string {
	var out []string
	for _, l := range strings.Split(head, "\r\n") {
		if name, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(name, "Content-Length") {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// TestContentLengthNormalizedThrough: a Content-Length list or repeated
// fields that agree reach the server, and the client, as one field with
// the one value, as HAProxy forwards them.
func TestContentLengthNormalizedThrough(t *testing.T) {
	be := newScriptedBackend(t, func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nX: y\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    server s1 %s
`, port, be.addr()))
	for _, fields := range []string{"Content-Length: 5, 5\r\n", "Content-Length: 5\r\nContent-Length: 5\r\n", "Content-Length: 5,5\r\nX: y\r\ncontent-length: 5\r\n"} {
		c := dialClient(t, port)
		c.send("POST / HTTP/1.1\r\nHost: h\r\n" + fields + "\r\nhello")
		head := c.head()
		if got := clFields(head); len(got) != 1 || got[0] != "2" {
			t.Errorf("response to %q: Content-Length %q in\n%s", fields, got, head)
		}
		if body := c.readN(2); body != "ok" {
			t.Errorf("body %q", body)
		}
		if got := clFields(be.lastHead()); len(got) != 1 || got[0] != "5" {
			t.Errorf("request with %q reached the server with Content-Length %q:\n%s", fields, got, be.lastHead())
		}
	}
}
