package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestH1AcceptPayloadWithAnyMethodMatchesHAProxy: HAProxy 2.6 refuses an
// HTTP/1.0 GET, HEAD or DELETE request with a payload (a non-zero
// Content-Length, or chunked) with 413, unless the global
// "h1-accept-payload-with-any-method" is set; other methods, an empty
// payload and HTTP/1.1 pass. Each request's status and what the server
// received must be the same from both proxies, with and without it, but
// for a chunked HTTP/1.0 request with it: HAProxy then forwards it,
// Gatehouse refuses Transfer-Encoding in any HTTP/1.0 request (400), as
// RFC 9112 §6.1 advises.
func TestH1AcceptPayloadWithAnyMethodMatchesHAProxy(t *testing.T) {
	reqs := []string{
		"GET / HTTP/1.0\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
		"HEAD / HTTP/1.0\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
		"DELETE / HTTP/1.0\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
		"GET / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST / HTTP/1.0\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
		"OPTIONS / HTTP/1.0\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
		"GET / HTTP/1.0\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
	}
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s cl=%d te=%v body=%q", r.Method, r.ContentLength, r.TransferEncoding, b))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	got := map[string][]string{}
	for _, kw := range []string{"", "    h1-accept-payload-with-any-method\n"} {
		for _, name := range []string{"haproxy", "gatehouse"} {
			port := testenv.FreePort(t)
			stop := testenv.StartSide(t, name, fmt.Sprintf(`global
%s
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    server s %s
`, kw, port, srv.Listener.Addr()))
			var out []string
			for _, rq := range reqs {
				mu.Lock()
				seen = nil
				mu.Unlock()
				c, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				io.WriteString(c, rq)
				line, _ := bufio.NewReader(c).ReadString('\n')
				c.Close()
				// The status only: Gatehouse answers a 1.0 client in 1.1.
				status := "none"
				if f := strings.Fields(line); len(f) > 1 {
					status = f[1]
				}
				mu.Lock()
				out = append(out, fmt.Sprintf("%q -> %s, server got %q", rq[:strings.IndexByte(rq, '\r')], status, seen))
				mu.Unlock()
			}
			stop()
			got[name+" "+kw] = out
		}
		h, g := got["haproxy "+kw], got["gatehouse "+kw]
		for i := range h {
			if kw != "" && strings.Contains(reqs[i], "chunked") {
				if !strings.Contains(g[i], "-> 400,") {
					t.Errorf("gatehouse: %s, want 400", g[i])
				}
				continue
			}
			if h[i] != g[i] {
				t.Errorf("%q:\n   haproxy: %s\n gatehouse: %s", kw, h[i], g[i])
			}
		}
		t.Logf("%q haproxy:\n%s", kw, strings.Join(h, "\n"))
	}
}
