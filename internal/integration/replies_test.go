package integration

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestReturnAndDenyRepliesMatchHAProxy: the reply options of
// `http-request return` and `deny` (hdr pairs rendered per request and
// dropped when empty, an errorfile's whole response, a deny given its own
// body or only headers, a dummy reply) answer the same from HAProxy 2.6
// and Gatehouse: status, header fields and body.
func TestReturnAndDenyRepliesMatchHAProxy(t *testing.T) {
	dir := t.TempDir()
	ef := filepath.Join(dir, "200.http")
	if err := os.WriteFile(ef, []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-From: errorfile\r\nContent-Length: 3\r\n\r\nef\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := func(port int) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d
    http-request return status 201 content-type text/plain lf-string "hi %%[path]" hdr X-A %%[req.hdr(x-in)] hdr X-B "v-%%[path]" if { path /ret }
    http-request return errorfile %s if { path /ef }
    http-request deny deny_status 429 content-type text/plain string "slow down" hdr Retry-After 10 if { path /deny-body }
    http-request deny deny_status 429 hdr Retry-After 10 if { path /deny-hdr }
    http-request deny if { path /deny-plain }
    http-request return status 503 if { path /dummy }
    http-request return status 200 content-type text/plain string ok
`, port, ef)
	}
	hp, gp := testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartHAProxy(t, cfg(hp))
	testenv.StartGatehouse(t, cfg(gp))
	answer := func(port int, path, xin string) string {
		var h http.Header
		if xin != "" {
			h = http.Header{"X-In": {xin}}
		}
		return replyAt(port, path, h)
	}
	for _, c := range []struct{ path, xin string }{
		{"/ret", "zz"}, {"/ret", ""}, {"/ef", ""}, {"/deny-body", ""}, {"/deny-hdr", ""},
		{"/deny-plain", ""}, {"/dummy", ""}, {"/other", ""},
	} {
		h, g := answer(hp, c.path, c.xin), answer(gp, c.path, c.xin)
		if h != g {
			t.Errorf("%s (X-In %q):\n  haproxy:   %s\n  gatehouse: %s", c.path, c.xin, h, g)
		}
	}
}

// replyAt sends GET path to a local port and renders the answer for
// comparison: status, header fields sorted (but Date and Connection:
// deny's connection handling is a known difference, README), body.
func replyAt(port int, path string, h http.Header) string {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://"+testenv.LocalAddr(port)+path, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var fields []string
	for name, vs := range resp.Header {
		if name == "Date" || name == "Connection" {
			continue
		}
		for _, v := range vs {
			fields = append(fields, name+": "+v)
		}
	}
	sort.Strings(fields)
	return fmt.Sprintf("%d [%s] %q", resp.StatusCode, strings.Join(fields, ", "), body)
}
