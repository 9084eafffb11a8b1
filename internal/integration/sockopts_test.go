package integration

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// rawHTTP is a test server that hands each request head (the request
// line and header lines as sent) to handle, which writes the answer;
// handle returns false to stop reading the connection.
func startRawHTTP(t *testing.T, handle func(c net.Conn, br *bufio.Reader, head []string) bool) int {
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
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(60 * time.Second))
				br := bufio.NewReader(c)
				for {
					var head []string
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						line = strings.TrimRight(line, "\r\n")
						if line == "" {
							break
						}
						head = append(head, line)
					}
					if !handle(c, br, head) {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// tcpState is the kernel's state of c (TCP_INFO): 7 closed (a reset was
// received), 8 CLOSE_WAIT (a FIN was).
func tcpState(t *testing.T, c *net.TCPConn) uint8 {
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var gerr error
	_ = rc.Control(func(fd uintptr) { info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	return info.State
}

// closeKind tells how the proxy closed its end of c, which it holds on
// local port proxyPort: "rst" once c has received a reset, "fin" once c
// got a FIN and the proxy's socket lingers closed (orphaned, ino:0) in
// FIN-WAIT-2, as a close without "option nolinger" leaves it.
func closeKind(t *testing.T, c *net.TCPConn, proxyPort int) string {
	t.Helper()
	mine := c.LocalAddr().(*net.TCPAddr).Port
	var kind string
	testenv.Eventually(t, 20*time.Second, func() bool {
		switch tcpState(t, c) {
		case 7:
			kind = "rst"
			return true
		case 8:
			out, err := exec.Command("ss", "-Htne", "state", "fin-wait-2", fmt.Sprintf("( sport = :%d and dport = :%d )", proxyPort, mine)).CombinedOutput()
			if err != nil {
				t.Fatalf("ss: %v: %s", err, out)
			}
			if strings.Contains(string(out), "ino:0") {
				kind = "fin"
				return true
			}
		}
		return false
	}, "the proxy (port %d) never closed its connection with port %d (state %d)", proxyPort, mine, tcpState(t, c))
	return kind
}

// TestNoLingerMatchesHAProxy: "option nolinger" on a frontend closes the
// client connections with a reset instead of a FIN, and on a backend the
// server connections (here closed after each response by
// http-server-close); without it the client sees a FIN. HAProxy 2.6 and
// Gatehouse alike.
func TestNoLingerMatchesHAProxy(t *testing.T) {
	serverSide := make(chan *net.TCPConn, 4)
	done := make(chan struct{})
	defer close(done)
	srv := startRawHTTP(t, func(c net.Conn, br *bufio.Reader, head []string) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		serverSide <- c.(*net.TCPConn)
		// The socket stays open until the test ends: the test reads the
		// kernel's state of it once the proxy has closed its end.
		<-done
		return false
	})
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		p := [3]int{testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)}
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend plain
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string ok

frontend nolinger
    bind 127.0.0.1:%d
    option nolinger
    http-request return status 200 content-type text/plain string ok

frontend to_nolinger
    bind 127.0.0.1:%d
    default_backend nolinger

backend nolinger
    option nolinger
    option http-server-close
    server s1 127.0.0.1:%d
`, p[0], p[1], p[2], srv)
		stop := testenv.StartSide(t, name, cfg)
		var out []string
		for i := range 3 {
			c, err := net.DialTimeout("tcp", testenv.LocalAddr(p[i]), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			conn := "close"
			if i == 2 {
				conn = "keep-alive"
			}
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\nConnection: "+conn+"\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			io.Copy(io.Discard, resp.Body)
			if i < 2 {
				out = append(out, "client:"+closeKind(t, c.(*net.TCPConn), p[i]))
			} else {
				var sc *net.TCPConn
				select {
				case sc = <-serverSide:
				case <-time.After(20 * time.Second):
					t.Fatalf("%s: the server saw no request", name)
				}
				out = append(out, "server:"+closeKind(t, sc, sc.RemoteAddr().(*net.TCPAddr).Port))
			}
			c.Close()
		}
		stop()
		results[name] = strings.Join(out, " ")
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
	if want := "client:fin client:rst server:rst"; results["gatehouse"] != want {
		t.Errorf("gatehouse: %s, want %s", results["gatehouse"], want)
	}
}

// TestSourceMatchesHAProxy: a backend's "source" is the address its
// servers see, a server's own "source" wins over it, as with HAProxy 2.6.
func TestSourceMatchesHAProxy(t *testing.T) {
	srv := startRawHTTP(t, func(c net.Conn, br *bufio.Reader, head []string) bool {
		from := c.RemoteAddr().(*net.TCPAddr).IP.String()
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(from), from)
		return true
	})
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		p := [3]int{testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)}
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen plain
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d

listen backend_source
    bind 127.0.0.1:%d
    source 127.0.0.2
    server s1 127.0.0.1:%d

listen server_source
    bind 127.0.0.1:%d
    source 127.0.0.2
    server s1 127.0.0.1:%d source 127.0.0.3
`, p[0], srv, p[1], srv, p[2], srv)
		stop := testenv.StartSide(t, name, cfg)
		var out []string
		for i := range 3 {
			out = append(out, string(sockGetBody(t, p[i], "/")))
		}
		stop()
		results[name] = strings.Join(out, " ")
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
	if want := "127.0.0.1 127.0.0.2 127.0.0.3"; results["gatehouse"] != want {
		t.Errorf("gatehouse: %s, want %s", results["gatehouse"], want)
	}
}

