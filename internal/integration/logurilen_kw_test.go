package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestLogURILenMatchesHAProxy: the request line the logs keep is cut at
// 1023 bytes by default and at tune.http.logurilen bytes when set, and
// %r and the %H* variables show the cut line as HAProxy 2.6's do, the cut
// falling in the query, just after the URI and inside the version; so do
// the capture.req.method and capture.req.uri fetches.
func TestLogURILenMatchesHAProxy(t *testing.T) {
	long := "/d" + strings.Repeat("p", 1000) + "?q=" + strings.Repeat("v", 100)
	cases := []struct {
		global string
		uris   []string
	}{
		{"", []string{"/a-short?x=1", long}},
		{"    tune.http.logurilen 40\n", []string{
			"/a?short=1",
			"/b234567890123456789012?query=1234567",    // cut in the query
			"/c234567890123456789012345678901234",      // cut just after the URI's space
			"/d23456789012345678901234567890123",       // cut inside the version
			"/e23456789012345678901234567890123456789", // cut inside the URI, no query
		}},
		{"    tune.http.logurilen 2\n", []string{"/f"}}, // cut inside the method
	}
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		var out []string
		for _, c := range cases {
			sink := startSyslogSink(t)
			port := testenv.FreePort(t)
			stop := testenv.StartSide(t, name, fmt.Sprintf(`global
%s
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    log %s len 8192 format raw local0
    log-format "|%%r|%%HM|%%HU|%%HP|%%HQ|%%HV|%%{+Q}r|%%[capture.req.method]|%%[capture.req.uri]|"
    http-request return status 200
`, c.global, port, sink.Addr))
			for _, u := range c.uris {
				conn, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
				fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", u)
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatalf("%s %s: %v", name, u[:2], err)
				}
				io.Copy(io.Discard, resp.Body)
				conn.Close()
			}
			var lines []string
			testenv.Eventually(t, 20*time.Second, func() bool {
				lines = lines[:0]
				for _, l := range sink.Lines("|") {
					l = strings.TrimSpace(l[strings.IndexByte(l, '|'):])
					if !strings.HasPrefix(l, "|<BADREQ>|") { // the start-up probes
						lines = append(lines, l)
					}
				}
				return len(lines) >= len(c.uris)
			}, "%s: %d log lines, want %d", name, len(lines), len(c.uris))
			stop()
			sort.Strings(lines)
			out = append(out, lines...)
		}
		results[name] = strings.Join(out, "\n")
		t.Logf("%s:\n%s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("logs differ:\n   haproxy:\n%s\n gatehouse:\n%s", results["haproxy"], results["gatehouse"])
	}
	if !strings.Contains(results["gatehouse"], "|GET "+long[:1019]+"|") {
		t.Errorf("gatehouse: the long line is not cut at 1023 bytes")
	}
}
