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

// TestSetLogLevelMatchesHAProxy: http-request and http-response
// set-log-level choose the syslog severity of the request's line (the
// last matching rule wins), which a target's level then filters, and
// "silent" sends no line at all, as in HAProxy 2.6. (The format has %ST:
// HAProxy 2.6 sends a format of request fields only twice, once early.)
func TestSetLogLevelMatchesHAProxy(t *testing.T) {
	paths := []string{"/plain", "/health", "/err", "/dbg", "/both", "/resp", "/end"}
	run := func(name string, start func(string)) string {
		be := startEdgeBackend(t, func(_ int, c net.Conn, _ *bufio.Reader, req *http.Request) bool {
			io.Copy(io.Discard, req.Body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Path: %s\r\n\r\n", req.URL.Path)
			return true
		})
		all, notice := startSyslogSink(t), startSyslogSink(t)
		port := testenv.FreePort(t)
		start(fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    log %s local0
    log %s local0 notice
    log-format "LOG|%%HP|%%ST"
    http-request set-log-level silent if { path /health }
    http-request set-log-level err if { path /err } || { path /both }
    http-request set-log-level debug if { path /dbg }
    http-request set-log-level alert if { path /both }
    http-response set-log-level crit if { res.hdr(x-path) /resp }
    default_backend be

backend be
    server s1 %s
`, port, all.Addr, notice.Addr, be.addr()))
		// A client of its own: the shared one may hold a connection to
		// the same port from an earlier test.
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		for _, p := range paths {
			resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, p))
			if err != nil {
				t.Fatalf("%s: %s: %v", name, p, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		testenv.Eventually(t, 20*time.Second, func() bool { return len(all.Lines("LOG|/end")) > 0 },
			"%s: no log line for /end: %q", name, all.All())
		var out []string
		for _, s := range []*syslogSink{all, notice} {
			var ls []string
			for _, l := range s.Lines("LOG|/") {
				pri, _, _ := strings.Cut(l, ">")
				ls = append(ls, pri+">"+l[strings.Index(l, "LOG|"):])
			}
			out = append(out, strings.Join(ls, " "))
		}
		return strings.Join(out, "\n")
	}
	h := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	g := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	t.Logf("haproxy:\n%s\ngatehouse:\n%s", h, g)
	if h != g {
		t.Errorf("log lines differ")
	}
}
