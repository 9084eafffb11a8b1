package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

var regexpResVer = regexp.MustCompile(` rv=\S+`)

// TestCaptureFetchesMatchHAProxy: capture.req.method|uri|ver,
// capture.res.ver and capture.req|res.hdr read what HAProxy keeps for the
// log (the request line as received, whatever set-method and set-uri
// did), in response rules and in log-format, over HTTP/1.x and HTTP/2.
func TestCaptureFetchesMatchHAProxy(t *testing.T) {
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		backend := testenv.StartEchoServer(t).Addr
		sink := startSyslogSink(t)
		h1, h2c := testenv.FreePort(t), testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    log %s local0
    log-format "m=%%[capture.req.method] u=%%[capture.req.uri] v=%%[capture.req.ver] rv=%%[capture.res.ver] h0=%%[capture.req.hdr(0)] h1=%%[capture.req.hdr(1)] r0=%%[capture.res.hdr(0)] r9=%%[capture.res.hdr(9)]"

frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    capture request header X-Agent len 5
    capture request header X-None len 5
    capture response header Content-Type len 10
    http-request set-method POST if { path_beg /setm }
    http-request set-uri /rewritten if { path_beg /setu }
    http-response set-header X-C "%%[capture.req.method] %%[capture.req.uri] %%[capture.req.ver] %%[capture.req.hdr(0)]"
    default_backend be

backend be
    server s1 %s
`, sink.Addr, h1, h2c, backend)
		stop := testenv.StartSide(t, name, cfg)
		var out []string
		for _, probe := range []struct{ target, proto string }{
			{"/a/b.c?q=1", "HTTP/1.1"}, {"/setm", "HTTP/1.0"}, {"/setu?x", "HTTP/1.1"},
		} {
			c, err := net.DialTimeout("tcp", testenv.LocalAddr(h1), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "GET %s %s\r\nHost: x\r\nX-Agent: agent/7\r\nConnection: close\r\n\r\n", probe.target, probe.proto)
			b, _ := io.ReadAll(c)
			c.Close()
			resp := strings.ToLower(string(b))
			_, xc, _ := strings.Cut(resp, "\r\nx-c: ")
			xc, _, _ = strings.Cut(xc, "\r\n")
			out = append(out, fmt.Sprintf("%s %s: x-c=%q", probe.target, probe.proto, xc))
		}
		h2 := &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}}
		req, _ := http.NewRequest("GET", "http://"+testenv.LocalAddr(h2c)+"/h2/p?q", nil)
		req.Header.Set("X-Agent", "h2agent")
		resp, err := h2.Do(req)
		if err != nil {
			t.Fatalf("%s: HTTP/2: %v", name, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, "h2: x-c="+resp.Header.Get("X-C"))
		var logs []string
		testenv.Eventually(t, 20*time.Second, func() bool {
			logs = logs[:0]
			for _, l := range sink.Lines("m=") {
				_, rest, _ := strings.Cut(l, "]: ")
				if strings.HasPrefix(rest, "m=-") {
					continue // start-up probes
				}
				if strings.Contains(rest, " v=HTTP/1.0 ") {
					// HAProxy asks the server in HTTP/1.0 too, Gatehouse
					// in HTTP/1.1: the server's version differs.
					rest = regexpResVer.ReplaceAllString(rest, "")
				}
				logs = append(logs, strings.TrimSpace(rest))
			}
			return len(logs) >= 4
		}, "4 log lines")
		slices.Sort(logs)
		out = append(out, logs...)
		stop()
		results[name] = out
	}
	h, g := results["haproxy"], results["gatehouse"]
	if strings.Join(h, "\n") != strings.Join(g, "\n") {
		t.Errorf("differs:\n  haproxy:   %s\n  gatehouse: %s", strings.Join(h, "\n             "), strings.Join(g, "\n             "))
	}
}
