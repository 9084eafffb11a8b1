package integration

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestLogLenCutMatchesHAProxy: a line longer than a target's "len" is cut
// as HAProxy 2.6 cuts it, for every format: header and message together
// bound by len, the '\n' on top, and the message itself bound by one byte
// less than the largest "len" of the configuration (HAProxy builds it in a
// buffer of that size, its NUL included), which shows on a "raw" target.
func TestLogLenCutMatchesHAProxy(t *testing.T) {
	formats := []string{"rfc3164", "rfc5424", "short", "iso", "timed", "priority", "raw", "local"}
	uri := "/" + strings.Repeat("abcdefghij", 30)
	run := func(name string, start func(cfg string)) map[string]string {
		sinks := map[string]*syslogSink{}
		var logs strings.Builder
		for _, f := range formats {
			sinks[f] = startSyslogSink(t)
			fmt.Fprintf(&logs, "    log %s len 80 format %s local3 info\n", sinks[f].Addr, f)
		}
		// A raw target with len 100 in a configuration whose largest len
		// is 200 keeps 100 bytes of message.
		raw100 := startSyslogSink(t)
		raw200 := startSyslogSink(t)
		port, port2 := testenv.FreePort(t), testenv.FreePort(t)
		start(fmt.Sprintf(`global
    log-tag edge
    log-send-hostname edge-host

defaults
    mode http
    log-format "MARK%%HU"
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
%s    http-request return status 200

frontend fe2
    bind 127.0.0.1:%d
    log %s len 100 format raw local3
    log %s len 200 format raw local3
    http-request return status 200
`, port, logs.String(), port2, raw100.Addr, raw200.Addr))
		for _, p := range []int{port, port2} {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", p, uri), nil)
			req.Close = true
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		pick := func(s *syslogSink) string {
			for _, l := range s.Lines("MARK/abc") {
				return l
			}
			return ""
		}
		all := map[string]*syslogSink{"raw len 100 of 200": raw100, "raw len 200": raw200}
		for _, f := range formats {
			all[f+" len 80"] = sinks[f]
		}
		testenv.Eventually(t, 20*time.Second, func() bool {
			for _, s := range all {
				if pick(s) == "" {
					return false
				}
			}
			return true
		}, "%s: lines missing", name)
		out := map[string]string{}
		for k, s := range all {
			l := pick(s)
			i := strings.Index(l, "MARK")
			out[k] = fmt.Sprintf("%d bytes, header %q, message %q", len(l),
				digits.ReplaceAllString(l[:i], "N"), l[i:])
		}
		return out
	}
	hp := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	gh := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	for k, v := range hp {
		if gh[k] != v {
			t.Errorf("%s:\n gatehouse: %s\n   haproxy: %s", k, gh[k], v)
		}
	}
	t.Logf("haproxy: %q", hp)
}
