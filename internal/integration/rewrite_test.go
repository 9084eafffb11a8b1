package integration

import (
	"fmt"
	"testing"
)

// TestRequestLineRewritesMatchHAProxy: replace-path, replace-pathq,
// replace-uri, set-method and set-pathq change what the server gets and
// what later rules see, as in HAProxy 2.6, while the log shows the request
// line as received; replace-header and replace-value replace the whole
// value on a match and read \xHH escapes (issue 19, section 2).
func TestRequestLineRewritesMatchHAProxy(t *testing.T) {
	cfg := func(e ruleEnv) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    log %s local0 info
    log-format "LOG|%%r|%%HM|%%HU|%%HP|%%HQ|%%ST"
    http-request replace-path /foo/(.*) /\1 if { req.hdr(x-t) rp }
    http-request replace-path (.*) /pre\1 if { req.hdr(x-t) rp2 }
    http-request replace-path bar /baz if { req.hdr(x-t) rp3 }
    http-request replace-path nomatch x if { req.hdr(x-t) rp4 }
    http-request replace-pathq ([^?]*)(\?(.*))? \1/foo\2 if { req.hdr(x-t) rpq }
    http-request replace-uri ^http://(.*) https://\1 if { req.hdr(x-t) ru }
    http-request replace-uri ([^/:]*://[^/]*)?(.*) \1/foo\2 if { req.hdr(x-t) ru2 }
    http-request set-method POST if { req.hdr(x-t) sm }
    http-request set-pathq /new if { req.hdr(x-t) spq }
    http-request set-pathq /new?was=%%[path] if { req.hdr(x-t) spq2 }
    http-request replace-header X-H bar baz if { req.hdr(x-t) rh }
    http-request replace-value X-V ^a(.)$ \x41\1 if { req.hdr(x-t) rv }
    http-request set-header X-Seen %%[method]|%%[path]|%%[query]|%%[url]
    http-request deny deny_status 403 if { path_beg /pre/admin }
    default_backend be

backend be
    server s1 %s
`, e.Port, e.LogAddr, e.Server)
	}
	req := func(kind, target, extra string) ruleCase {
		return ruleCase{name: kind + " " + target, raw: fmt.Sprintf("GET %s HTTP/1.1\r\nHost: app.example\r\nX-T: %s\r\n%s\r\n", target, kind, extra)}
	}
	cases := []ruleCase{
		req("rp", "/foo/bar?q=1", ""),
		req("rp", "/x/foo/bar", ""),
		req("rp", "http://app.example/foo/b?x", ""),
		req("rp2", "/bar?q=1", ""),
		req("rp2", "/admin", ""),
		req("rp3", "/foobarqux?bar", ""),
		req("rp4", "/a?b", ""),
		req("rpq", "/bar?q=1", ""),
		req("rpq", "/bar", ""),
		req("ru", "http://app.example/p?q", ""),
		req("ru", "/p?q", ""),
		req("ru2", "/bar?q=1", ""),
		req("ru2", "http://app.example/bar?q=1", ""),
		req("sm", "/m", ""),
		{name: "sm PURGE", raw: "PURGE /m HTTP/1.1\r\nHost: app.example\r\nX-T: sm\r\n\r\n"},
		req("spq", "/old?q=1", ""),
		req("spq", "http://app.example/old?q=1", ""),
		req("spq2", "/old?q=1", ""),
		req("rh", "/h", "X-H: foobarqux\r\nX-H: nothing\r\n"),
		req("rv", "/v", "X-V: ab, b, ac\r\n"),
	}
	compareRules(t, cfg, cases, nil, []string{"x-seen", "x-h", "x-v"}, true)
}
