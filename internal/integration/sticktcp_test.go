package integration

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func stickTCPConfig(fe int, server, sock string) string {
	return fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode tcp
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 60s store conn_cnt,conn_cur,conn_rate(30s)
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc0_conn_rate gt 4 }
    tcp-request content track-sc1 src table per
    tcp-request content track-sc0 src table per
    tcp-request content reject if { sc1_conn_cnt gt 3 }
    default_backend app

backend app
    server s1 %s

backend per
    stick-table type ip size 100 expire 60s store conn_cnt,conn_cur,conn_rate(30s)
`, sock, fe, server)
}

// TestTCPTrackRateLimitMatchesHAProxy: the classic connection rate limit
// in mode tcp (tcp-request connection track-sc0 src, then reject when
// sc0_conn_rate passes 4) and a content-level track in another table, in
// HAProxy 2.6 and Gatehouse: the same six connections from one address
// are served or rejected alike (the fifth and sixth by the rate, the
// fourth by the content rule reading the second table's conn_cnt), and
// the tables hold the same counters afterwards (rejected connections
// count too, and a content track-sc0 after the connection one is ignored).
func TestTCPTrackRateLimitMatchesHAProxy(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe := testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		cfg := stickTCPConfig(fe, echo.Addr, sock)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		// Start from empty tables: the harness's readiness probe counted.
		busy := regexp.MustCompile(`conn_cur=[1-9]`)
		ended := func() bool {
			return !busy.MatchString(apiCLI(t, sock, "show table fe")) && !busy.MatchString(apiCLI(t, sock, "show table per"))
		}
		testenv.Eventually(t, 10*time.Second, ended, "%s: the readiness probe's connection did not end", name)
		apiCLI(t, sock, "clear table fe")
		apiCLI(t, sock, "clear table per")
		var out []string
		for i := 1; i <= 6; i++ {
			out = append(out, fmt.Sprintf("conn %d: %s", i, tcpGet(fmt.Sprintf("127.0.0.1:%d", fe))))
		}
		testenv.Eventually(t, 10*time.Second, ended, "%s: the tracked connections did not end", name)
		norm := regexp.MustCompile(`(?m)^0x[0-9a-f]+: (.*) exp=\d+`)
		for _, cmd := range []string{"show table fe", "show table per"} {
			out = append(out, "> "+cmd, norm.ReplaceAllString(apiCLI(t, sock, cmd), "PTR: $1 exp=X"))
		}
		results[name] = strings.Join(out, "\n")
	}
	h, g := results["haproxy"], results["gatehouse"]
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	if n := strings.Count(g, ": served"); n != 3 {
		t.Errorf("%d connections served, want 3:\n%s", n, g)
	}
	t.Logf("both:\n%s", g)
}

// tcpGet sends an HTTP/1.0 request over a new connection and says whether
// an answer came back ("served") or the connection was closed without one.
func tcpGet(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		// HAProxy's reject resets the connection at once: the reset may
		// reach the client before its connect() returns.
		if strings.Contains(err.Error(), "reset") {
			return "closed"
		}
		return "dial error: " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: x\r\n\r\n"); err != nil {
		return "closed"
	}
	b, _ := io.ReadAll(c)
	if strings.HasPrefix(string(b), "HTTP/1.") {
		return "served"
	}
	if len(b) == 0 {
		return "closed"
	}
	return fmt.Sprintf("unexpected %q", b)
}
