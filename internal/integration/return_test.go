package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestReturnMatchesHAProxy: every payload of "return" (none, string,
// lf-string, file, lf-file, default-errorfiles, errorfile) with its
// content-type and hdr fields, "deny" with the same options, and
// http-response deny and return, as HAProxy 2.6 answers them.
func TestReturnMatchesHAProxy(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	js := write("a.js", "console.log(1);\n")
	lf := write("page.html", "<p>path %[path] method %[method]</p>\n")
	ef := write("ef.http", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-From: errorfile\r\nContent-Length: 3\r\n\r\nok\n")
	e503 := write("503.http", "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nX-From: 503file\r\nContent-Length: 5\r\n\r\nbusy\n")
	cfg := func(e ruleEnv) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    log %s local0 info
    log-format "LOG|%%ST|%%r"
    errorfile 503 %s
    http-request return status 404 if { path /empty }
    http-request return status 200 content-type text/plain string hello hdr X-A "v-%%[path]" hdr Content-Type ignored if { path /str }
    http-request return content-type "text/plain; charset=utf-8" lf-string "p=%%[path]" hdr Cache-Control "public, max-age=10" if { path /lf }
    http-request return status 200 content-type application/javascript file %s hdr Cache-Control public if { path /file }
    http-request return lf-file %s status 202 content-type text/html if { path /lffile }
    http-request return status 503 default-errorfiles if { path /deferr }
    http-request return status 404 default-errorfiles if { path /def404 }
    http-request return errorfile %s if { path /ef }
    http-request deny deny_status 429 content-type text/plain string "slow down" hdr Retry-After 10 if { path /deny429 }
    http-request deny status 410 if { path /denyempty }
    http-request deny deny_status 503 if { path /denyerr }
    http-request return status 204 if { path /nocontent }
    default_backend be

backend be
    http-response deny if { res.hdr(x-path) /respdeny }
    http-response deny deny_status 403 if { res.hdr(x-path) /respdeny403 }
    http-response return status 201 content-type text/plain lf-string "was %%[status]" if { res.hdr(x-path) /respret }
    server s1 %s
`, e.Port, e.LogAddr, e503, js, lf, ef, e.Server)
	}
	req := func(target string) ruleCase {
		return ruleCase{name: target, raw: fmt.Sprintf("GET %s HTTP/1.1\r\nHost: app.example\r\n\r\n", target)}
	}
	var cases []ruleCase
	for _, p := range []string{"/empty", "/str", "/lf", "/file", "/lffile", "/deferr", "/def404", "/ef", "/deny429",
		"/denyempty", "/denyerr", "/nocontent", "/respdeny", "/respdeny403", "/respret", "/plain"} {
		cases = append(cases, req(p))
	}
	compareRules(t, cfg, cases, []string{"X-A", "Content-Type", "Cache-Control", "Retry-After", "Content-Length", "X-From", "X-Srv"}, nil, true)
}
