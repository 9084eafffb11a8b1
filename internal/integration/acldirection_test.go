package integration

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

var regexpNeverMatch = regexp.MustCompile(`parsing \[[^\]]*:(\d+)\] : (.*will never match.*)`)

// TestACLOutOfDirectionMatchesHAProxy: an ACL reading what a rule's
// direction does not have (the request path in an http-response rule, a
// response header in an http-request rule) is accepted with HAProxy's
// warning and never matches (its negation always does), as in HAProxy;
// what HAProxy keeps (method) still matches in a response rule.
func TestACLOutOfDirectionMatchesHAProxy(t *testing.T) {
	backend := testenv.StartEchoServer(t).Addr
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    acl is_a path_beg /a
    http-request set-header X-Req-Res yes if { res.hdr(content-type) -m found }
    http-request set-header X-Req-NotRes yes if !{ res.hdr(content-type) -m found }
    http-response set-header X-Path yes if is_a
    http-response set-header X-NotPath yes if !is_a
    http-response set-header X-Method yes if METH_GET
    http-response set-header X-Status yes if { status 200 }
    default_backend be

backend be
    http-response set-header X-Be-Path yes if { path_beg /a } || { status 200 }
    server s1 %s
`, port, backend)
		var stop func()
		var out string
		if name == "haproxy" {
			h := testenv.StartHAProxy(t, cfg)
			stop = func() { h.Stop() }
			out = h.String()
		} else {
			g := testenv.StartGatehouse(t, cfg)
			stop = func() { g.Stop() }
			out = g.String()
		}
		var warnings []string
		for _, m := range regexpNeverMatch.FindAllStringSubmatch(out, -1) {
			warnings = append(warnings, m[1]+": "+m[2])
		}
		slices.Sort(warnings)
		results[name+" warnings"] = strings.Join(warnings, "\n")
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Get("http://" + testenv.LocalAddr(port) + "/a")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e := testenv.DecodeEcho(t, resp)
		var seen []string
		for _, h := range []string{"X-Req-Res", "X-Req-NotRes"} {
			seen = append(seen, fmt.Sprintf("%s=%q", h, strings.Join(e.Headers[h], ",")))
		}
		for _, h := range []string{"X-Path", "X-NotPath", "X-Method", "X-Status", "X-Be-Path"} {
			seen = append(seen, fmt.Sprintf("%s=%q", h, resp.Header.Get(h)))
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		stop()
		results[name] = strings.Join(seen, " ")
	}
	// Neither a response ACL nor its negation holds in a request rule
	// (the response "may change"); the request's path in a response rule
	// is simply absent.
	want := `X-Req-Res="" X-Req-NotRes="" X-Path="" X-NotPath="yes" X-Method="yes" X-Status="yes" X-Be-Path="yes"`
	for _, name := range []string{"haproxy", "gatehouse"} {
		if got := results[name]; got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	if h, g := results["haproxy warnings"], results["gatehouse warnings"]; h != g || strings.Count(h, "\n") != 4 {
		t.Errorf("warnings differ:\n  haproxy:\n%s\n  gatehouse:\n%s", h, g)
	}
}
