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
)

// TestBadPeers says what each misbehaving peer gets, and checks the
// access log's termination state for it (HAProxy's codes).
func TestBadPeers(t *testing.T) {
	// A server that sends half its announced body, then resets.
	half := rawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part", true)
	// A server that accepts and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c) }()
		}
	}()
	// A server that answers garbage.
	junk := rawBackend(t, "SSH-2.0-OpenSSH_9.0\r\n", true)
	be := echoBackend(t, "ok")

	logAddr, nextLog := udpLogSink(t)
	port := freePort(t)
	start(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 1s
    timeout client 500ms
    timeout server 500ms
    timeout http-request 1s
frontend fe
    bind 127.0.0.1:%d
    log udp@%s format raw local0
    option httplog
    use_backend half if { path /half }
    use_backend silent if { path /silent }
    use_backend junk if { path /junk }
    default_backend ok
backend half
    server s1 %s
backend silent
    retries 0
    server s1 %s
backend junk
    retries 0
    server s1 %s
backend ok
    server s1 %s
`, port, logAddr, half, silent.Addr(), junk, hostPort(be)))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logFor := func(path string) string {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if l := nextLog(); strings.Contains(l, path) {
				return l
			}
		}
		t.Fatalf("no log line for %s", path)
		return ""
	}

	t.Run("server dies mid-body: the client sees a short body, log SD", func(t *testing.T) {
		out := rawExchange(t, addr, "GET /half HTTP/1.1\r\nHost: h\r\n\r\n")
		if !strings.HasPrefix(out, "HTTP/1.1 200") || !strings.HasSuffix(out, "only-part") {
			t.Errorf("got %q", out)
		}
		if l := logFor("/half"); !strings.Contains(l, " SD-- ") {
			t.Errorf("log: %s", l)
		}
	})
	t.Run("silent server: 504 after timeout server, log sH", func(t *testing.T) {
		out := rawExchange(t, addr, "GET /silent HTTP/1.1\r\nHost: h\r\n\r\n")
		if !strings.HasPrefix(out, "HTTP/1.1 504") {
			t.Errorf("got %q", firstLine(out))
		}
		if l := logFor("/silent"); !strings.Contains(l, " 504 ") || !strings.Contains(l, " sH-- ") {
			t.Errorf("log: %s", l)
		}
	})
	t.Run("junk from the server: 502, log SH", func(t *testing.T) {
		out := rawExchange(t, addr, "GET /junk HTTP/1.1\r\nHost: h\r\n\r\n")
		if !strings.HasPrefix(out, "HTTP/1.1 502") {
			t.Errorf("got %q", firstLine(out))
		}
		if l := logFor("/junk"); !strings.Contains(l, " 502 ") || !strings.Contains(l, " SH-- ") {
			t.Errorf("log: %s", l)
		}
	})
	t.Run("client stalls its body: the server connection is cut, log cD", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\nonly a little")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c) // the edge closes after timeout client
		if strings.Contains(string(b), "body=") {
			t.Errorf("a truncated body reached the server: %q", b)
		}
		if l := logFor("/upload"); !strings.Contains(l, " cD-- ") {
			t.Errorf("log: %s", l)
		}
	})
	t.Run("client aborts its upload: log CD", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "POST /abort HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\nonly a little")
		time.Sleep(50 * time.Millisecond)
		c.Close()
		if l := logFor("/abort"); !strings.Contains(l, " CD-- ") {
			t.Errorf("log: %s", l)
		}
	})
	t.Run("the edge still serves after all that", func(t *testing.T) {
		resp, err := http.Get("http://" + addr + "/fine")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(bufio.NewReader(resp.Body))
		resp.Body.Close()
		if !strings.Contains(string(b), "backend=ok") {
			t.Errorf("got %q", b)
		}
	})
}
