package integration

import (
	"fmt"
	"strings"
	"testing"
)

// TestNormalizeURIMatchesHAProxy: each normalize-uri normalizer rewrites
// what the server gets as HAProxy 2.6's does, strict ones answer 400 on
// an invalid %-sequence, and the log keeps the target as received. Each
// runs in a backend of its own, without a condition: HAProxy 2.6 parses
// "path-strip-dotdot", "percent-to-uppercase" and
// "percent-decode-unreserved" followed by "if" as "path-merge-slashes" (a
// bug; Gatehouse follows the documentation).
func TestNormalizeURIMatchesHAProxy(t *testing.T) {
	cfg := func(e ruleEnv) string {
		return fmt.Sprintf(`global
    expose-experimental-directives

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%[1]d
    log %[2]s local0 info
    log-format "LOG|%%HU|%%ST|%%ts"
%[4]s    default_backend be

backend be
    server s1 %[3]s
`, e.Port, e.LogAddr, e.Server, normRoutes()) + normBackends(e.Server)
	}
	var cases []ruleCase
	for _, c := range []struct{ n, target string }{
		{"merge", "//a///b//?x=//y"}, {"dot", "/./bar/./?q=./"}, {"dot", "/."}, {"dot", "/.well-known/"},
		{"dotdot", "/foo/../bar/"}, {"dotdot", "/foo/bar/../"}, {"dotdot", "/../bar/"}, {"dotdot", "/bar/../../"},
		{"dotdot", "/foo//../"}, {"dotdot", "/foo/%2E%2E/"}, {"dotdot", "/a/b/.."}, {"dotdot-full", "/../bar/"},
		{"dotdot-full", "/bar/../../"}, {"decode", "/%61dmin?%7e=%2F"}, {"decode", "/%%36%36"}, {"decode", "/%ZZ"},
		{"decode-strict", "/%ZZ"}, {"decode-strict", "/%41"}, {"upcase", "/%6f?a=%2f"}, {"upcase", "/%zz"},
		{"upcase-strict", "/%zz"}, {"sort", "/?c=3&a=1&b=2"}, {"sort", "/?aaa=3&a=1&aa=2"}, {"sort", "/?a=3&b=4&a=1&b=5&a=2"},
		{"sort", "/p"}, {"sort", "/?b&a=&"}, {"frag", "/a?b"}, {"merge", "http://app.example//x//y"},
	} {
		cases = append(cases, ruleCase{name: c.n + " " + c.target, raw: fmt.Sprintf("GET %s HTTP/1.1\r\nHost: app.example\r\nX-N: %s\r\n\r\n", c.target, c.n)})
	}
	compareRules(t, cfg, cases, nil, []string{"x-path"}, true)
}

var normalizers = [][2]string{{"merge", "path-merge-slashes"}, {"dot", "path-strip-dot"}, {"dotdot", "path-strip-dotdot"},
	{"dotdot-full", "path-strip-dotdot full"}, {"decode", "percent-decode-unreserved"}, {"decode-strict", "percent-decode-unreserved strict"},
	{"upcase", "percent-to-uppercase"}, {"upcase-strict", "percent-to-uppercase strict"}, {"sort", "query-sort-by-name"}, {"frag", "fragment-strip"}}

// normRoutes sends each case to the backend named as its X-N header.
func normRoutes() string {
	var b strings.Builder
	for _, n := range normalizers {
		fmt.Fprintf(&b, "    use_backend %s if { req.hdr(x-n) %s }\n", n[0], n[0])
	}
	return b.String()
}

// normBackends declares one backend per normalizer, named as the X-N
// header of the cases.
func normBackends(server string) string {
	var b strings.Builder
	for _, n := range normalizers {
		fmt.Fprintf(&b, "\nbackend %s\n    http-request normalize-uri %s\n    http-request set-header X-Path %%[path]\n    server s1 %s\n", n[0], n[1], server)
	}
	return b.String()
}
