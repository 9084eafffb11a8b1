package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// rawRecorder is a TCP server that records each request head it reads
// (request line and Connection values, names compared without case) and
// answers in HTTP/1.0 without keep-alive (v10) or in HTTP/1.1. After a
// 1.0 answer it keeps reading: a request arriving there means the proxy
// reused a connection the server had declared closing.
type rawRecorder struct {
	ln  net.Listener
	v10 bool

	mu      sync.Mutex
	reqs    []string // "line | connection: values | fresh=true/false"
	misused int      // requests sent after a 1.0 close-delimited answer
}

func startRawRecorder(t *testing.T, v10 bool) *rawRecorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rawRecorder{ln: ln, v10: v10}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	return r
}

func (r *rawRecorder) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	fresh := true
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		var conn []string
		for {
			h, err := br.ReadString('\n')
			if err != nil {
				return
			}
			h = strings.TrimRight(h, "\r\n")
			if h == "" {
				break
			}
			if name, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(name, "connection") {
				conn = append(conn, strings.ToLower(strings.TrimSpace(v)))
			}
		}
		r.mu.Lock()
		if r.v10 && !fresh {
			r.misused++
			r.mu.Unlock()
			return
		}
		r.reqs = append(r.reqs, fmt.Sprintf("%s | connection: %q | fresh=%v", strings.TrimRight(line, "\r\n"), conn, fresh))
		r.mu.Unlock()
		fresh = false
		if r.v10 {
			io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
			continue // keeps reading: the proxy must close, not reuse
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}
}

func (r *rawRecorder) take() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out, m := r.reqs, r.misused
	r.reqs, r.misused = nil, 0
	return out, m
}

func (r *rawRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// readAnswer reads one response (Content-Length delimited, or until
// close) and returns its status code.
func readAnswer(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return "", fmt.Errorf("bad status line %q", line)
	}
	cl := -1
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		if name, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(name, "content-length") {
			cl, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if cl >= 0 {
		_, err = io.CopyN(io.Discard, br, int64(cl))
	} else {
		_, err = io.Copy(io.Discard, br)
	}
	return f[1], err
}

// TestHTTP10UpstreamMatchesHAProxy: HAProxy 2.6 forwards an HTTP/1.0
// request as HTTP/1.0 (never as a 1.1 request that may lack Host), adds
// "connection: keep-alive" to it when it wants to keep the server
// connection, and "connection: close" to a 1.1 request only when it will
// close; it reuses a server connection after a 1.0 exchange only if the
// server agreed to keep it. The request line and Connection values the
// server receives, whether each request came on a fresh connection for
// a 1.0 server, and a second request on the client connection must be
// the same from both proxies, for a server answering HTTP/1.0 without
// keep-alive and one answering HTTP/1.1, in keep-alive and
// http-server-close modes.
func TestHTTP10UpstreamMatchesHAProxy(t *testing.T) {
	clients := []string{
		"GET /x HTTP/1.0\r\n\r\n",
		"GET /x HTTP/1.0\r\nHost: h\r\n\r\n",
		"GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET /x HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\n\r\n",
	}
	for _, v10 := range []bool{true, false} {
		srv := startRawRecorder(t, v10)
		for _, opt := range []string{"", "    option http-server-close\n"} {
			got := map[string][]string{}
			for _, name := range []string{"haproxy", "gatehouse"} {
				port := testenv.FreePort(t)
				stop := testenv.StartSide(t, name, fmt.Sprintf(`defaults
    mode http
%s    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    server s %s
`, opt, port, srv.ln.Addr()))
				var out []string
				for _, rq := range clients {
					keep := strings.Contains(rq, "HTTP/1.1") || strings.Contains(rq, "keep-alive")
					c, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
					if err != nil {
						t.Fatal(err)
					}
					_ = c.SetDeadline(time.Now().Add(20 * time.Second))
					br := bufio.NewReader(c)
					var res []string
					for i := 0; i < 2; i++ {
						if i == 1 && !keep {
							// The client closes after a 1.0 exchange
							// without keep-alive: the second request comes
							// on a new connection.
							c.Close()
							if c, err = net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second); err != nil {
								t.Fatal(err)
							}
							_ = c.SetDeadline(time.Now().Add(20 * time.Second))
							br = bufio.NewReader(c)
						}
						before := srv.count()
						io.WriteString(c, rq)
						status, err := readAnswer(br)
						if err != nil {
							status = "error: " + err.Error()
						}
						res = append(res, status)
						testenv.Eventually(t, 10*time.Second, func() bool { return srv.count() > before },
							"%s %q: server saw no request %d", name, rq, i+1)
					}
					c.Close()
					seen, misused := srv.take()
					if v10 && misused != 0 {
						t.Errorf("%s %q %q: %d request(s) sent on a connection the 1.0 server had closed", name, opt, rq, misused)
					}
					if !v10 {
						// Reuse of a 1.1 server connection is each pool's
						// choice: compare what was sent only.
						for i := range seen {
							seen[i], _, _ = strings.Cut(seen[i], " | fresh=")
						}
					}
					out = append(out, fmt.Sprintf("%q -> %v, server got %q", rq, res, seen))
				}
				stop()
				got[name] = out
			}
			h, g := got["haproxy"], got["gatehouse"]
			for i := range h {
				if h[i] != g[i] {
					t.Errorf("v10=%v %q:\n   haproxy: %s\n gatehouse: %s", v10, opt, h[i], g[i])
				}
			}
			t.Logf("v10=%v %q haproxy:\n%s", v10, opt, strings.Join(h, "\n"))
		}
	}
}
