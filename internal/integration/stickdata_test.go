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

// stickDataConfig is the configuration TestStickDataMatchesHAProxy runs in
// both proxies. add is the /add rule: Gatehouse's sc-add-gpc (HAProxy
// 2.7's action) against, in HAProxy 2.6, as many sc-inc-gpc as the value
// it adds (req.hdr_cnt(host),add(2): 3, which gpt1 shows).
func stickDataConfig(sock string, fe, tcp, conn int, server, add string) string {
	return fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 1k expire 60s store gpc(3),gpc_rate(3,1m),gpt(2),http_req_cnt
    http-request track-sc0 src
    http-request deny deny_status 403 if { sc_get_gpc(0,0) gt 2 }
    http-request sc-set-gpt(1,0) req.hdr_cnt(host),add(2)
    http-request sc-set-gpt(0,0) -1 if { path /tag }
    http-request sc-inc-gpc(2,0) if { path /count }
%s
    http-request return status 200 content-type text/plain lf-string "g0=%%[sc_get_gpc(0,0)] g1=%%[sc_get_gpc(1,0)] g2=%%[sc_get_gpc(2,0)] r2=%%[sc_gpc_rate(2,0)] t0=%%[sc_get_gpt(0,0)] t1=%%[sc_get_gpt(1,0)] legacy=%%[sc0_get_gpc0]/%%[sc0_gpc1_rate]/%%[sc0_get_gpt0] src=%%[src_get_gpc(2,fe)]/%%[src_gpc_rate(1,fe)]/%%[src_get_gpt(1,fe)] conv=%%[src,table_gpc(2,fe)]/%%[src,table_gpc_rate(1,fe)]/%%[src,table_gpt(0,fe)]/%%[src,table_gpc0(fe)] tcp=%%[src,table_sess_cnt(tcpt)]/%%[src,table_sess_rate(tcpt)]/%%[src,table_kbytes_in(tcpt)]/%%[src,table_kbytes_out(tcpt)]/%%[src,table_bytes_out_rate(tcpt)]/%%[src_sess_cnt(tcpt)]/%%[src_kbytes_out(tcpt)]/%%[src_bytes_in_rate(tcpt)] conn=%%[src,table_sess_cnt(conn)]" if { path /show }
    http-response sc-inc-gpc(0,0) if { status ge 400 } { status lt 500 }
    default_backend app

frontend tcpt
    mode tcp
    bind 127.0.0.1:%d
    stick-table type ip size 1k expire 60s store conn_cnt,sess_cnt,sess_rate(1m),bytes_in_cnt,bytes_in_rate(1m),bytes_out_cnt,bytes_out_rate(1m),gpc(1),gpt(1)
    tcp-request connection track-sc1 src
    tcp-request connection reject if { src 127.0.0.3 }
    tcp-request connection sc-inc-gpc(0,1)
    tcp-request content track-sc2 src table tcont
    tcp-request content sc-set-gpt(0,1) 5
    default_backend apptcp

backend tcont
    stick-table type ip size 1k expire 60s store conn_cnt,sess_cnt,bytes_out_cnt

frontend conn
    bind 127.0.0.1:%d
    stick-table type ip size 1k expire 60s store conn_cnt,sess_cnt,sess_rate(1m)
    tcp-request connection track-sc0 src
    http-request return status 200 content-type text/plain string ok

backend app
    server s1 %s

backend apptcp
    mode tcp
    server s1 %s
`, sock, fe, add, tcp, conn, server, server)
}

// TestStickDataMatchesHAProxy: HAProxy 2.6's array and traffic data types,
// side by side on the same traffic. A gpc-array abuse ban: sc-inc-gpc on
// every 4xx answer, deny once sc_get_gpc(0,0) passes 2, another source
// served, the ban lifted by "clear table ... data.gpc gt 2"; sc-set-gpt
// with an integer (-1, kept as 32 bits) and an expression; sc-add-gpc;
// sess_cnt/sess_rate counted on what tcp-request connection rules track
// (not on a rejected connection, not on content rules' tracking, once per
// connection in mode http), bytes_in/out_* as a mode tcp session moves
// them; the fetches and converters of all of them; show table's lines
// (arrays as gpc0=.. gpc0_rate(P)=..), its data filters and their errors,
// and set table of the new types.
func TestStickDataMatchesHAProxy(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	results := map[string][]string{}
	norm := regexp.MustCompile(`(?m)^0x[0-9a-f]+: (.*) exp=\d+`)
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe, tcp, conn := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		if name == "haproxy" {
			add := strings.Repeat("    http-request sc-inc-gpc(1,0) if { path /add }\n", 3)
			testenv.StartHAProxy(t, stickDataConfig(sock, fe, tcp, conn, echo.Addr, add))
		} else {
			testenv.StartGatehouse(t, stickDataConfig(sock, fe, tcp, conn, echo.Addr, "    http-request sc-add-gpc(1,0) req.hdr_cnt(host),add(2) if { path /add }\n"))
		}
		var out []string
		client := func(host string, keepAlive bool) *http.Client {
			d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(host)}}
			return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: !keepAlive}}
		}
		get := func(c *http.Client, host string, port int, path string) {
			resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
			if err != nil {
				out = append(out, host+" "+path+": "+err.Error())
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := strings.TrimSpace(string(b))
			if resp.StatusCode != 200 || path != "/show" {
				body = "" // the echo server's and the proxies' own pages differ
			}
			out = append(out, fmt.Sprintf("%s %s: %d %s", host, path, resp.StatusCode, body))
		}
		// A raw connection through the mode tcp frontend: wire bytes,
		// the same in both.
		raw := func(host string) {
			d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(host)}}
			c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcp))
			if err != nil {
				// A rejected connection may be reset before the dial returns.
				out = append(out, fmt.Sprintf("tcp %s: 0 bytes back", host))
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "GET /bytes/3000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			// A rejected connection is closed or reset, by either.
			b, _ := io.ReadAll(c)
			out = append(out, fmt.Sprintf("tcp %s: %d bytes back", host, len(b)))
		}
		one := client("127.0.0.1", false)
		two := client("127.0.0.2", false)
		get(one, "127.0.0.1", fe, "/")
		get(one, "127.0.0.1", fe, "/tag")
		get(one, "127.0.0.1", fe, "/count")
		get(one, "127.0.0.1", fe, "/add")
		raw("127.0.0.1")
		raw("127.0.0.1")
		raw("127.0.0.2")
		raw("127.0.0.3") // rejected by the connection rules: no session
		// Mode http: one connection (one session), three requests.
		keep := client("127.0.0.1", true)
		for i := 0; i < 3; i++ {
			get(keep, "127.0.0.1", conn, "/")
		}
		keep.CloseIdleConnections()
		// The sessions' entries are released when they end.
		for _, tb := range []string{"tcpt", "tcont", "conn"} {
			testenv.Eventually(t, 10*time.Second, func() bool {
				return !regexp.MustCompile(`use=[1-9]`).MatchString(apiCLI(t, sock, "show table "+tb))
			}, "%s: the sessions tracking table %s did not end", name, tb)
		}
		get(one, "127.0.0.1", fe, "/show")
		for i := 0; i < 3; i++ {
			get(one, "127.0.0.1", fe, "/status/404")
		}
		get(one, "127.0.0.1", fe, "/")
		get(one, "127.0.0.1", fe, "/show")
		get(two, "127.0.0.2", fe, "/status/404")
		get(two, "127.0.0.2", fe, "/show")
		// A stream may still be ending after its answer went out (in both).
		testenv.Eventually(t, 10*time.Second, func() bool {
			return !regexp.MustCompile(`use=[1-9]`).MatchString(apiCLI(t, sock, "show table fe"))
		}, "%s: the tracked streams did not end", name)
		for _, cmd := range []string{"show table fe", "show table tcpt", "show table tcont", "show table conn",
			"show table fe data.gpc gt 2", "show table fe data.gpc_rate ge 1", "show table fe data.gpt eq 4294967295",
			"show table fe data.gpc gt 0 data.http_req_cnt lt 3", "show table fe data.gpc(0) gt 1", "show table fe data.gpc0 gt 1",
			"show table fe data.gpc xx 1", "show table fe data.gpc gt x", "show table fe data.gpc gt 1 key 127.0.0.1", "show table fe key",
			"show table fe foo", "show table tcpt data.bytes_out_cnt gt 6000", "show table tcpt data.sess_cnt eq 0",
			"set table fe key 127.0.0.9 data.gpc 9 data.gpt -5", "set table fe key 127.0.0.9 data.gpc_rate 4", "set table fe key 127.0.0.8 data.gpc(1) 3",
			"set table tcpt key 127.0.0.9 data.bytes_in_cnt 99999999999 data.sess_cnt 4 data.sess_rate 2", "show table tcpt key 127.0.0.9",
			"show table fe key 127.0.0.9", "clear table fe data.gpc gt 2", "show table fe"} {
			out = append(out, "> "+cmd, norm.ReplaceAllString(apiCLI(t, sock, cmd), "PTR: $1 exp=X"))
		}
		get(one, "127.0.0.1", fe, "/show") // the ban lifted
		results[name] = out
	}
	h, g := strings.Join(results["haproxy"], "\n"), strings.Join(results["gatehouse"], "\n")
	if !strings.Contains(h, "127.0.0.1 /: 403") || !strings.Contains(h, "gpc0=3") || !strings.Contains(h, "sess_cnt=2") {
		t.Fatalf("HAProxy's answers changed: the test's premise is wrong:\n%s", h)
	}
	if h != g {
		hl, gl := results["haproxy"], results["gatehouse"]
		for i := 0; i < len(hl) && i < len(gl); i++ {
			if hl[i] != gl[i] {
				t.Errorf("first difference at line %d:\nhaproxy:   %s\ngatehouse: %s", i, hl[i], gl[i])
				break
			}
		}
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	t.Logf("both:\n%s", g)
}
