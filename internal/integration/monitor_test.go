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

func monitorConfig(fe, st, dead int) string {
	return fmt.Sprintf(`global
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%d
    monitor-uri /healthz
    acl dead req.hdr(x-site) dead
    monitor fail if dead { req.hdr(x-fail) yes }
    monitor fail unless { req.hdr(x-ok) yes } || !{ req.hdr(x-test-unless) -m found }
    http-request deny if { path_beg /healthz }
    default_backend be2

backend be
    server s1 127.0.0.1:%d

backend be2
    http-request return status 200 content-type text/plain string fwd

listen st
    bind 127.0.0.1:%d
    stats enable
    stats uri /
`, fe, dead, st)
}

// TestMonitorURIMatchesHAProxy sends the same requests to HAProxy 2.6 and
// Gatehouse: the monitor-uri is answered before any http-request rule,
// with 200 or with 503 when a "monitor fail" condition holds; the path
// match includes the query and accepts an absolute-form target; the answer
// keeps the connection alive; monitor requests count as intercepted and
// are not logged.
func TestMonitorURIMatchesHAProxy(t *testing.T) {
	type side struct {
		name    string
		fe, st  int
		process interface{ String() string }
	}
	var sides []*side
	for _, name := range []string{"haproxy", "gatehouse"} {
		s := &side{name: name, fe: testenv.FreePort(t), st: testenv.FreePort(t)}
		cfg := monitorConfig(s.fe, s.st, testenv.FreePort(t))
		if name == "haproxy" {
			s.process = testenv.StartHAProxy(t, cfg).Process
		} else {
			s.process = testenv.StartGatehouse(t, cfg).Process
		}
		sides = append(sides, s)
	}
	requests := []struct{ target, hdr string }{
		{"/healthz", ""},
		{"/healthz", "X-Fail: yes\r\n"},
		{"/healthz", "X-Fail: yes\r\nX-Site: dead\r\n"},
		{"/healthz", "X-Test-Unless: 1\r\n"},
		{"/healthz", "X-Test-Unless: 1\r\nX-Ok: yes\r\n"},
		{"/healthz?x=1", ""},
		{"/healthz/", ""},
		{"http://h.example/healthz", ""},
	}
	results := map[string]string{}
	for _, s := range sides {
		var out []string
		// One connection while it stays open: a monitor answer keeps it
		// (a deny's keep-alive is not what this test compares).
		var (
			c  net.Conn
			br *bufio.Reader
		)
		for _, r := range requests {
			if c == nil {
				var err error
				if c, err = net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.fe), 10*time.Second); err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(20 * time.Second))
				br = bufio.NewReader(c)
			}
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h.example\r\n%s\r\n", r.target, r.hdr)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: %s %q: %v", s.name, r.target, r.hdr, err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("%s: %s: %v", s.name, r.target, err)
			}
			line := fmt.Sprintf("%s %q -> %s type=%q cache=%q body=%q", r.target, r.hdr,
				resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), body)
			if resp.StatusCode != 403 {
				line += fmt.Sprintf(" close=%v", resp.Close)
			}
			out = append(out, line)
			if resp.Close {
				c.Close()
				c = nil
			}
		}
		if c != nil {
			c.Close()
		}
		csv := func() string {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/;csv", s.st))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}()
		cols := map[string]int{}
		for _, line := range strings.Split(csv, "\n") {
			f := strings.Split(strings.TrimPrefix(line, "# "), ",")
			if strings.HasPrefix(line, "# ") {
				for i, n := range f {
					cols[n] = i
				}
				continue
			}
			if len(f) > cols["intercepted"] && f[0] == "fe" && f[1] == "FRONTEND" {
				out = append(out, fmt.Sprintf("fe req_tot=%s intercepted=%s", f[cols["req_tot"]], f[cols["intercepted"]]))
			}
		}
		// The forwarded and denied requests are logged; the monitor ones
		// must not be. Wait for the last logged line first.
		testenv.Eventually(t, 10*time.Second, func() bool { return strings.Contains(s.process.String(), "GET /healthz/ HTTP/1.1") },
			"%s did not log the forwarded request", s.name)
		logged := 0
		for _, l := range strings.Split(s.process.String(), "\n") {
			if strings.Contains(l, "GET /healthz HTTP/1.1") || strings.Contains(l, "GET http://h.example/healthz HTTP/1.1") {
				logged++
			}
		}
		out = append(out, fmt.Sprintf("monitor requests logged: %d", logged))
		results[s.name] = strings.Join(out, "\n")
	}
	h, g := results["haproxy"], results["gatehouse"]
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	for _, want := range []string{`"X-Fail: yes\r\nX-Site: dead\r\n" -> 503`, `/healthz?x=1 "" -> 403`, `/healthz "" -> 200 OK type="text/html" cache="no-cache" body="<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n" close=false`, "monitor requests logged: 0", "intercepted=6"} {
		if !strings.Contains(g, want) {
			t.Errorf("missing %q in:\n%s", want, g)
		}
	}
}

// TestMonitorNbsrvMatchesHAProxy: the documented use of "monitor fail",
// with nbsrv() counting the usable servers of a backend. Its only server
// refuses connections, so once its check fails both proxies answer 503,
// while a backend with a live server keeps the monitor at 200.
func TestMonitorNbsrvMatchesHAProxy(t *testing.T) {
	live := testenv.StartEchoServer(t)
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    default-server inter 200ms fall 1 rise 1

frontend fe
    bind 127.0.0.1:%d
    monitor-uri /site_alive
    acl dead_dead nbsrv(dead) lt 1
    acl live_dead nbsrv(live) lt 1
    monitor fail if dead_dead { req.hdr(x-which) dead }
    monitor fail if live_dead { req.hdr(x-which) live }
    default_backend live

backend dead
    server s1 127.0.0.1:%d check

backend live
    server s1 %s check
`, fe, testenv.FreePort(t), live.Addr)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		status := func(which string) int {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/site_alive", fe), nil)
			req.Header.Set("X-Which", which)
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		testenv.Eventually(t, 20*time.Second, func() bool { return status("dead") == 503 },
			"%s: the monitor does not fail once backend 'dead' has no usable server", name)
		if got := status("live"); got != 200 {
			t.Errorf("%s: monitor with a live backend = %d, want 200", name, got)
		}
	}
}
