package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// trackView is each server's operational and admin state (show servers
// state) and status (show stat) in backends b and c, and the status code
// a request through listen c gets.
func trackView(t *testing.T, sock string, port int) string {
	t.Helper()
	var b strings.Builder
	for _, be := range []string{"b", "c"} {
		for _, line := range strings.Split(runtimeCmd(t, sock, "show servers state "+be), "\n") {
			f := strings.Fields(line)
			if len(f) > 8 && !strings.HasPrefix(line, "#") {
				fmt.Fprintf(&b, "%s/%s op=%s admin=%s; ", be, f[3], f[5], f[6])
			}
		}
	}
	for _, l := range strings.Split(runtimeCmd(t, sock, "show stat"), "\n") {
		f := strings.Split(l, ",")
		if len(f) > 17 && (f[0] == "b" || f[0] == "c") && f[1] != "BACKEND" && f[1] != "FRONTEND" {
			fmt.Fprintf(&b, "%s/%s %q; ", f[0], f[1], f[17])
		}
	}
	code := 0
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := c.Get(fmt.Sprintf("http://%s/", testenv.LocalAddr(port))); err == nil {
		code = resp.StatusCode
		resp.Body.Close()
	}
	fmt.Fprintf(&b, "GET c: %d", code)
	return b.String()
}

// TestTrackMatchesHAProxy: c/y tracks b/x (another backend), c/w tracks
// c/y (a chain). x's health check failing and passing, and x forced into
// maintenance, drain and back, must show on y and w as HAProxy 2.6 shows
// them (operational state, inherited admin bits, "MAINT (via ...)"), and
// traffic to c must stop and resume alike.
func TestTrackMatchesHAProxy(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && !healthy.Load() {
			w.WriteHeader(503)
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(web.Close)
	type step struct {
		name string
		do   func(sock string)
		// until is the status x must show before the views are taken.
		until string
	}
	steps := []step{
		{"all up", func(string) {}, `"UP"`},
		{"x fails its check", func(string) { healthy.Store(false) }, `"DOWN"`},
		{"x passes again", func(string) { healthy.Store(true) }, `"UP"`},
		{"x in maintenance", func(s string) { runtimeCmd(t, s, "set server b/x state maint") }, `"MAINT"`},
		{"x drains", func(s string) { runtimeCmd(t, s, "set server b/x state drain") }, `"DRAIN"`},
		{"x ready", func(s string) { runtimeCmd(t, s, "set server b/x state ready") }, `"UP"`},
		{"y forced into maintenance", func(s string) { runtimeCmd(t, s, "set server c/y state maint") }, `"UP"`},
	}
	views := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		sock := t.TempDir() + "/admin.sock"
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

backend b
    option httpchk GET /health
    server x %s check inter 100ms rise 1 fall 1

listen c
    bind 127.0.0.1:%d
    server y %s track b/x
    server w %s track y
`, sock, web.Listener.Addr(), port, web.Listener.Addr(), web.Listener.Addr())
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		testenv.Eventually(t, 30*time.Second, func() bool { _, err := runtimeCmdErr(sock, "show info"); return err == nil },
			"%s: the runtime API socket never answered", name)
		for _, st := range steps {
			st.do(sock)
			testenv.Eventually(t, 30*time.Second, func() bool {
				return strings.Contains(trackView(t, sock, port), "b/x "+st.until+";")
			}, "%s, %s: b/x never showed %s: %s", name, st.name, st.until, trackView(t, sock, port))
			views[name] = append(views[name], trackView(t, sock, port))
		}
	}
	for i, st := range steps {
		h, g := views["haproxy"][i], views["gatehouse"][i]
		t.Logf("%s:\n  haproxy:   %s\n  gatehouse: %s", st.name, h, g)
		if h != g {
			t.Errorf("%s:\n  haproxy:   %s\n  gatehouse: %s", st.name, h, g)
		}
	}
}
