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

// TestBadChunkedBodyAnswered: a chunked body whose framing breaks gets
// 400 and is logged PR--; it used to close without a word. As in HAProxy,
// bad bytes that came with the head make a bad request ("<BADREQ>", never
// forwarded); later ones are refused with the request line logged.
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
		{"to an HTTP/2 server", "/h2", "5\r\nhello\r\n", "zz\r\n", true},
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
				testenv.Eventually(t, 30*time.Second, func() bool {
					if tc.h2 {
						return h2be.connCount() > 0
					}
					return be.conns() > conns
				}, "the proxy never connected to the server for %s", tc.path)
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
			line := `"POST ` + tc.path + ` HTTP/1.1"`
			if tc.later == "" && !tc.h2 {
				line = `"<BADREQ>"`
				for _, l := range be.log() {
					if strings.HasSuffix(l, tc.path) {
						t.Errorf("the server got %q", l)
					}
				}
			}
			waitLog(t, logs, ` 400 `, ` PR-- `, line)
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

// TestExpectContinueBodyNotHeld: with "Expect: 100-continue" the body
// goes to the server as it arrives, as with HAProxy, whether or not the
// server sends a 100: a body that came with the head, or later without
// waiting for the 100, used to wait for a 100 that a server which simply
// reads the body never sends (504 after timeout server). A 100 the server
// does send reaches a client that waits for it, and a final answer before
// the body ends the exchange.
func TestExpectContinueBodyNotHeld(t *testing.T) {
	be := newScriptedBackend(t, func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		switch req.URL.Path {
		case "/continue":
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		case "/refuse":
			// And keeps the connection open: the proxy must not wait for
			// the server to close it.
			io.WriteString(c, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope")
			return true
		}
		// Otherwise a server that ignores Expect and reads the body.
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return false
		}
		body := "got=" + string(b)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		return true
	})
	port := freePort(t)
	start(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 20s
frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    server s1 %s
`, port, be.addr()))
	head := func(path string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
	}
	final := func(c *clientConn) (int, string) {
		c.t.Helper()
		for {
			resp, err := http.ReadResponse(c.br, &http.Request{Method: "POST"})
			if err != nil {
				c.t.Fatalf("no answer: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 100 {
				return resp.StatusCode, string(b)
			}
		}
	}

	t.Run("body with the head", func(t *testing.T) {
		c := dialClient(t, port)
		c.send(head("/read") + "hello")
		if code, body := final(c); code != 200 || body != "got=hello" {
			t.Fatalf("got %d %q", code, body)
		}
		// The connection carries the next requests, however the server's
		// answer and the end of the copy interleave.
		for i := 0; i < 50; i++ {
			c.send(head("/read") + "again")
			if code, body := final(c); code != 200 || body != "got=again" {
				t.Fatalf("request %d: %d %q", i+2, code, body)
			}
		}
	})
	t.Run("body later, without a 100", func(t *testing.T) {
		c := dialClient(t, port)
		n := len(be.log())
		c.send(head("/late"))
		testenv.Eventually(t, 30*time.Second, func() bool { return len(be.log()) > n },
			"the head never reached the server")
		c.send("hello")
		if code, body := final(c); code != 200 || body != "got=hello" {
			t.Fatalf("got %d %q", code, body)
		}
	})
	t.Run("client waits for the server's 100", func(t *testing.T) {
		c := dialClient(t, port)
		c.send(head("/continue"))
		if h := c.head(); !strings.HasPrefix(h, "HTTP/1.1 100 ") {
			t.Fatalf("interim answer:\n%s", h)
		}
		c.send("hello")
		if code, body := final(c); code != 200 || body != "got=hello" {
			t.Fatalf("got %d %q", code, body)
		}
	})
	t.Run("final answer before the body", func(t *testing.T) {
		c := dialClient(t, port)
		c.send(head("/refuse"))
		resp, err := http.ReadResponse(c.br, &http.Request{Method: "POST"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 401 || string(b) != "nope" || !resp.Close {
			t.Fatalf("got %d %q close=%v", resp.StatusCode, b, resp.Close)
		}
		if !c.closedAfter() {
			t.Fatal("the connection stayed open with the body unread")
		}
	})
}

// TestBadChunkedResponseRefused: a response whose chunked framing is bad
// in the bytes that came with its head is a 502 PH--, as in HAProxy,
// before a byte of it goes out (the client used to get the 200 head and
// then a close), to HTTP/1.1 and HTTP/2 clients alike.
func TestBadChunkedResponseRefused(t *testing.T) {
	be := newScriptedBackend(t, func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
		return false
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
    bind 127.0.0.1:%d proto h2
    default_backend app
backend app
    server s1 %s
`, logPort, port, h2Port, be.addr()))
	c := dialClient(t, port)
	if status, body := c.get("/h1"); status != "502 Bad Gateway" {
		t.Fatalf("got %s %q", status, body)
	}
	waitLog(t, logs, ` 502 `, ` PH-- `, `"GET /h1 HTTP/1.1"`)
	resp, err := h2Client(t, nil, "").Get(fmt.Sprintf("http://127.0.0.1:%d/h2", h2Port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Fatalf("HTTP/2: got %d", resp.StatusCode)
	}
	waitLog(t, logs, ` 502 `, ` PH-- `, fmt.Sprintf(`"GET http://127.0.0.1:%d/h2 HTTP/2.0"`, h2Port))
}
