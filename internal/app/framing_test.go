package app

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// rawBackend answers every request with resp, then closes when closeAfter.
func rawBackend(t *testing.T, resp string, closeAfter bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					// Hop-by-hop fields from the client never reach the
					// server: the only Connection value there is the
					// proxy's own (keep-alive for an HTTP/1.0 request, as
					// HAProxy 2.6 sends, or close).
					if h := req.Header.Get("Connection"); req.Header.Get("X-Secret") != "" ||
						h != "" && !strings.EqualFold(h, "keep-alive") && !strings.EqualFold(h, "close") {
						io.WriteString(c, "HTTP/1.1 500 Leaked\r\nContent-Length: 0\r\n\r\n")
						return
					}
					io.WriteString(c, resp)
					if closeAfter {
						return
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

// TestResponseFraming says how each response framing reaches HTTP/1.1 and
// HTTP/1.0 clients: chunked passes through (with its header), a body ended
// by the server's close is re-chunked for 1.1 so the client connection
// survives, and 1.0 clients get raw bodies ended by close.
func TestResponseFraming(t *testing.T) {
	chunked := rawBackend(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", false)
	eof := rawBackend(t, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close", true)
	p1, p2 := freePort(t), freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend chunked
    bind 127.0.0.1:%d
    default_backend chunked
frontend eof
    bind 127.0.0.1:%d
    default_backend eof
backend chunked
    server s1 %s
backend eof
    server s1 %s
`, p1, p2, chunked, eof))
	for _, tc := range []struct {
		name   string
		port   int
		proto  string
		want   string
		header string
	}{
		{"chunked to 1.1", p1, "HTTP/1.1", "hello world", "chunked"},
		{"chunked to 1.0", p1, "HTTP/1.0", "hello world", ""},
		{"until-close to 1.1", p2, "HTTP/1.1", "until close", "chunked"},
		{"until-close to 1.0", p2, "HTTP/1.0", "until close", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tc.port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET / %s\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n\r\n", tc.proto)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(b) != tc.want {
				t.Fatalf("got %d %q", resp.StatusCode, b)
			}
			if got := strings.Join(resp.TransferEncoding, ","); got != tc.header {
				t.Errorf("Transfer-Encoding %q, want %q", got, tc.header)
			}
		})
	}
}

// TestUnsolicitedInterim: a 100 Continue the client did not ask for, and a
// 103 Early Hints, are relayed as interim answers; the final response
// follows on the same exchange.
func TestUnsolicitedInterim(t *testing.T) {
	srv := rawBackend(t, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal", false)
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    server s1 %s
`, port, srv))
	out := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", port), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	i100 := strings.Index(out, "HTTP/1.1 100")
	i103 := strings.Index(out, "HTTP/1.1 103")
	i200 := strings.Index(out, "HTTP/1.1 200")
	if i100 < 0 || i103 < i100 || i200 < i103 || !strings.HasSuffix(out, "final") {
		t.Errorf("got:\n%s", out)
	}
}
