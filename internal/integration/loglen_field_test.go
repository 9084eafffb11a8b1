package integration

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestLogLenFieldCutMatchesHAProxy: a log line longer than the largest
// "len" of the configuration ends where HAProxy 2.6's sess_build_logline
// ends it, which depends on the field that does not fit: a literal text,
// an unquoted string and the request line are cut in their middle (but
// never inside a '#XX' escape), while a quoted sample, a number and a
// date are left out whole. Every frontend logs to a raw target (the
// message alone, up to len-1 bytes, and '\n') and an rfc3164 one (its
// header and message bound by len, '\n' on top).
func TestLogLenFieldCutMatchesHAProxy(t *testing.T) {
	const maxLen = 120
	long := strings.Repeat("abcdefghij", 20)
	type tc struct {
		name  string
		fe    string // frontend lines
		req   string // request line and headers, CRLF-terminated, no blank line
		match string // a substring of the message
	}
	cases := []tc{
		{"quoted request line", `log-format "MARK %{+Q}r"`,
			"GET /" + long + " HTTP/1.1\r\nHost: x\r\n", "MARK"},
		{"request line escape at the cut", `log-format "MARK %{+Q}r"`,
			"GET /" + long[:103] + "\"\"\"\"\"\"\"" + " HTTP/1.1\r\nHost: x\r\n", "MARK"},
		// An escape that does not fit ends the value, not the line: the
		// next '|', value, separator or literal still take the room left.
		{"header capture escape at the cut", "capture request header x-a len 300\n    capture request header x-b len 10\n    log-format \"MARK %hr\"",
			"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + long[:108] + "\"\"\"\r\nX-B: zz\r\n", "MARK"},
		{"unquoted uri escape at the cut", `log-format "MARK %HU XYZ"`,
			"GET /" + long[:108] + "\"\"\" HTTP/1.1\r\nHost: x\r\n", "MARK"},
		{"header capture", "capture request header x-long len 300\n    log-format \"MARK %HM %hr %HV\"",
			"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + long + "\r\n", "MARK"},
		{"literal text", `log-format "MARK %HM ` + strings.ReplaceAll(long, "j", "-") + ` %HV"`,
			"GET / HTTP/1.1\r\nHost: x\r\n", "MARK"},
		{"quoted sample", "http-request set-var(txn.x) req.hdr(x-long)\n    log-format \"MARK %HM %{+Q}[var(txn.x)] %HV\"",
			"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + long + "\r\n", "MARK"},
		{"unquoted sample", "http-request set-var(txn.x) req.hdr(x-long)\n    log-format \"MARK %HM %[var(txn.x)] %HV\"",
			"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + long + "\r\n", "MARK"},
		// "MARK " + 111 bytes + " " leaves 2 bytes before the 119th: the
		// status (3 digits) does not fit.
		{"number", `log-format "MARK ` + long[:111] + ` %ST"`,
			"GET / HTTP/1.1\r\nHost: x\r\n", "MARK"},
		{"date", `log-format "MARK ` + long[:100] + ` %t"`,
			"GET / HTTP/1.1\r\nHost: x\r\n", "MARK"},
		{"httplog", "option httplog",
			"GET /" + long + " HTTP/1.1\r\nHost: x\r\n", "127.0.0.1"},
	}
	run := func(name string, start func(cfg string)) map[string]string {
		var fes strings.Builder
		raws := make([]*syslogSink, len(cases))
		syss := make([]*syslogSink, len(cases))
		ports := make([]int, len(cases))
		for i, c := range cases {
			raws[i], syss[i], ports[i] = startSyslogSink(t), startSyslogSink(t), testenv.FreePort(t)
			fmt.Fprintf(&fes, `
frontend fe%d
    bind 127.0.0.1:%d
    log %s len %d format raw local3
    log %s len %d local3
    %s
    http-request return status 200
`, i, ports[i], raws[i].Addr, maxLen, syss[i].Addr, maxLen, c.fe)
		}
		start(`global
    log-tag edge

defaults
    mode http
    option dontlognull
    timeout connect 5s
    timeout client 10s
    timeout server 10s
` + fes.String())
		for i, c := range cases {
			conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports[i]), 5*time.Second)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, c.name, err)
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(conn, c.req+"Connection: close\r\n\r\n")
			io.Copy(io.Discard, conn)
			conn.Close()
		}
		out := map[string]string{}
		for i, c := range cases {
			for kind, s := range map[string]*syslogSink{"raw": raws[i], "rfc3164": syss[i]} {
				var l string
				testenv.Eventually(t, 20*time.Second, func() bool {
					// The harness's readiness probe may log a <BADREQ> line.
					for _, m := range s.Lines(c.match) {
						if !strings.Contains(m, "<BADREQ>") {
							l = m
							return true
						}
					}
					return false
				}, "%s: %s: no %s line", name, c.name, kind)
				i := strings.Index(l, c.match)
				msg := l[i:]
				if c.name == "httplog" {
					msg = digits.ReplaceAllString(msg, "N")
				}
				out[c.name+" "+kind] = fmt.Sprintf("%d bytes, header %q, message %q", len(l),
					digits.ReplaceAllString(l[:i], "N"), msg)
			}
		}
		return out
	}
	hp := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	gh := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	for k, v := range hp {
		t.Logf("%s:\n   haproxy: %s", k, v)
		if gh[k] != v {
			t.Errorf("%s:\n gatehouse: %s\n   haproxy: %s", k, gh[k], v)
		}
	}
}