// sockGetBody GETs path on a new connection to the local port and returns the
// body of a 200.
func sockGetBody(t *testing.T, port int, path string) []byte {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return b
}

// TestAllBackupsMatchesHAProxy: with the active server down, "option
// allbackups" spreads the load over every backup server with their
// weights; without it the first backup takes it all. Same counts as
// HAProxy 2.6.
func TestAllBackupsMatchesHAProxy(t *testing.T) {
	named := func(n string) int {
		return startRawHTTP(t, func(c net.Conn, br *bufio.Reader, head []string) bool {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(n), n)
			return true
		})
	}
	a, b1, b2, b3 := named("a"), named("b1"), named("b2"), named("b3")
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		p := [2]int{testenv.FreePort(t), testenv.FreePort(t)}
		servers := fmt.Sprintf(`    server a 127.0.0.1:%d disabled
    server b1 127.0.0.1:%d backup
    server b2 127.0.0.1:%d backup
    server b3 127.0.0.1:%d backup weight 2
`, a, b1, b2, b3)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen first_backup
    bind 127.0.0.1:%d
%s
listen all_backups
    bind 127.0.0.1:%d
    option allbackups
%s`, p[0], servers, p[1], servers)
		stop := testenv.StartSide(t, name, cfg)
		var out []string
		for i := range 2 {
			count := map[string]int{}
			for range 8 {
				count[string(sockGetBody(t, p[i], "/"))]++
			}
			var keys []string
			for k, n := range count {
				keys = append(keys, fmt.Sprintf("%s=%d", k, n))
			}
			sort.Strings(keys)
			out = append(out, strings.Join(keys, ","))
		}
		stop()
		results[name] = strings.Join(out, " ")
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
	if want := "b1=8 b1=2,b2=2,b3=4"; results["gatehouse"] != want {
		t.Errorf("gatehouse: %s, want %s", results["gatehouse"], want)
	}
}

// TestIDsMatchHAProxy: server "id" and bind "id" are the sid of their
// stats rows ("sock-<id>" names the listener without a name); the others
// take the first free ids as HAProxy 2.6 numbers them.
func TestIDsMatchHAProxy(t *testing.T) {
	srv := startRawHTTP(t, func(c net.Conn, br *bufio.Reader, head []string) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		p := [4]int{testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)}
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats

listen app
    option socket-stats
    bind 127.0.0.1:%d id 2
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d
    server s2 127.0.0.1:%d id 1
    server s3 127.0.0.1:%d
    server s4 127.0.0.1:%d id 10
    server s5 127.0.0.1:%d
`, p[0], p[1], p[2], p[3], srv, srv, srv, srv, srv)
		stop := testenv.StartSide(t, name, cfg)
		tab := fetchStatsCSV(t, p[0])
		var out []string
		for _, row := range []string{"sock-2", "sock-3", "sock-4", "s1", "s2", "s3", "s4", "s5"} {
			r := tab.rows["app/"+row]
			if r == nil {
				t.Fatalf("%s: no stats row app/%s", name, row)
			}
			out = append(out, fmt.Sprintf("%s:iid=%s,sid=%s", row, r["iid"], r["sid"]))
		}
		stop()
		results[name] = strings.Join(out, " ")
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
}

