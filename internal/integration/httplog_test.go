package integration

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// httplogLine parses HAProxy's httplog format:
// %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
var httplogLine = regexp.MustCompile(`^(\S+):(\d+) \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] (\S+) (\S+)/(\S+) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(\+?-?\d+) (-?\d+) (\+?\d+) (\S+) (\S+) (\S{4}) (\d+)/(\d+)/(\d+)/(\d+)/(\+?\d+) (\d+)/(\d+) "(.*)"$`)

// logShape reduces a parsed line to what must agree between two proxies
// for the same traffic: everything except addresses, ports, dates and the
// timers' values (only whether each timer fired).
func logShape(m []string) string {
	fired := func(s string) string {
		if strings.HasPrefix(s, "-") {
			return "-1"
		}
		return "n"
	}
	return strings.Join([]string{
		"client=" + m[1], "fe=" + m[4], "be=" + m[5], "srv=" + m[6],
		"timers=" + fired(m[7]) + "/" + fired(m[8]) + "/" + fired(m[9]) + "/" + fired(m[10]) + "/" + fired(m[11]),
		"status=" + m[12], "cookies=" + m[14] + " " + m[15], "term=" + m[16],
		"queues=" + m[22] + "/" + m[23], "req=" + m[24],
	}, " ")
}

func httplogConfig(fePort, gwPort int, caFile string) string {
	return fmt.Sprintf(`global
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend web
    bind 127.0.0.1:%d
    http-request deny if { path_beg /forbidden }
    default_backend gateway

backend gateway
    http-request set-header Host helloworld.zufardhiyaulhaq.tech
    server gw1 127.0.0.1:%d ssl sni str(helloworld.zufardhiyaulhaq.tech) verify required ca-file %s
`, fePort, gwPort, caFile)
}

// TestHTTPLogMatchesHAProxy is acceptance 3: with "log stdout format raw
// local0" and "option httplog", each request prints one line in HAProxy's
// httplog format; the same traffic through HAProxy prints lines of the
// same shape, field for field.
func TestHTTPLogMatchesHAProxy(t *testing.T) {
	g := testenv.StartGateway(t, testenv.GatewayOptions{})
	requests := []struct{ method, path, body string }{
		{"GET", "/hello", ""},
		{"POST", "/submit", "some body"},
		{"GET", "/status/404", ""},
		{"GET", "/forbidden/x", ""},
		{"HEAD", "/hello", ""},
	}
	run := func(name string, start func(cfg string) interface{ Stdout() string }) []string {
		port := testenv.FreePort(t)
		p := start(httplogConfig(port, g.TLSPort, g.CAFile))
		testenv.WaitTCP(t, testenv.LocalAddr(port), 10*time.Second)
		for _, r := range requests {
			req, _ := http.NewRequest(r.method, fmt.Sprintf("http://127.0.0.1:%d%s", port, r.path), strings.NewReader(r.body))
			if r.body == "" {
				req.Body = nil
			}
			req.Close = true // one connection per request: counters stay comparable
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %s %s: %v", name, r.method, r.path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		var lines []string
		testenv.Eventually(t, 30*time.Second, func() bool {
			lines = nil
			for _, l := range strings.Split(p.Stdout(), "\n") {
				// Readiness probes (connect, close) log "<BADREQ>" lines
				// in both; their number depends on the probing.
				if httplogLine.MatchString(l) && !strings.HasSuffix(l, `"<BADREQ>"`) {
					lines = append(lines, l)
				}
			}
			return len(lines) >= len(requests)
		}, "%s: %d httplog lines, want %d:\n%s", name, len(lines), len(requests), p.Stdout())
		return lines
	}
	gh := run("gatehouse", func(cfg string) interface{ Stdout() string } { return testenv.StartGatehouse(t, cfg) })
	hp := run("haproxy", func(cfg string) interface{ Stdout() string } { return testenv.StartHAProxy(t, cfg) })
	if len(gh) != len(hp) {
		t.Fatalf("gatehouse logged %d lines, haproxy %d", len(gh), len(hp))
	}
	// Lines are written when each stream ends, so their order may differ:
	// pair them by request line.
	byReq := map[string]string{}
	for _, l := range hp {
		m := httplogLine.FindStringSubmatch(l)
		byReq[m[24]] = l
	}
	for _, l := range gh {
		m := httplogLine.FindStringSubmatch(l)
		h, ok := byReq[m[24]]
		if !ok {
			t.Errorf("haproxy has no line for %q:\n%s", m[24], strings.Join(hp, "\n"))
			continue
		}
		a, b := logShape(m), logShape(httplogLine.FindStringSubmatch(h))
		if a != b {
			t.Errorf("lines differ in shape:\n gatehouse: %s\n   haproxy: %s\n gatehouse: %s\n   haproxy: %s", l, h, a, b)
		}
	}
}
