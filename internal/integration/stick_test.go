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

func stickConfig(fe int, server, sock string) string {
	return fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 60s store http_req_rate(10s),http_req_cnt,conn_cur,conn_cnt,gpc0,gpc0_rate(10s),gpt0,http_err_cnt,http_err_rate(10s),http_fail_cnt
    http-request track-sc0 src
    http-request sc-inc-gpc0(0) if { path /count }
    http-request sc-set-gpt0(0) 7 if { path /tag }
    http-request return status 200 content-type text/plain lf-string "rate=%%[sc0_http_req_rate] src_rate=%%[src_http_req_rate] cnt=%%[sc_http_req_cnt(0)] conn_cnt=%%[sc0_conn_cnt] cur=%%[sc_conn_cur(0)] gpc0=%%[sc0_get_gpc0] gpc0_rate=%%[sc0_gpc0_rate] gpt0=%%[sc0_get_gpt0] err=%%[sc0_http_err_cnt] err_rate=%%[sc0_http_err_rate] fail=%%[sc0_http_fail_cnt] t0=%%[sc0_tracked] t1=%%[sc1_tracked]" if { path /show }
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 10 }
    default_backend app

backend app
    server s1 %s

backend other
    stick-table type string len 12 size 1k store gpc0,conn_cnt
`, sock, fe, server)
}

// TestStickRateLimitMatchesHAProxy: the same per-source rate limit (10
// per 10 s) in HAProxy 2.6 and Gatehouse, the same 15 requests from one
// source (keep-alive and new connections, a counted path, a tagged path,
// server 404 and 503 answers): the same requests get 429, and the
// counters read back through sc_*, sc0_* and src_* fetches are equal.
func TestStickRateLimitMatchesHAProxy(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe := testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		cfg := stickConfig(fe, echo.Addr, sock)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d", fe)
		keep := &http.Client{}
		fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		paths := []string{"/", "/count", "/status/404", "/tag", "/count", "/status/503", "/", "/", "/", "/", "/", "/", "/", "/", "/"}
		var out []string
		get := func(c *http.Client, p string) (int, string) {
			resp, err := c.Get(url + p)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, p, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		for i, p := range paths {
			c := keep
			if i%3 == 1 {
				c = fresh
			}
			code, _ := get(c, p)
			out = append(out, fmt.Sprintf("%d %s -> %d", i+1, p, code))
			if i == 6 {
				// The last request's stream may still be ending (its answer is out
				// before its counters are released, in both): wait for it.
				testenv.Eventually(t, 10*time.Second, func() bool {
					return strings.Contains(apiCLI(t, sock, "show table fe"), "conn_cur=0")
				}, "%s: the tracked connections did not end", name)
				_, body := get(keep, "/show")
				out = append(out, "show: "+body)
			}
		}
		// The last request's stream may still be ending (its answer is out
		// before its counters are released, in both): wait for it.
		testenv.Eventually(t, 10*time.Second, func() bool {
			return strings.Contains(apiCLI(t, sock, "show table fe"), "conn_cur=0")
		}, "%s: the tracked connections did not end", name)
		_, body := get(keep, "/show")
		out = append(out, "show: "+body)
		keep.CloseIdleConnections()
		// The runtime API: the same tables, the same entries (the
		// entry's address and its remaining time aside).
		norm := regexp.MustCompile(`(?m)^0x[0-9a-f]+: (.*) exp=\d+`)
		for _, cmd := range []string{"show table", "show table fe", "show table fe key 127.0.0.1", "show table nope", "clear table fe key 127.0.0.1", "show table fe",
			"set table other key alice data.gpc0 5 data.conn_cnt 2", "set table other key alice data.gpc0 6", "set table other key bob",
			"set table other key carol data.nope 1", "set table other key carol data.gpc0 x", "set table nope key a", "show table other"} {
			out = append(out, "> "+cmd, norm.ReplaceAllString(apiCLI(t, sock, cmd), "PTR: $1 exp=X"))
		}
		results[name] = strings.Join(out, "\n")
	}
	h, g := results["haproxy"], results["gatehouse"]
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	if n := strings.Count(g, "-> 429"); n != 6 {
		t.Errorf("%d requests denied, want 6 (16 counted before the last ones, limit 10):\n%s", n, g)
	}
	t.Logf("both:\n%s", g)
}

// TestAbuseBanMatchesHAProxy: the classic gpc-based ban, side by side: a
// client probing /admin has its gpc0 raised at each probe, and once past
// the threshold every request it sends is refused, while another client
// (another source address) is served; clearing the entry on the runtime
// API lifts the ban.
func TestAbuseBanMatchesHAProxy(t *testing.T) {
	cfg := func(fe int, sock string) string {
		return fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 1k expire 60s store gpc0,http_req_cnt
    http-request track-sc0 src
    http-request deny deny_status 403 if { sc0_get_gpc0 gt 2 }
    http-request sc-inc-gpc0(0) if { path_beg /admin }
    http-request return status 404 content-type text/plain string probe if { path_beg /admin }
    http-request return status 200 content-type text/plain lf-string "ok gpc0=%%[sc0_get_gpc0] cnt=%%[sc0_http_req_cnt]"
`, sock, fe)
	}
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe := testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg(fe, sock))
		} else {
			testenv.StartGatehouse(t, cfg(fe, sock))
		}
		var out []string
		// host is the client's source address: 127.0.0.2 is another client.
		get := func(host, path string) {
			d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(host)}}
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
			resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", fe, path))
			if err != nil {
				out = append(out, path+": "+err.Error())
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out = append(out, fmt.Sprintf("%s %s: %d %s", host, path, resp.StatusCode, strings.TrimSpace(string(b))))
		}
		get("127.0.0.1", "/")
		for i := 0; i < 4; i++ {
			get("127.0.0.1", "/admin/login")
		}
		get("127.0.0.1", "/")
		get("127.0.0.2", "/")
		// An entry a closing connection still holds is not cleared (HAProxy
		// and Gatehouse alike): clear until it is gone.
		testenv.Eventually(t, 20*time.Second, func() bool {
			apiCLI(t, sock, "clear table fe key 127.0.0.1")
			return !strings.Contains(apiCLI(t, sock, "show table fe"), "key=127.0.0.1 ")
		}, "%s: the ban of 127.0.0.1 was never cleared", name)
		get("127.0.0.1", "/")
		results[name] = out
	}
	h, g := strings.Join(results["haproxy"], "\n"), strings.Join(results["gatehouse"], "\n")
	if !strings.Contains(h, "127.0.0.1 /: 403") {
		t.Fatalf("HAProxy never banned: the test's premise changed:\n%s", h)
	}
	if h != g {
		t.Errorf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	t.Logf("both:\n%s", g)
}