// TestCheckCacheMatchesHAProxy: "option checkcache" blocks the responses
// a shared cache could keep with the server's Set-Cookie and lets the
// others through, the same ones as HAProxy 2.6 for a matrix of methods,
// statuses and caching headers. A blocked response is the server's
// answer replaced: a 502 from Gatehouse as documented (HAProxy 2.6.12
// sends its 200 error page instead).
func TestCheckCacheMatchesHAProxy(t *testing.T) {
	answers := map[string]string{
		"/plain":      "200 OK\r\nSet-Cookie: s=1",
		"/public":     "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: public",
		"/maxage":     "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: max-age=60",
		"/smaxage":    "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: s-maxage=60",
		"/expires":    "200 OK\r\nSet-Cookie: s=1\r\nExpires: Thu, 01 Dec 2039 16:00:00 GMT",
		"/lastmod":    "200 OK\r\nSet-Cookie: s=1\r\nLast-Modified: Thu, 01 Dec 2020 16:00:00 GMT",
		"/etag":       "200 OK\r\nSet-Cookie: s=1\r\nETag: \"x\"",
		"/pubmaxage":  "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: public, max-age=60",
		"/private":    "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: max-age=60, private",
		"/nocache":    "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: max-age=60\r\nCache-Control: no-cache",
		"/nostore":    "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: no-store\r\nETag: \"x\"",
		"/maxage0":    "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: max-age=0\r\nETag: \"x\"",
		"/smaxage0":   "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: s-maxage=0\r\nETag: \"x\"",
		"/nocachesc":  "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: max-age=60, no-cache=\"set-cookie\"",
		"/pragma":     "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: max-age=60\r\nPragma: no-cache",
		"/pubprivate": "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: public, private, max-age=60",
		"/privpublic": "200 OK\r\nSet-Cookie: s=1\r\nCache-Control: private, public, max-age=60",
		"/nocookie":   "200 OK\r\nCache-Control: public, max-age=60",
		"/203":        "203 Non-Authoritative\r\nSet-Cookie: s=1\r\nCache-Control: public, max-age=60",
		"/301":        "301 Moved\r\nSet-Cookie: s=1\r\nCache-Control: public, max-age=60\r\nLocation: /x",
		"/404":        "404 Not Found\r\nSet-Cookie: s=1\r\nCache-Control: public, max-age=60",
		"/404fresh":   "404 Not Found\r\nSet-Cookie: s=1\r\nCache-Control: max-age=60",
		"/206":        "206 Partial\r\nSet-Cookie: s=1\r\nCache-Control: max-age=60",
		"/302":        "302 Found\r\nSet-Cookie: s=1\r\nCache-Control: public, max-age=60\r\nLocation: /x",
		"/500":        "500 Oops\r\nSet-Cookie: s=1\r\nCache-Control: public, max-age=60",
	}
	srv := startRawHTTP(t, func(c net.Conn, br *bufio.Reader, head []string) bool {
		a := answers[strings.Fields(head[0])[1]]
		io.WriteString(c, "HTTP/1.1 "+a+"\r\nContent-Length: 6\r\n\r\norigin")
		return true
	})
	var paths []string
	for p := range answers {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	results := map[string]string{}
	var gatehouseStatus []string
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen app
    bind 127.0.0.1:%d
    option checkcache
    server s1 127.0.0.1:%d
`, port, srv)
		stop := testenv.StartSide(t, name, cfg)
		c := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		var out []string
		for _, method := range []string{"GET", "OPTIONS", "POST"} {
			var blocked []string
			for _, p := range paths {
				req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, p), nil)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "origin" {
					blocked = append(blocked, p)
					if name == "gatehouse" {
						gatehouseStatus = append(gatehouseStatus, fmt.Sprintf("%s %s %d", method, p, resp.StatusCode))
					}
				}
			}
			out = append(out, method+" blocked: "+strings.Join(blocked, " "))
		}
		stop()
		results[name] = strings.Join(out, "\n")
		t.Logf("%s:\n%s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy:\n%s\n gatehouse:\n%s", results["haproxy"], results["gatehouse"])
	}
	if !strings.Contains(results["gatehouse"], "/etag /expires /lastmod /maxage") {
		t.Errorf("gatehouse did not block the cacheable cookies:\n%s", results["gatehouse"])
	}
	for _, s := range gatehouseStatus {
		if !strings.HasSuffix(s, " 502") {
			t.Errorf("gatehouse blocked with another status than 502: %s", s)
		}
	}
}

// TestH1CaseAdjustMatchesHAProxy: the names h1-case-adjust lists reach
// HTTP/1 servers (option h1-case-adjust-bogus-server) and clients
// (-bogus-client) in its case, as on HAProxy 2.6's wire.
func TestH1CaseAdjustMatchesHAProxy(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := startRawHTTP(t, func(c net.Conn, br *bufio.Reader, head []string) bool {
		mu.Lock()
		for _, h := range head[1:] {
			if n, _, _ := strings.Cut(h, ":"); strings.EqualFold(n, "x-custom") || strings.EqualFold(n, "content-type") {
				seen = append(seen, n)
			}
		}
		mu.Unlock()
		io.WriteString(c, "HTTP/1.1 200 OK\r\nx-custom: 1\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok")
		return true
	})
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`global
    h1-case-adjust x-custom X-CUSTOM
    h1-case-adjust content-type Content-Type

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen app
    bind 127.0.0.1:%d
    option h1-case-adjust-bogus-client
    option h1-case-adjust-bogus-server
    server s1 127.0.0.1:%d
`, port, srv)
		stop := testenv.StartSide(t, name, cfg)
		mu.Lock()
		seen = nil
		mu.Unlock()
		c, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nx-custom: 2\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nConnection: close\r\n\r\nhi")
		raw, err := io.ReadAll(c)
		c.Close()
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatal(err)
		}
		var client []string
		for _, l := range strings.Split(string(raw), "\r\n") {
			if n, _, _ := strings.Cut(l, ":"); strings.EqualFold(n, "x-custom") || strings.EqualFold(n, "content-type") {
				client = append(client, n)
			}
		}
		stop()
		mu.Lock()
		results[name] = fmt.Sprintf("server:%v client:%v", seen, client)
		mu.Unlock()
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
	if want := "server:[X-CUSTOM Content-Type] client:[X-CUSTOM Content-Type]"; results["gatehouse"] != want {
		t.Errorf("gatehouse: %s, want %s", results["gatehouse"], want)
	}
}

// TestHTTPNoDelayMatchesHAProxy: with "option http-no-delay" the first
// part of a small response body reaches the client while the server
// holds the rest back (an interactive exchange inside one response), on
// HAProxy 2.6 and Gatehouse alike; without it Gatehouse would wait for
// the whole body, which fits a buffer.
func TestHTTPNoDelayMatchesHAProxy(t *testing.T) {
	release := make(chan struct{}, 4)
	srv := startRawHTTP(t, func(c net.Conn, br *bufio.Reader, head []string) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
		select {
		case <-release:
		case <-time.After(30 * time.Second):
		}
		io.WriteString(c, "world")
		return true
	})
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s

listen app
    bind 127.0.0.1:%d
    option http-no-delay
    server s1 127.0.0.1:%d
`, port, srv)
		stop := testenv.StartSide(t, name, cfg)
		c, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: head: %v", name, err)
		}
		first := make([]byte, 5)
		if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "hello" {
			t.Fatalf("%s: the body's first bytes did not come before the rest was sent: %q %v", name, first, err)
		}
		release <- struct{}{}
		rest, err := io.ReadAll(resp.Body)
		if err != nil || string(rest) != "world" {
			t.Fatalf("%s: rest %q %v", name, rest, err)
		}
		c.Close()
		stop()
	}
}
