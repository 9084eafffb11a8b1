package integration

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func stickConvConfig(fe int, sock string) string {
	src := []string{"in_table", "table_conn_cnt", "table_conn_cur", "table_conn_rate", "table_http_req_cnt", "table_http_req_rate",
		"table_http_err_cnt", "table_http_err_rate", "table_http_fail_cnt", "table_http_fail_rate", "table_gpc0", "table_gpc0_rate",
		"table_gpt0", "table_trackers", "table_gpc1"}
	var body []string
	for _, c := range src {
		body = append(body, fmt.Sprintf("%s=%%[src,%s(st)]", c, c))
	}
	body = append(body, "exp=%[src,table_expire(st),div(10000)]", "idle=%[src,table_idle(st),div(10000)]",
		"expd=%[src,table_expire(st,-100000),div(10000)]", "idled=%[src,table_idle(st,-20000),div(10000)]")
	for _, c := range []string{"in_table", "table_gpc0", "table_gpc1", "table_gpt0",
		"table_http_req_cnt", "table_trackers"} {
		body = append(body, fmt.Sprintf("n_%s=%%[req.hdr(x-name),%s(names)]", c, c))
	}
	body = append(body, "n_exp=%[req.hdr(x-name),table_expire(names),div(10000)]", "n_int=%[req.hdr(x-n),in_table(ints)]",
		"n_int_gpc0=%[req.hdr(x-n),table_gpc0(ints)]")
	return fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    http-request track-sc0 src table st if { path /track }
    http-request sc-inc-gpc0(0) if { path /track }
    http-request return status 200 content-type text/plain lf-string "%s"

backend st
    stick-table type ip size 100 expire 60s store conn_cnt,conn_cur,conn_rate(10s),http_req_cnt,http_req_rate(10s),gpc0,gpc0_rate(10s),gpt0,http_err_cnt,http_err_rate(10s),http_fail_cnt,http_fail_rate(10s)

backend names
    stick-table type string len 16 size 100 expire 60s store gpc0,gpc1,gpt0,conn_cur

backend ints
    stick-table type integer size 100 store gpc0
`, sock, fe, strings.Join(body, " "))
}

// TestStickConvertersMatchHAProxy: in_table and table_<data> look keys up
// in HAProxy 2.6 and Gatehouse alike: 0 (false) for an absent key, the
// stored counters of a key tracked by http-request track-sc0 or set over
// the runtime API, no value for a present key whose data the table does
// not store, table_expire/table_idle failing or giving their default for
// an absent key; and the lookups create no entry.
func TestStickConvertersMatchHAProxy(t *testing.T) {
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe := testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		cfg := stickConvConfig(fe, sock)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var out []string
		show := func(label string, h http.Header) {
			out = append(out, label+": "+replyAt(fe, "/show", h))
		}
		show("empty", http.Header{"X-Name": {"alice"}, "X-N": {"7"}})
		for _, cmd := range []string{"set table names key alice data.gpc0 5 data.gpc1 3 data.gpt0 9",
			"set table ints key 7 data.gpc0 11"} {
			out = append(out, "> "+cmd, apiCLI(t, sock, cmd))
		}
		for i := 0; i < 3; i++ {
			out = append(out, "track: "+replyAt(fe, "/track", nil))
			// The previous connection's tracking ends after its answer
			// reached the client: wait for it, so each request sees
			// only itself in conn_cur in both proxies.
			testenv.Eventually(t, 10*time.Second, func() bool {
				return strings.Contains(apiCLI(t, sock, "show table st"), "conn_cur=0")
			}, "%s: the tracked connections did not end", name)
		}
		show("alice", http.Header{"X-Name": {"alice"}, "X-N": {"7"}})
		show("bob", http.Header{"X-Name": {"bob"}, "X-N": {"8"}})
		// The lookups of absent keys made no entry.
		for _, tab := range []string{"names", "ints"} {
			s := apiCLI(t, sock, "show table "+tab)
			out = append(out, fmt.Sprintf("%s entries: %d", tab, strings.Count(s, "0x")))
		}
		results[name] = strings.Join(out, "\n")
	}
	// Remaining and idle times depend on when each proxy was asked (the
	// two run one after the other): compared for presence, not value.
	timing := regexp.MustCompile(`\b(exp|expd|idle|idled|n_exp)=\d+`)
	h, g := timing.ReplaceAllString(results["haproxy"], "$1=#"), timing.ReplaceAllString(results["gatehouse"], "$1=#")
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	if !strings.Contains(g, "table_http_req_cnt=3") || !strings.Contains(g, "n_table_gpc1=3") {
		t.Errorf("the counters were not read:\n%s", g)
	}
	t.Logf("both:\n%s", g)
}
