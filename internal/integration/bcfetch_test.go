package integration

import (
	"fmt"
	"testing"
)

// TestBackendConnFetchesMatchHAProxy: bc_src, bc_dst, bc_dst_port and
// bc_http_major (and fc_http_major) in response rules, and the log's %bi, read the connection
// to the server as HAProxy 2.6 does; a request answered locally has none.
func TestBackendConnFetchesMatchHAProxy(t *testing.T) {
	cfg := func(e ruleEnv) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    log %s local0 info
    log-format "LOG|%%bi|%%ST|%%HM"
    http-request return status 200 if { path /local }
    http-response set-header X-Bc "%%[fc_http_major]|%%[bc_src]|%%[bc_dst]:%%[bc_dst_port]|%%[bc_http_major]"
    default_backend be

backend be
    server s1 %s
`, e.Port, e.LogAddr, e.Server)
	}
	cases := []ruleCase{
		{name: "server", raw: "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"},
		{name: "local", raw: "GET /local HTTP/1.1\r\nHost: h\r\n\r\n"},
	}
	compareRules(t, cfg, cases, []string{"X-Bc"}, nil, true)
}
