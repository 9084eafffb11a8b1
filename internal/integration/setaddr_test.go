package integration

import (
	"fmt"
	"strings"
	"testing"
)

// TestSetSrcDstMatchesHAProxy: set-src, set-src-port, set-dst and
// set-dst-port change src, dst, the log's %ci and %fi, the forwarded-for
// header and what a server at 0.0.0.0 connects to, not fc_src nor fc_dst;
// url_ip, url_port and pathq read an absolute target (issue 19, section
// 2: HAProxy's way to emulate "option http_proxy"), as in HAProxy 2.6.
func TestSetSrcDstMatchesHAProxy(t *testing.T) {
	cfg := func(e ruleEnv) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    log %s local0 info
    log-format "LOG|%%ci|%%fi:%%fp|%%[src]|%%[dst]:%%[dst_port]|%%[fc_src]|%%[fc_dst]:%%[fc_dst_port]|%%ST|%%HM"
    option forwardfor
    http-request set-src req.hdr(x-src) if { req.hdr(x-src) -m found }
    http-request set-src-port req.hdr(x-sport) if { req.hdr(x-sport) -m found }
    http-request set-dst req.hdr(x-dst) if { req.hdr(x-dst) -m found }
    http-request set-dst-port req.hdr(x-dport) if { req.hdr(x-dport) -m found }
    http-request set-header X-Seen "%%[src]|%%[dst]:%%[dst_port]|%%[fc_src]|%%[fc_dst]|%%[url_ip]|%%[url_port]|%%[pathq]"
    http-request deny deny_status 403 if { src 10.9.0.0/16 }
    use_backend transparent if { req.hdr(x-t) tr }
    default_backend be

backend be
    server s1 %s

backend transparent
    http-request set-dst url_ip
    http-request set-dst-port url_port
    http-request set-uri %%[pathq]
    server next-hop 0.0.0.0
`, e.Port, e.LogAddr, e.Server)
	}
	req := func(name, target, extra string) ruleCase {
		host := "app.example"
		if _, rest, ok := strings.Cut(target, "://"); ok {
			host, _, _ = strings.Cut(rest, "/") // HAProxy wants them alike
		}
		return ruleCase{name: name, raw: fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", target, host, extra)}
	}
	cases := []ruleCase{
		req("plain", "/p?q=1", ""),
		req("src", "/p", "X-Src: 192.0.2.7\r\n"),
		req("src6", "/p", "X-Src: 2001:db8::1\r\n"),
		req("src not an address", "/p", "X-Src: nope\r\n"),
		req("src port", "/p", "X-Src: 192.0.2.8\r\nX-Sport: 4444\r\n"),
		req("src denied", "/p", "X-Src: 10.9.1.1\r\n"),
		req("dst", "/p", "X-Dst: 198.51.100.1\r\n"),
		req("dst port", "/p", "X-Dst: 198.51.100.2\r\nX-Dport: 8080\r\n"),
		req("dst port wraps", "/p", "X-Dport: 65537\r\n"),
		req("absolute", "http://192.0.2.1:81/a?b", ""),
		req("absolute https", "https://192.0.2.1/a", ""),
		req("absolute name", "http://app.example/a", ""),
		req("transparent", "http://{SERVER}/via/dst?x=1", "X-T: tr\r\n"),
	}
	compareRules(t, cfg, cases, nil, []string{"x-seen", "x-forwarded-for"}, true)
}
