package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestAfterResponseMatchesHAProxy: http-after-response rules run on the
// server's responses after http-response, and on the proxy's own answers
// (deny, errorfile, redirect, return, a 503 for a dead server), the
// backend's rules first, "allow" ending one proxy's set; set-status (in
// http-response and http-after-response) changes the status line, its
// reason and the logged status, as in HAProxy 2.6.
func TestAfterResponseMatchesHAProxy(t *testing.T) {
	ef := filepath.Join(t.TempDir(), "403.http")
	if err := os.WriteFile(ef, []byte("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-From: errorfile\r\nContent-Length: 5\r\n\r\nnope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
    http-request deny deny_status 403 if { path_beg /deny }
    http-request redirect location /elsewhere if { path_beg /redir }
    http-request return status 200 content-type text/plain string hello hdr X-Ret yes if { path_beg /ret }
    http-after-response set-header Strict-Transport-Security "max-age=31536000"
    http-after-response add-header X-After fe-%%[status]
    http-after-response del-header X-Srv
    http-after-response replace-header Set-Cookie (SRV=[^;]*)(.*) \1;Secure\2
    http-after-response set-status 299 reason "Fine" if { status 200 } { res.hdr(x-path) -m beg /st }
    http-after-response set-status 418 if { res.hdr(x-path) /teapot }
    http-after-response set-status 451 if { status 403 } { res.hdr(x-from) errorfile }
    http-after-response allow if { res.hdr(x-path) /allow }
    http-after-response set-header X-Not-Allowed yes
    http-after-response set-var(txn.st) status
    http-after-response set-header X-Var st-%%[var(txn.st)]
    use_backend dead if { path_beg /dead }
    use_backend ef if { path_beg /ef }
    default_backend be

backend be
    http-response set-status 202 if { res.hdr(x-path) /resp }
    http-response set-status 503 reason "Slow Down" if { res.hdr(x-path) /slow }
    http-after-response add-header X-Be-After be-%%[status]
    http-after-response allow if { res.hdr(x-path) /beallow }
    http-after-response set-header X-Be-Last yes
    server s1 %s

backend ef
    errorfile 403 %s
    http-request deny
    http-after-response add-header X-Ef-After %%[res.hdr(x-from)]

backend dead
    retries 0
    server s1 127.0.0.1:1
`, e.Port, e.LogAddr, e.Server, ef)
	}
	req := func(target string) ruleCase {
		return ruleCase{name: target, raw: fmt.Sprintf("GET %s HTTP/1.1\r\nHost: app.example\r\n\r\n", target)}
	}
	cases := []ruleCase{
		req("/plain"), req("/deny"), req("/redir"), req("/ret"), req("/st"), req("/st-deny"),
		req("/teapot"), req("/allow"), req("/beallow"), req("/resp"), req("/slow"), req("/dead"), req("/ef"),
		{name: "HEAD /ret", raw: "HEAD /ret HTTP/1.1\r\nHost: app.example\r\n\r\n"},
	}
	compareRules(t, cfg, cases, []string{"Strict-Transport-Security", "X-After", "X-Srv", "Set-Cookie", "X-Not-Allowed",
		"X-Be-After", "X-Be-Last", "X-Ef-After", "X-From", "X-Ret", "X-Var", "Location", "Content-Type", "Content-Length"}, nil, true)
}
