package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestConnTrackReqCountsMatchHAProxy: an entry tracked by tcp-request
// connection track-sc0 counts every request of a keep-alive connection,
// and a connection that brings no request counts one too, as in HAProxy
// 2.6: closed empty (the start-up probe's) a request and an HTTP error;
// timed out by timeout http-request (408) a request only.
func TestConnTrackReqCountsMatchHAProxy(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	results := map[string]string{}
	norm := regexp.MustCompile(`(?m)^0x[0-9a-f]+: (.*) exp=\d+`)
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		cfg := fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    timeout http-request 1s

frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 10 expire 60s store conn_cnt,sess_cnt,http_req_cnt,http_err_cnt
    tcp-request connection track-sc0 src
    default_backend be

backend be
    server s1 %s
`, sock, port, echo.Addr)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		show := func() string {
			return norm.ReplaceAllString(apiCLI(t, sock, "show table fe"), "PTR: $1 exp=X")
		}
		// The start-up probe (a connection closed empty) is counted, and
		// released, once it is gone.
		testenv.Eventually(t, 20*time.Second, func() bool {
			s := show()
			return strings.Contains(s, " use=0 ") && strings.Contains(s, "http_req_cnt=1 ")
		}, "%s: the start-up probe's connection was not counted and released:\n%s", name, show())
		out := []string{show()}
		tr := &http.Transport{}
		c := &http.Client{Timeout: 20 * time.Second, Transport: tr}
		for i := range 4 {
			resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/r%d", port, i))
			if err != nil {
				t.Fatalf("%s: request %d: %v", name, i, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			out = append(out, fmt.Sprint(resp.StatusCode))
		}
		out = append(out, show())
		tr.CloseIdleConnections()

		// A connection that sends nothing until timeout http-request.
		conn, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		b, _ := io.ReadAll(conn)
		conn.Close()
		status, _, _ := strings.Cut(string(b), "\r\n")
		var last string
		testenv.Eventually(t, 20*time.Second, func() bool {
			last = show()
			return strings.Contains(last, " use=0 ")
		}, "%s: the connections were not released:\n%s", name, show())
		out = append(out, status, last)
		results[name] = strings.Join(out, "\n")
	}
	h, g := results["haproxy"], results["gatehouse"]
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	if !strings.Contains(g, "conn_cnt=3 sess_cnt=3 http_req_cnt=6 http_err_cnt=1") {
		t.Errorf("want three connections, six requests and one error counted:\n%s", g)
	}
	t.Logf("both:\n%s", g)
}
