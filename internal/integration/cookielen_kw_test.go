package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestCookieLenMatchesHAProxy: a "capture cookie" longer than 63 bytes,
// or than tune.http.cookielen when set, captures only that many, %CC and
// %CS alike, as HAProxy 2.6.
func TestCookieLenMatchesHAProxy(t *testing.T) {
	val := strings.Repeat("0123456789", 12)
	srv := startRawHTTP(t, func(c net.Conn, br *bufio.Reader, head []string) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nSet-Cookie: SID=s"+val+"; Path=/\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		var out []string
		for _, global := range []string{"", "    tune.http.cookielen 20\n"} {
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
    log %s len 4096 format raw local0
    log-format "|%%CC|%%CS|"
    capture cookie SID len 100
    default_backend app

backend app
    server s1 127.0.0.1:%d
`, global, port, sink.Addr, srv))
			conn, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: h\r\nCookie: SID=c%s\r\nConnection: close\r\n\r\n", val)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			io.Copy(io.Discard, resp.Body)
			conn.Close()
			var line string
			testenv.Eventually(t, 20*time.Second, func() bool {
				for _, l := range sink.Lines("|SID=") {
					line = strings.TrimSpace(l[strings.IndexByte(l, '|'):])
					return true
				}
				return false
			}, "%s: no log line", name)
			stop()
			out = append(out, line)
		}
		results[name] = strings.Join(out, "\n")
		t.Logf("%s:\n%s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("logs differ:\n   haproxy:\n%s\n gatehouse:\n%s", results["haproxy"], results["gatehouse"])
	}
	want := "|SID=c" + val[:58] + "|SID=s" + val[:58] + "|\n|SID=c" + val[:15] + "|SID=s" + val[:15] + "|"
	if results["gatehouse"] != want {
		t.Errorf("gatehouse:\n%s\nwant:\n%s", results["gatehouse"], want)
	}
}
