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

var digits = regexp.MustCompile(`\d+`)

// headerShape is a syslog datagram's header (what precedes the message,
// which starts with the client address) with its numbers (dates, pid)
// replaced by N, the PRI kept.
func headerShape(msg string) string {
	i := strings.Index(msg, "127.0.0.1:")
	if i < 0 {
		return "no message in " + msg
	}
	h := msg[:i]
	pri := ""
	if strings.HasPrefix(h, "<") {
		if j := strings.IndexByte(h, '>'); j > 0 {
			pri, h = h[:j+1], h[j+1:]
		}
	}
	end := ""
	if strings.HasSuffix(msg, "\n") {
		end = " (ends with a newline)"
	}
	return pri + digits.ReplaceAllString(h, "N") + end
}

// TestLogFormatsMatchHAProxy sends the same request's line through a
// target of each "format" (rfc3164, rfc5424, short, iso, timed, priority,
// raw, local), with "log-tag", "log-send-hostname", a proxy's own
// "log-tag" and "len", side by side with HAProxy 2.6: every header must
// have the same shape (dates and pids aside) and a "len" line the same
// length.
func TestLogFormatsMatchHAProxy(t *testing.T) {
	formats := []string{"rfc3164", "rfc5424", "short", "iso", "timed", "priority", "raw", "local"}
	run := func(name string, start func(cfg string)) map[string]string {
		sinks := map[string]*syslogSink{}
		var logs strings.Builder
		for _, f := range formats {
			sinks[f] = startSyslogSink(t)
			fmt.Fprintf(&logs, "    log %s format %s local3 info\n", sinks[f].Addr, f)
		}
		short := startSyslogSink(t)
		tagged := startSyslogSink(t)
		port, port2 := testenv.FreePort(t), testenv.FreePort(t)
		start(fmt.Sprintf(`global
    log-tag edge-tag
    log-send-hostname edge-host
%s    log %s len 120 format rfc3164 local3

defaults
    mode http
    option httplog
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    log global
    http-request return status 200

frontend tagged
    bind 127.0.0.1:%d
    log-tag fe-tag
    log %s format rfc5424 local4
    http-request return status 200
`, logs.String(), short.Addr, port, port2, tagged.Addr))
		for _, p := range []int{port, port2} {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/a-rather-long-path-so-that-the-line-is-cut-by-len-%s", p, strings.Repeat("x", 80)), nil)
			req.Close = true
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		out := map[string]string{}
		pick := func(s *syslogSink) string {
			for _, l := range s.Lines("127.0.0.1:") {
				if !strings.Contains(l, "BADREQ") {
					return l
				}
			}
			return ""
		}
		testenv.Eventually(t, 20*time.Second, func() bool {
			for _, f := range formats {
				if pick(sinks[f]) == "" {
					return false
				}
			}
			return pick(short) != "" && pick(tagged) != ""
		}, "%s: lines missing", name)
		for _, f := range formats {
			out[f] = headerShape(pick(sinks[f]))
		}
		out["tagged rfc5424"] = headerShape(pick(tagged))
		l := pick(short)
		// Where the cut falls depends on the line's timers and client
		// port, so only its length and header are compared.
		out["len 120"] = fmt.Sprintf("%d bytes, header %s", len(l), headerShape(l))
		return out
	}
	gh := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	hp := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	for k, v := range hp {
		if gh[k] != v {
			t.Errorf("%s:\n gatehouse: %q\n   haproxy: %q", k, gh[k], v)
		}
	}
	t.Logf("haproxy: %q", hp)
}
