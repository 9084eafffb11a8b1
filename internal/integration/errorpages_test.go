package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestErrorPagesMatchHAProxy: error pages from an http-errors section
// (imported whole by defaults, partly by a proxy, or named by a return
// rule), errorloc and errorloc303 redirections, http-error replies with a
// format and fields, http-error default-errorfiles on a backend (the
// frontend's page then), and the order rule (a later directive wins)
// answer the same from HAProxy 2.6 and Gatehouse.
func TestErrorPagesMatchHAProxy(t *testing.T) {
	dir := t.TempDir()
	write := func(name, status, marker string) string {
		p := filepath.Join(dir, name)
		body := marker + "\n"
		raw := fmt.Sprintf("HTTP/1.1 %s\r\nContent-Type: text/html\r\nX-Page: %s\r\nContent-Length: %d\r\n\r\n%s", status, marker, len(body), body)
		if err := os.WriteFile(p, []byte(raw), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	site503, site403 := write("site503.http", "503 Service Unavailable", "site-503"), write("site403.http", "403 Forbidden", "site-403")
	other403, fe502 := write("other403.http", "403 Forbidden", "other-403"), write("fe502.http", "502 Bad Gateway", "fe-502")
	cfg := func(port int) string {
		return fmt.Sprintf(`http-errors site
    errorfile 503 %s
    errorfile 403 %s

http-errors other
    errorfile 403 %s

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    errorfiles site

frontend fe
    bind 127.0.0.1:%d
    errorloc 404 /notfound
    errorloc303 405 https://errors.example/method
    http-error status 429 content-type text/plain lf-string "slow down on %%[path]" hdr Retry-After 5
    errorfile 502 %s
    http-request deny deny_status 503 if { path /a }
    http-request deny if { path /b }
    http-request deny deny_status 404 if { path /c }
    http-request deny deny_status 405 if { path /d }
    http-request deny deny_status 429 if { path /e }
    http-request return status 403 errorfiles other if { path /f }
    http-request return status 503 errorfiles other if { path /g }
    http-request deny deny_status 500 if { path /h }
    use_backend be if { path_beg /be }
    default_backend be2

backend be
    errorfiles other 403
    http-error status 503 default-errorfiles
    http-request deny if { path /be/403 }
    http-request deny deny_status 503 if { path /be/503 }
    http-request deny deny_status 502 if { path /be/502 }
    server dead 127.0.0.1:1

backend be2
    http-error status 403 content-type text/plain string "first"
    http-error status 403 content-type text/plain string "second"
    http-request deny
`, site503, site403, other403, port, fe502)
	}
	hp, gp := testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartHAProxy(t, cfg(hp))
	testenv.StartGatehouse(t, cfg(gp))
	for _, path := range []string{"/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h", "/be/403", "/be/503", "/be/502", "/be/x", "/other"} {
		h, g := replyAt(hp, path, nil), replyAt(gp, path, nil)
		if h != g {
			t.Errorf("%s:\n  haproxy:   %s\n  gatehouse: %s", path, h, g)
		}
	}
}
