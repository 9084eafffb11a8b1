package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// markedRun starts the proxy with s1 (checked, its health toggled by the
// test) and a backup bk, opts added to s1's line. A slow request is held
// by the server it reached while s1 is marked down (scenario "down") or
// back up (scenario "up"); the result says which server had it and
// whether the client's connection was cut before the server answered.
func markedRun(t *testing.T, proxy, mode, opts, scenario string) string {
	var healthy atomic.Bool
	healthy.Store(scenario == "down")
	release := make(chan struct{})
	var held atomic.Value
	mk := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/health" {
				if name == "s1" && !healthy.Load() {
					w.WriteHeader(503)
				}
				return
			}
			held.Store(name)
			select {
			case <-release:
			case <-time.After(30 * time.Second):
			}
			io.WriteString(w, name)
		}))
		t.Cleanup(s.Close)
		return s
	}
	s1, bk := mk("s1"), mk("bk")
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	port := testenv.FreePort(t)
	sock := t.TempDir() + "/admin.sock"
	cfg := fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode %s
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen l
    bind 127.0.0.1:%d
    option httpchk GET /health
    server s1 %s check inter 100ms rise 1 fall 1 %s
    server bk %s backup
`, sock, mode, port, s1.Listener.Addr(), opts, bk.Listener.Addr())
	if proxy == "haproxy" {
		testenv.StartHAProxy(t, cfg)
	} else {
		testenv.StartGatehouse(t, cfg)
	}
	statusOf := func() string {
		out, err := runtimeCmdErr(sock, "show stat")
		if err != nil {
			return ""
		}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Split(l, ","); len(f) > 17 && f[0] == "l" && f[1] == "s1" {
				return f[17]
			}
		}
		return ""
	}
	want := map[string]string{"down": "UP", "up": "DOWN"}[scenario]
	testenv.Eventually(t, 30*time.Second, func() bool { return statusOf() == want }, "%s: s1 never %s", proxy, want)
	c, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	testenv.Eventually(t, 30*time.Second, func() bool { return held.Load() != nil }, "%s: the request never reached a server", proxy)
	healthy.Store(scenario == "up")
	testenv.Eventually(t, 30*time.Second, func() bool { return statusOf() != want && statusOf() != "" },
		"%s: s1 never left %s", proxy, want)
	// Cut: the connection ends now (tcp), or a 502 comes (http). Not cut:
	// nothing arrives until the server answers, which the test lets it do
	// after a second.
	c.SetReadDeadline(time.Now().Add(time.Second))
	var b [1]byte
	n, err := c.Read(b[:])
	cut := err == io.EOF || err != nil && !isTimeoutErr(err)
	close(release)
	answer := ""
	if !cut {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader(string(b[:n])), c)), nil); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answer = string(body)
		}
	}
	return fmt.Sprintf("held by %v, cut: %v, answer %q", held.Load(), cut, answer)
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestOnMarkedMatchesHAProxy: with "on-marked-down shutdown-sessions" a
// stream on s1 is cut when s1's check marks it down; with "on-marked-up
// shutdown-backup-sessions" a stream on the backup is cut when s1 comes
// back; without them both streams go on and are answered. In HTTP and TCP
// mode, side by side with HAProxy 2.6.
func TestOnMarkedMatchesHAProxy(t *testing.T) {
	for _, mode := range []string{"http", "tcp"} {
		for _, tc := range []struct{ opts, scenario string }{
			{"", "down"},
			{"on-marked-down shutdown-sessions", "down"},
			{"", "up"},
			{"on-marked-up shutdown-backup-sessions", "up"},
		} {
			h := markedRun(t, "haproxy", mode, tc.opts, tc.scenario)
			g := markedRun(t, "gatehouse", mode, tc.opts, tc.scenario)
			t.Logf("%s %q, s1 marked %s: haproxy %s; gatehouse %s", mode, tc.opts, tc.scenario, h, g)
			if h != g {
				t.Errorf("%s %q, s1 marked %s:\n  haproxy:   %s\n  gatehouse: %s", mode, tc.opts, tc.scenario, h, g)
			}
		}
	}
}
