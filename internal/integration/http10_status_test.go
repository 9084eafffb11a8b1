package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestHTTP10StatusLineMatchesHAProxy: HAProxy 2.6 writes the server's
// version on the status line it relays ("HTTP/1.0 200 OK" from a 1.0
// server, to 1.0 and 1.1 clients alike), "HTTP/1.1" on its own answers
// (return, redirect, deny, 503) whatever the request's version, and
// Connection as h1_update_res_conn_value: "close" only on a 1.1 answer,
// "keep-alive" on a kept connection when the answer or the request is
// 1.0; its built-in error pages (deny, no server) keep the connection
// too. A 1.0 answer delimited by the server's close is not chunked: the
// client connection closes too. The status line, the raw Connection
// lines and whether a second request on the connection is answered must
// be the same from both proxies.
func TestHTTP10StatusLineMatchesHAProxy(t *testing.T) {
	s11 := startRawRecorder(t, false)
	s10 := startRawRecorder(t, true)
	eof := startEOFServer(t, "HTTP/1.0 200 OK\r\n\r\nuntil close")
	reqs := []string{
		"GET %s HTTP/1.0\r\n\r\n",
		"GET %s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET %s HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
	}
	type tc struct{ path, req string }
	var cases []tc
	for _, p := range []string{"/v11", "/v10", "/eof", "/ret", "/redir", "/deny", "/none"} {
		for _, r := range reqs {
			cases = append(cases, tc{p, r})
		}
	}
	// A built-in error page kept alive carries no body to a HEAD.
	cases = append(cases, tc{"/deny", "HEAD %s HTTP/1.1\r\nHost: h\r\n\r\n"})

	got := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		stop := testenv.StartSide(t, name, fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    http-request deny if { path_beg /deny }
    http-request return status 200 content-type text/plain string hi if { path_beg /ret }
    http-request redirect location /x if { path_beg /redir }
    use_backend b11 if { path_beg /v11 }
    use_backend b10 if { path_beg /v10 }
    use_backend beof if { path_beg /eof }
    default_backend none

backend b11
    server s %s

backend b10
    server s %s

backend beof
    server s %s

backend none
`, port, s11.ln.Addr(), s10.ln.Addr(), eof))
		for _, c := range cases {
			rq := fmt.Sprintf(c.req, c.path)
			got[name] = append(got[name], fmt.Sprintf("%q -> %s", rq, statusExchange(t, testenv.LocalAddr(port), rq)))
		}
		stop()
		s11.take()
		s10.take()
	}
	h, g := got["haproxy"], got["gatehouse"]
	for i := range h {
		if h[i] != g[i] {
			t.Errorf("\n   haproxy: %s\n gatehouse: %s", h[i], g[i])
		}
	}
	t.Logf("haproxy:\n%s", strings.Join(h, "\n"))
}

// statusExchange sends rq twice on one connection and describes the
// first answer's status line and Connection lines, byte for byte, and
// whether the second request was answered or the connection closed.
func statusExchange(t *testing.T, addr, rq string) string {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, rq)
	head := strings.HasPrefix(rq, "HEAD ")
	status, conn, err := readStatusAnswer(br, head)
	if err != nil {
		return fmt.Sprintf("%q %q, error: %v", status, conn, err)
	}
	second := "closed"
	if _, err := io.WriteString(c, rq); err == nil {
		if s, _, err := readStatusAnswer(br, head); err == nil {
			second = "answered " + strconv.Quote(s)
		}
	}
	return fmt.Sprintf("%q %q, then %s", status, conn, second)
}

// readStatusAnswer reads one answer (Content-Length, chunked, or until
// close; a head only for a HEAD) and returns its status line and raw
// Connection lines.
func readStatusAnswer(br *bufio.Reader, head bool) (status string, conn []string, err error) {
	if status, err = br.ReadString('\n'); err != nil {
		return "", nil, err
	}
	cl, chunked := int64(-1), false
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return status, conn, err
		}
		if h == "\r\n" {
			break
		}
		name, v, _ := strings.Cut(strings.TrimRight(h, "\r\n"), ":")
		switch strings.ToLower(name) {
		case "connection":
			conn = append(conn, h)
		case "content-length":
			cl, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		case "transfer-encoding":
			chunked = true
		}
	}
	switch {
	case head:
	case chunked:
		_, err = io.Copy(io.Discard, httputil.NewChunkedReader(br))
		if err == nil {
			_, err = br.ReadString('\n') // the empty trailer section
		}
	case cl >= 0:
		_, err = io.CopyN(io.Discard, br, cl)
	default:
		_, err = io.Copy(io.Discard, br)
	}
	return status, conn, err
}

// startEOFServer answers every request on a connection with resp and
// closes it.
func startEOFServer(t *testing.T, resp string) net.Addr {
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
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						io.WriteString(c, resp)
						return
					}
				}
			}()
		}
	}()
	return ln.Addr()
}
