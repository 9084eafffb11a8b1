package integration

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestTCPRulesInHTTPModeLikeHAProxy: tcp-request content rules of an HTTP
// frontend run on every request of a keep-alive connection before the
// http-request rules, a backend's when a request enters it; a reject
// closes the connection without an answer; tcp-request connection rules
// run at accept. Outcomes and the dreq/dcon counters side by side with
// HAProxy 2.6.
func TestTCPRulesInHTTPModeLikeHAProxy(t *testing.T) {
	got := map[string]string{}
	for _, proxy := range []string{"haproxy", "gatehouse"} {
		dir := t.TempDir()
		sock := filepath.Join(dir, "api.sock")
		port, port2 := testenv.FreePort(t), testenv.FreePort(t)
		cfg := fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d
    tcp-request connection reject if { dst_port %d }
    tcp-request inspect-delay 5s
    tcp-request content reject if { path /deny }
    tcp-request content accept if { path /ok }
    tcp-request content reject if { hdr(x-bad) -m found }
    http-request return status 200 content-type text/plain string ok if { path /ok }
    default_backend be
backend be
    tcp-request content reject if { path /bedeny }
    http-request return status 201 content-type text/plain string be
`, sock, port, port2, port2)
		if proxy == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var out []string
		for _, req := range []string{
			"GET /ok HTTP/1.1\r\nHost: a\r\n\r\nGET /deny HTTP/1.1\r\nHost: a\r\n\r\n",
			"GET /x HTTP/1.1\r\nHost: a\r\nX-Bad: 1\r\n\r\n",
			"GET /bedeny HTTP/1.1\r\nHost: a\r\n\r\n",
			"GET /other HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		} {
			out = append(out, exchangeRaw(t, port, req))
		}
		out = append(out, "conn-rule: "+exchangeRaw(t, port2, "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"))
		stat := apiCLI(t, sock, "show stat")
		rows, _ := csv.NewReader(strings.NewReader(strings.TrimPrefix(stat, "# "))).ReadAll()
		if len(rows) == 0 {
			t.Fatalf("%s: show stat: %q", proxy, stat)
		}
		col := map[string]int{}
		for i, n := range rows[0] {
			col[n] = i
		}
		for _, r := range rows[1:] {
			if len(r) > col["dcon"] && (r[1] == "FRONTEND" || r[1] == "BACKEND") {
				// dcon also counts the readiness probes of the start.
				out = append(out, fmt.Sprintf("%s/%s dreq=%s dcon>0=%v", r[0], r[1], r[col["dreq"]], r[col["dcon"]] != "" && r[col["dcon"]] != "0"))
			}
		}
		got[proxy] = strings.Join(out, "\n")
	}
	if got["haproxy"] != got["gatehouse"] {
		t.Errorf("haproxy:\n%s\ngatehouse:\n%s", got["haproxy"], got["gatehouse"])
	}
	if !strings.Contains(got["haproxy"], "200 ok | closed") {
		t.Errorf("the test's expectations about HAProxy no longer hold:\n%s", got["haproxy"])
	}
}

// exchangeRaw sends req on a new connection and sums up the answers:
// "<status> <body>" each, then "closed" when the connection ended.
func exchangeRaw(t *testing.T, port int, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if errors.Is(err, syscall.ECONNRESET) {
		return "closed" // a connection rule's reject can reset it that early
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, req)
	b, _ := io.ReadAll(c)
	var parts []string
	for _, resp := range strings.SplitAfter(string(b), "\r\n\r\n") {
		if strings.HasPrefix(resp, "HTTP/1.1 ") {
			parts = append(parts, resp[9:12])
		} else if resp != "" {
			parts[len(parts)-1] += " " + resp[:min(len(resp), 2)]
		}
	}
	parts = append(parts, "closed")
	return strings.Join(parts, " | ")
}
