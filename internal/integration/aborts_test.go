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

// startBadServer answers /invalid with an invalid status line, /trunc with a
// head cut short by a close, anything else with a 200.
func startBadServer(t *testing.T) int {
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
					switch req.URL.Path {
					case "/invalid":
						io.WriteString(c, "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n")
						return
					case "/trunc":
						io.WriteString(c, "HTTP/1.1 200 OK\r\nFoo: b")
						return
					default:
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					}
				}
			}(c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func resetConn(c net.Conn) {
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
}

func localPort(c net.Conn) string {
	return fmt.Sprint(c.LocalAddr().(*net.TCPAddr).Port)
}

// TestAbortLogsMatchHAProxy: a client resetting an idle keep-alive
// connection logs nothing; a reset before or in the middle of a head logs
// "400 CR-- <BADREQ>" with TR -1; a head the parser refuses "400 PR--
// <BADREQ>", TR -1 and no bytes, even when its request line was read; an
// invalid response head is "502 PH--" and a head cut short by the server
// "502 SH--". HAProxy 2.6 does the same with the same traffic.
func TestAbortLogsMatchHAProxy(t *testing.T) {
	srvPort := startBadServer(t)
	cfg := func(port int) string {
		return fmt.Sprintf(`global
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 20s
    timeout server 20s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, srvPort)
	}
	type proc interface{ Stdout() string }
	run := func(name string, start func(cfg string) proc) map[string][]string {
		port := testenv.FreePort(t)
		p := start(cfg(port))
		addr := testenv.LocalAddr(port)
		dial := func() net.Conn {
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return c
		}
		linesOf := func(port string) []string {
			var out []string
			for _, l := range strings.Split(p.Stdout(), "\n") {
				if m := httplogLine.FindStringSubmatch(l); m != nil && m[2] == port {
					out = append(out, l)
				}
			}
			return out
		}
		waitLines := func(what, port string, n int) {
			testenv.Eventually(t, 20*time.Second, func() bool { return len(linesOf(port)) >= n },
				"%s %s: want %d log lines for port %s:\n%s", name, what, n, port, p.Stdout())
		}
		ports := map[string]string{}

		// An answered request, then a reset while idle.
		c := dial()
		ports["idle-reset"] = localPort(c)
		io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		io.Copy(io.Discard, resp.Body)
		waitLines("idle-reset", ports["idle-reset"], 1)
		resetConn(c)

		// Connect, then a reset without a byte.
		c = dial()
		ports["reset-first"] = localPort(c)
		time.Sleep(50 * time.Millisecond) // let the proxy accept it first
		resetConn(c)
		waitLines("reset-first", ports["reset-first"], 1)

		// Half a head, then a reset.
		c = dial()
		ports["reset-half"] = localPort(c)
		io.WriteString(c, "GET /half HTTP/1.1\r\nHo")
		time.Sleep(50 * time.Millisecond)
		resetConn(c)
		waitLines("reset-half", ports["reset-half"], 1)

		// Half a head, then a close (FIN).
		c = dial()
		ports["fin-half"] = localPort(c)
		io.WriteString(c, "GET /half HTTP/1.1\r\nHo")
		time.Sleep(50 * time.Millisecond)
		c.(*net.TCPConn).CloseWrite()
		waitLines("fin-half", ports["fin-half"], 1)
		c.Close()

		// Heads the parser refuses: HAProxy's HTTP/1 layer answers 400
		// before a stream exists.
		for what, head := range map[string]string{
			"garbage":    "GARBAGE\r\n\r\n",
			"bad-header": "GET /bad HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
		} {
			c = dial()
			ports[what] = localPort(c)
			io.WriteString(c, head)
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 400 {
				t.Errorf("%s %s: %v %v", name, what, resp, err)
			}
			c.Close()
			waitLines(what, ports[what], 1)
		}

		for _, path := range []string{"/invalid", "/trunc"} {
			c = dial()
			ports[path] = localPort(c)
			io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || resp.StatusCode != 502 {
				t.Errorf("%s %s: %v %v", name, path, resp, err)
			}
			c.Close()
			waitLines(path, ports[path], 1)
		}
		// The idle reset was sent before everything above; give a late
		// line a moment to show up anyway.
		time.Sleep(200 * time.Millisecond)
		out := map[string][]string{}
		for k, port := range ports {
			for _, l := range linesOf(port) {
				m := httplogLine.FindStringSubmatch(l)
				shape := logShape(m)
				if m[12] == "400" {
					// Rejected heads: no bytes logged, whatever was sent.
					shape += " bytes=" + m[13]
				}
				out[k] = append(out[k], shape)
			}
		}
		return out
	}
	gh := run("gatehouse", func(cfg string) proc { return testenv.StartGatehouse(t, cfg) })
	hp := run("haproxy", func(cfg string) proc { return testenv.StartHAProxy(t, cfg) })

	want := map[string]string{
		"idle-reset":  `status=200 cookies=- - term=---- queues=0/0 req=GET /ok HTTP/1.1`,
		"reset-first": `timers=-1/-1/-1/-1/n status=400 cookies=- - term=CR-- queues=0/0 req=<BADREQ> bytes=0`,
		"reset-half":  `timers=-1/-1/-1/-1/n status=400 cookies=- - term=CR-- queues=0/0 req=<BADREQ> bytes=0`,
		"fin-half":    `timers=-1/-1/-1/-1/n status=400 cookies=- - term=CR-- queues=0/0 req=<BADREQ> bytes=0`,
		"garbage":     `timers=-1/-1/-1/-1/n status=400 cookies=- - term=PR-- queues=0/0 req=<BADREQ> bytes=0`,
		"bad-header":  `timers=-1/-1/-1/-1/n status=400 cookies=- - term=PR-- queues=0/0 req=<BADREQ> bytes=0`,
		"/invalid":    `status=502 cookies=- - term=PH-- queues=0/0 req=GET /invalid HTTP/1.1`,
		"/trunc":      `status=502 cookies=- - term=SH-- queues=0/0 req=GET /trunc HTTP/1.1`,
	}
	for k, w := range want {
		for name, got := range map[string][]string{"gatehouse": gh[k], "haproxy": hp[k]} {
			if len(got) != 1 || !strings.Contains(got[0], w) {
				t.Errorf("%s %s: lines %q, want one with %q", name, k, got, w)
			}
		}
		if strings.Join(gh[k], "\n") != strings.Join(hp[k], "\n") {
			t.Errorf("%s differs:\n gatehouse %q\n   haproxy %q", k, gh[k], hp[k])
		}
	}
}

// TestIgnoreProbesMatchesHAProxy: with "option http-ignore-probes" a
// connection that ends before its first byte (close, reset or the
// http-request timeout: a browser's pre-connect) gets no answer and no log
// line; one that sent half a head still does. HAProxy 2.6 does the same.
func TestIgnoreProbesMatchesHAProxy(t *testing.T) {
	srvPort := startBadServer(t)
	cfg := func(port int) string {
		return fmt.Sprintf(`global
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 20s
    timeout server 20s
    timeout http-request 300ms
frontend fe
    bind 127.0.0.1:%d
    option http-ignore-probes
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, srvPort)
	}
	type proc interface{ Stdout() string }
	run := func(name string, start func(cfg string) proc) (lines map[string][]string, answers map[string]string) {
		port := testenv.FreePort(t)
		p := start(cfg(port))
		addr := testenv.LocalAddr(port)
		dial := func() net.Conn {
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return c
		}
		ports := map[string]string{}
		answers = map[string]string{}
		// Each probe: what it does, then what the proxy answered before closing.
		probe := func(what string, act func(c net.Conn)) {
			c := dial()
			ports[what] = localPort(c)
			act(c)
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			b, _ := io.ReadAll(c)
			answers[what] = string(b)
			c.Close()
		}
		probe("close", func(c net.Conn) { c.(*net.TCPConn).CloseWrite() })
		probe("timeout", func(c net.Conn) {}) // the proxy closes after timeout http-request
		probe("half-timeout", func(c net.Conn) { io.WriteString(c, "GET / HT") })
		// Wait for the line of the one that must log, then a moment for
		// lines that should not come.
		testenv.Eventually(t, 20*time.Second, func() bool {
			return strings.Contains(p.Stdout(), "127.0.0.1:"+ports["half-timeout"]+" ")
		}, "%s: no line for the half head:\n%s", name, p.Stdout())
		time.Sleep(200 * time.Millisecond)
		lines = map[string][]string{}
		for what, port := range ports {
			for _, l := range strings.Split(p.Stdout(), "\n") {
				if m := httplogLine.FindStringSubmatch(l); m != nil && m[2] == port {
					lines[what] = append(lines[what], logShape(m))
				}
			}
		}
		return lines, answers
	}
	ghLines, ghAns := run("gatehouse", func(cfg string) proc { return testenv.StartGatehouse(t, cfg) })
	hpLines, hpAns := run("haproxy", func(cfg string) proc { return testenv.StartHAProxy(t, cfg) })
	for _, what := range []string{"close", "timeout"} {
		if len(ghLines[what]) != 0 || ghAns[what] != "" {
			t.Errorf("gatehouse %s: logged %q, answered %q; want nothing", what, ghLines[what], ghAns[what])
		}
	}
	if len(ghLines["half-timeout"]) != 1 || !strings.HasPrefix(ghAns["half-timeout"], "HTTP/1.1 408") {
		t.Errorf("gatehouse half-timeout: logged %q, answered %q; want a 408", ghLines["half-timeout"], ghAns["half-timeout"])
	}
	for _, what := range []string{"close", "timeout", "half-timeout"} {
		if strings.Join(ghLines[what], "\n") != strings.Join(hpLines[what], "\n") {
			t.Errorf("%s: lines differ:\n gatehouse %q\n   haproxy %q", what, ghLines[what], hpLines[what])
		}
		g, h, _ := strings.Cut(ghAns[what], "\r\n")
		hh, _, _ := strings.Cut(hpAns[what], "\r\n")
		if g != hh {
			t.Errorf("%s: answers differ: gatehouse %q, haproxy %q", what, g, hh)
		}
		_ = h
	}
}
