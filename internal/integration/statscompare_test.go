package integration

import (
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// statsCompareConfig is one configuration for both proxies: a frontend
// with a deny rule, a round-robin backend of two checked servers, a
// backend whose only server refuses connections, a listen with a deny
// rule, and a stats listener.
func statsCompareConfig(fePort, shopPort, statsPort int, s1, s2, dead string) string {
	return fmt.Sprintf(`global
    maxconn 500

defaults
    mode http
    retries 2
    timeout connect 1s
    timeout client 10s
    timeout server 10s

frontend web
    bind 127.0.0.1:%d
    maxconn 200
    http-request deny if { path_beg /forbidden }
    use_backend broken if { path_beg /broken }
    default_backend app

backend app
    balance roundrobin
    server s1 %s check inter 500ms maxconn 40
    server s2 %s check inter 500ms weight 1

backend broken
    cookie SRV insert indirect
    server dead %s cookie d1

listen shop
    bind 127.0.0.1:%d
    cookie SHOP prefix
    http-request deny if { path_beg /forbidden }
    server s3 %s

listen stats
    bind 127.0.0.1:%d
    http-request use-service prometheus-exporter if { path /metrics }
    stats enable
    stats uri /stats
    stats show-legends
`, fePort, s1, s2, dead, shopPort, s1, statsPort)
}

// statsReq is one request of the traffic and where both proxies must
// account it: its backend and server ("" when the frontend answers).
type statsReq struct {
	raw             string
	backend, server string
	shop            bool // sent to the listen "shop" instead of the frontend "web"
}

// byteRows are the rows a request's bytes count in: its frontend's, its
// backend's and server's, and for a listen its own BACKEND row even when
// it answers before any routing (HAProxy's stream starts on the listen).
func (r statsReq) byteRows() []string {
	if r.shop {
		if r.server != "" {
			return []string{"shop/FRONTEND", "shop/BACKEND", "shop/" + r.server}
		}
		return []string{"shop/FRONTEND", "shop/BACKEND"}
	}
	rows := []string{"web/FRONTEND"}
	if r.backend != "" {
		rows = append(rows, r.backend+"/BACKEND", r.backend+"/"+r.server)
	}
	return rows
}

// statsTraffic is the requests both proxies get, each on its own
// connection, byte for byte: 2xx, a body, denials, 4xx and 5xx from the
// server, a server that closes without answering, a refused connection.
// Round robin starts with s1, and the requests go one after another, so
// the server of each is known.
var statsTraffic = []statsReq{
	{"GET /hello HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "app", "s1", false},
	{"GET /hello/2 HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "app", "s2", false},
	{"POST /submit HTTP/1.1\r\nHost: example.test\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789", "app", "s1", false},
	{"GET /forbidden/a HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "", "", false},
	{"GET /notfound HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "app", "s2", false},
	{"HEAD /hello HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "app", "s1", false},
	{"GET /error HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "app", "s2", false},
	{"GET /forbidden/b HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "", "", false},
	{"GET /hello/3 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: stats-compare\r\nConnection: close\r\n\r\n", "app", "s1", false},
	{"GET /broken HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "broken", "dead", false},
	{"GET /hello/4 HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "app", "s2", false},
	{"GET /reset HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "app", "s1", false},
	// A connection closed without a request: both count a bad request
	// (ereq, hrsp_4xx, req_tot) without a byte.
	{"", "", "", false},
	{"GET /shop HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "shop", "s3", true},
	{"GET /forbidden/c HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n", "", "", true},
}

// statsComparedColumns are the CSV columns whose values follow from the
// configuration and the traffic alone, so both proxies must agree.
var statsComparedColumns = []string{
	"pxname", "svname", // the row's identity
	"qcur", "scur", // nothing is in flight once the traffic is answered
	"slim", "stot", "bin", "bout", // sessions and wire bytes (identical requests and answers)
	"dreq", "dresp", "ereq", "econ", "eresp", "wretr", "wredis",
	"status", "weight", "act", "bck", "chkfail", "chkdown",
	"qlimit", "iid", "sid", "lbtot", "tracked", "type",
	"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other",
	"hanafail", "req_tot", "cli_abrt", "srv_abrt",
	"comp_in", "comp_out", "comp_byp", "comp_rsp",
	"check_rise", "check_fall", "check_health",
	"mode", "algo", "cookie", "conn_tot", "dcon", "dses", "wrew", "eint", "uweight",
	"agg_server_status", "agg_server_check_status", "agg_check_status",
}

// statsSkippedColumns are not compared, each for a reason.
var statsSkippedColumns = map[string]string{
	"qmax": "peaks depend on how requests overlapped", "smax": "peaks depend on timing",
	"lastchg": "seconds since a change: time", "downtime": "time", "lastsess": "time",
	"last_chk": "check output text differs by implementation and timing", "last_agt": "no agent",
	"pid":      "process number: HAProxy is pid 1 of its master-less process as well, but Gatehouse may differ by design",
	"throttle": "slowstart only", "rate": "per-second rate: time", "rate_lim": "not configured",
	"rate_max": "time", "check_status": "set when the first check completes: timing",
	"check_code": "timing", "check_duration": "time", "req_rate": "time", "req_rate_max": "time",
	"qtime": "time", "ctime": "time", "rtime": "time", "ttime": "time",
	"qtime_max": "time", "ctime_max": "time", "rtime_max": "time", "ttime_max": "time",
	"agent_status": "no agent", "agent_code": "no agent", "agent_duration": "no agent",
	"check_desc": "timing (set by the first check)", "agent_desc": "no agent",
	"agent_rise": "no agent", "agent_fall": "no agent", "agent_health": "no agent",
	"addr":      "the servers' ports differ between the runs",
	"conn_rate": "time", "conn_rate_max": "time",
	"intercepted": "counts the stats page's own requests, which the polling repeats",
	"connect":     "connection reuse is the implementation's (http-reuse)", "reuse": "see connect",
	"cache_lookups": "no cache", "cache_hits": "no cache",
	"srv_icur": "idle connections kept: reuse policy", "src_ilim": "idle limit: pool sizing",
	"idle_conn_cur": "reuse policy", "safe_conn_cur": "reuse policy", "used_conn_cur": "reuse policy",
	"need_conn_est": "reuse policy",
	"-":             "an unnamed placeholder in HAProxy 2.6",
}

// The stats modules' columns (ssl_*, h1_*, h2_*) count connections of
// the frontend as a whole: the readiness probes and the stats page's own
// connections are in them, and HAProxy counts its health checks' in the
// backend's.
func statsModuleColumn(c string) bool {
	return strings.HasPrefix(c, "ssl_") || strings.HasPrefix(c, "h1_") || strings.HasPrefix(c, "h2_")
}

type statsTable struct {
	cols []string
	rows map[string]map[string]string // "pxname/svname" -> column -> value
}

func parseStatsCSV(t *testing.T, text string) statsTable {
	t.Helper()
	text = strings.TrimPrefix(text, "# ")
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("bad stats CSV (%v):\n%s", err, text)
	}
	tab := statsTable{cols: recs[0], rows: map[string]map[string]string{}}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, c := range tab.cols {
			if i < len(rec) {
				row[c] = rec[i]
			}
		}
		tab.rows[row["pxname"]+"/"+row["svname"]] = row
	}
	return tab
}

func fetchStatsCSV(t *testing.T, port int) statsTable {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/stats;csv", port))
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stats: %d %v", resp.StatusCode, err)
	}
	return parseStatsCSV(t, string(b))
}

// sendRaw sends one request on its own connection and reads the answer
// until the proxy closes; an empty request closes the connection at once.
func sendRaw(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if req == "" {
		return ""
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	return string(b)
}

// statsRun is what one proxy reported: its stats before the traffic
// (after its first health checks) and after it, and its answers.
type statsRun struct {
	before, after statsTable
	answers       []string
	metrics       map[string]string // Prometheus sample ("name{labels}") -> value, after the traffic
}

// runStatsTraffic starts a proxy on the comparison config, sends the
// traffic and returns its stats once every request is accounted for.
func runStatsTraffic(t *testing.T, name, bin string, args func(string) []string, s1, s2, dead string) statsRun {
	t.Helper()
	ports, probes := startProxy(t, name, bin, args, 3, func(p []int) string { return statsCompareConfig(p[0], p[1], p[2], s1, s2, dead) })
	fe, shop, st := ports[0], ports[1], ports[2]
	var run statsRun
	// Wait for the first health checks, so both report the servers UP
	// from checks rather than from their starting state, and for the
	// readiness probes' connections to be accepted and accounted.
	testenv.Eventually(t, 30*time.Second, func() bool {
		run.before = fetchStatsCSV(t, st)
		r := run.before.rows
		done := func(s string) bool { return s != "" && !strings.HasPrefix(s, "*") }
		probed := func(row string, port int) bool {
			return atoi(r[row]["conn_tot"]) >= probes[port] && r[row]["scur"] == "0"
		}
		return done(r["app/s1"]["check_status"]) && done(r["app/s2"]["check_status"]) &&
			probed("web/FRONTEND", fe) && probed("shop/FRONTEND", shop)
	}, "%s: no completed health check, or probes not accounted", name)
	for _, req := range statsTraffic {
		port := fe
		if req.shop {
			port = shop
		}
		run.answers = append(run.answers, sendRaw(t, testenv.LocalAddr(port), req.raw))
	}
	want := atoi(run.before.rows["web/FRONTEND"]["req_tot"]) + len(statsTraffic) - 2 // but the shop's
	deadline := time.Now().Add(30 * time.Second)
	for {
		run.after = fetchStatsCSV(t, st)
		fe, be := run.after.rows["web/FRONTEND"], run.after.rows["app/BACKEND"]
		shopFE, shopBE := run.after.rows["shop/FRONTEND"], run.after.rows["shop/BACKEND"]
		// Every session has ended: a client sees the close before the
		// proxy has finished its accounting.
		if atoi(fe["req_tot"]) >= want && fe["scur"] == "0" && be["scur"] == "0" &&
			atoi(shopFE["req_tot"]) >= atoi(run.before.rows["shop/FRONTEND"]["req_tot"])+2 &&
			shopFE["scur"] == "0" && shopBE["scur"] == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: after 30s frontend req_tot %q scur %q, backend scur %q; want %d, 0, 0", name, fe["req_tot"], fe["scur"], be["scur"], want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	run.metrics = fetchMetrics(t, st)
	return run
}

// fetchMetrics reads the Prometheus exporter's samples.
func fetchMetrics(t *testing.T, port int) map[string]string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metrics: %d %v", resp.StatusCode, err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if i := strings.LastIndexByte(l, ' '); i > 0 {
			m[l[:i]] = l[i+1:]
		}
	}
	return m
}

// statsComparedMetrics are the Prometheus families whose samples follow
// from the configuration and the traffic, for the backends and servers
// (the frontend's counters include the readiness probes, the stats
// proxy's its own polling).
var statsComparedMetrics = []string{
	"haproxy_backend_status", "haproxy_server_status",
	"haproxy_backend_loadbalanced_total", "haproxy_server_loadbalanced_total",
	"haproxy_backend_sessions_total", "haproxy_server_sessions_total",
	"haproxy_backend_http_requests_total",
	"haproxy_backend_http_responses_total", "haproxy_server_http_responses_total",
	"haproxy_backend_connection_errors_total", "haproxy_server_connection_errors_total",
	"haproxy_backend_response_errors_total", "haproxy_server_response_errors_total",
	"haproxy_backend_retry_warnings_total", "haproxy_server_retry_warnings_total",
	"haproxy_backend_redispatch_warnings_total", "haproxy_server_redispatch_warnings_total",
	"haproxy_backend_requests_denied_total", "haproxy_backend_responses_denied_total",
	"haproxy_backend_limit_sessions", "haproxy_server_limit_sessions",
	"haproxy_backend_active_servers", "haproxy_backend_backup_servers", "haproxy_backend_weight",
	"haproxy_server_weight", "haproxy_server_check_failures_total", "haproxy_server_check_up_down_total",
	"haproxy_frontend_limit_sessions",
}

// statsFrontendCounters are the frontend columns compared as the change
// over the traffic: the readiness probes (a connection opened and closed
// without a request, counted as a bad request by both) come before it,
// and their number depends on how soon each proxy listened.
var statsFrontendCounters = []string{
	"stot", "bin", "bout", "dreq", "dresp", "ereq", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx",
	"hrsp_4xx", "hrsp_5xx", "hrsp_other", "req_tot", "cli_abrt", "conn_tot", "dcon", "dses", "intercepted",
}

// statsValue is a row's column after the traffic, or its change over the
// traffic for a frontend counter.
func statsValue(run statsRun, row, col string) string {
	v := run.after.rows[row][col]
	if strings.HasSuffix(row, "/FRONTEND") && contains(statsFrontendCounters, col) {
		if b, ok := run.before.rows[row][col]; ok && b != "" && v != "" {
			return strconv.Itoa(atoi(v) - atoi(b))
		}
	}
	return v
}

// htxSize is how many bytes HAProxy counts for an HTTP/1 message in its
// bin and bout: it counts its internal (HTX) form, not the wire bytes. A
// start line is a 20-byte header plus its three parts, a header field
// its name and value (Connection is consumed by the parser), the end of
// the head one byte, and the body its payload. So
// "GET / HTTP/1.1\r\nHost: x\r\n\r\n" is 27 bytes on the wire and 38 in
// HAProxy's counters (measured with HAProxy 2.6).
func htxSize(msg string) int {
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	n := 20 + len(lines[0]) - 2 + 1 + len(body) // the start line's parts without their two separators
	for _, l := range lines[1:] {
		name, value, _ := strings.Cut(l, ":")
		if !strings.EqualFold(name, "connection") {
			n += len(name) + len(strings.TrimSpace(value))
		}
	}
	return n
}

// TestStatsCSVMatchesHAProxy runs one configuration and one sequence of
// requests through HAProxy and Gatehouse and compares every CSV column
// whose value follows from the configuration and the traffic
// (statsComparedColumns; statsSkippedColumns says why the others are not).
// Byte counters differ by unit (see htxSize): each proxy's must equal
// the traffic's bytes of the requests it accounted in the row, counted
// its way, which checks that both put the same requests' bytes, heads
// included, in the same rows.
func TestStatsCSVMatchesHAProxy(t *testing.T) {
	testenv.RequireBinary(t, "haproxy")
	s1, s2 := startFixedUpstream(t), startFixedUpstream(t)
	dead := testenv.LocalAddr(testenv.FreePort(t)) // nothing listens

	hp := runStatsTraffic(t, "haproxy", testenv.RequireBinary(t, "haproxy"), haproxyArgs, s1.Addr(), s2.Addr(), dead)
	gh := runStatsTraffic(t, "gatehouse", testenv.GatehouseBinary(t), gatehouseArgs, s1.Addr(), s2.Addr(), dead)

	// The answers must be the same bytes (header names aside: HAProxy
	// writes them in lower case) for the byte counters to be comparable.
	for i, req := range statsTraffic {
		if strings.ToLower(hp.answers[i]) != strings.ToLower(gh.answers[i]) {
			t.Errorf("answers to %q differ:\n haproxy:   %q\n gatehouse: %q", req.raw, hp.answers[i], gh.answers[i])
		}
	}
	for _, c := range hp.after.cols {
		if _, skip := statsSkippedColumns[c]; skip || c == "" || statsModuleColumn(c) || contains(statsComparedColumns, c) {
			continue
		}
		t.Errorf("HAProxy column %q is neither compared nor listed as skipped", c)
	}
	var keys []string
	for k := range hp.after.rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(gh.after.rows) != len(hp.after.rows) {
		t.Errorf("gatehouse has %d rows, haproxy %d", len(gh.after.rows), len(hp.after.rows))
	}
	for _, k := range keys {
		if gh.after.rows[k] == nil {
			t.Errorf("gatehouse has no row %s", k)
			continue
		}
		for _, c := range statsComparedColumns {
			if c == "bin" || c == "bout" {
				continue // below
			}
			if strings.HasPrefix(k, "stats/") && (contains(statsFrontendCounters, c) || c == "lbtot") {
				continue // the stats proxy's counters count the polling itself
			}
			if h, g := statsValue(hp, k, c), statsValue(gh, k, c); h != g {
				t.Errorf("%s %s: haproxy %q, gatehouse %q", k, c, h, g)
			}
		}
	}

	// The exporter reads the same rows: the samples of the compared
	// families must be HAProxy's (haproxy_backend_status tripped alerts
	// when the stats backend read DOWN).
	n := 0
	for sample, hv := range hp.metrics {
		name, _, _ := strings.Cut(sample, "{")
		if !contains(statsComparedMetrics, name) {
			continue
		}
		n++
		gv, ok := gh.metrics[sample]
		switch {
		case !ok:
			t.Errorf("gatehouse has no sample %s (haproxy: %s)", sample, hv)
		case gv != hv:
			t.Errorf("%s: haproxy %s, gatehouse %s", sample, hv, gv)
		}
	}
	if n < 50 {
		t.Errorf("only %d of HAProxy's samples compared", n)
	}
	t.Logf("%d Prometheus samples compared", n)

	// Bytes: each request's, and its answer's, in its frontend, backend
	// and server rows.
	type bytes struct{ wireIn, wireOut, htxIn, htxOut int }
	want := map[string]*bytes{}
	for i, req := range statsTraffic {
		for _, r := range req.byteRows() {
			if want[r] == nil {
				want[r] = &bytes{}
			}
			b := want[r]
			b.wireIn += len(req.raw)
			b.wireOut += len(gh.answers[i])
			if req.raw != "" {
				b.htxIn += htxSize(req.raw)
				b.htxOut += htxSize(hp.answers[i])
			}
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "stats/") {
			continue
		}
		w := want[k]
		if w == nil {
			w = &bytes{}
		}
		check := func(who string, run statsRun, col string, want int) {
			if got := statsValue(run, k, col); got != strconv.Itoa(want) {
				t.Errorf("%s %s %s = %s, want %d", who, k, col, got, want)
			}
		}
		check("haproxy", hp, "bin", w.htxIn)
		check("haproxy", hp, "bout", w.htxOut)
		check("gatehouse", gh, "bin", w.wireIn)
		check("gatehouse", gh, "bout", w.wireOut)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
