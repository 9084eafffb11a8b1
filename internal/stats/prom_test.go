package stats

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/counters"
)

// promSnapshot is testSnapshot with latency histograms on the server gw1
// and its backend.
func promSnapshot() *Snapshot {
	s := testSnapshot()
	var h counters.Histogram
	for _, d := range []time.Duration{3 * time.Millisecond, 12 * time.Millisecond, 12 * time.Millisecond, 400 * time.Millisecond} {
		h.Observe(d)
	}
	hs := h.Snapshot()
	web := s.Proxies[0]
	web.Servers[0].RespTimeHist = &hs
	web.Servers[0].TotalTimeHist = &hs
	web.Backend.RespTimeHist = &hs
	return s
}

func promText(t *testing.T, s *Snapshot, o PromOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := WritePrometheusOptions(&b, s, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestPrometheusGolden compares the whole exposition with
// testdata/metrics.golden (GATEHOUSE_UPDATE_GOLDEN=1 rewrites it).
func TestPrometheusGolden(t *testing.T) {
	got := promText(t, promSnapshot(), AllPromScopes())
	const golden = "testdata/metrics.golden"
	if os.Getenv("GATEHOUSE_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (GATEHOUSE_UPDATE_GOLDEN=1 to accept); got:\n%s", golden, got)
	}
}

// TestPrometheusPromtool runs Prometheus' own linter on the output.
func TestPrometheusPromtool(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (Debian package prometheus; scripts/test.sh installs it): %v", err)
	}
	for name, snap := range map[string]*Snapshot{"full": promSnapshot(), "empty": {Now: time.Unix(1e9, 0)}} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(path, "check", "metrics")
			cmd.Stdin = strings.NewReader(promText(t, snap, AllPromScopes()))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("promtool check metrics: %v\n%s", err, out)
			}
		})
	}
}

func TestPrometheusLines(t *testing.T) {
	out := promText(t, promSnapshot(), AllPromScopes())
	tests := []struct {
		line string
		want bool
	}{
		{`haproxy_frontend_current_sessions{proxy="web"} 3`, true},
		{`haproxy_frontend_status{proxy="web",state="UP"} 1`, true},
		{`haproxy_frontend_status{proxy="web",state="DOWN"} 0`, true},
		{`haproxy_frontend_http_responses_total{proxy="web",code="2xx"} 100`, true},
		{`haproxy_frontend_http_responses_total{proxy="web",code="other"} 0`, true},
		// A tcp proxy has no HTTP series at all, as in HAProxy's exporter.
		{`haproxy_frontend_http_responses_total{proxy="tls<in>"`, false},
		{`haproxy_frontend_current_sessions{proxy="tls<in>"} 0`, true},
		{`haproxy_backend_http_responses_total{proxy="web",code="2xx"} 0`, true},
		{`haproxy_backend_status{proxy="web",state="UP"} 1`, true},
		{`haproxy_backend_active_servers{proxy="web"} 1`, true},
		{`haproxy_backend_agg_server_status{proxy="web",state="UP"} 1`, true},
		{`haproxy_backend_agg_server_status{proxy="web",state="DOWN"} 1`, true},
		{`haproxy_backend_agg_check_status{proxy="web",state="L4CON"} 1`, true},
		{`haproxy_server_status{proxy="web",server="gw1",state="UP"} 1`, true},
		{`haproxy_server_status{proxy="web",server="gw2",state="DOWN"} 1`, true},
		{`haproxy_server_status{proxy="web",server="gw2",state="UP"} 0`, true},
		{`haproxy_server_check_status{proxy="web",server="gw1",state="L7OK"} 1`, true},
		{`haproxy_server_check_status{proxy="web",server="gw2",state="L4CON"} 1`, true},
		{`haproxy_server_check_code{proxy="web",server="gw1"} 200`, true},
		{`haproxy_server_check_code{proxy="web",server="gw2"} 0`, true},
		// Milliseconds become seconds.
		{`haproxy_server_check_duration_seconds{proxy="web",server="gw1"} 0.003000`, true},
		{`haproxy_server_response_time_average_seconds{proxy="web",server="gw1"} 0.012000`, true},
		{`haproxy_server_check_last_change_seconds{proxy="web",server="gw1"} 1800`, true},
		{`haproxy_server_downtime_seconds_total{proxy="web",server="gw2"} 600`, true},
		{`haproxy_server_http_responses_total{proxy="web",server="gw1",code="2xx"} 60`, true},
		{`haproxy_process_nbthread 4`, true},
		{`haproxy_process_uptime_seconds 3600`, true},
		{`haproxy_process_build_info{version="0.1.0"} 1`, true},
		{"# TYPE haproxy_server_bytes_in_total counter", true},
		{"# TYPE haproxy_server_current_sessions gauge", true},
		{`gatehouse_server_response_time_seconds_bucket{proxy="web",server="gw1",le="0.005"} 1`, true},
		{`gatehouse_server_response_time_seconds_bucket{proxy="web",server="gw1",le="0.025"} 3`, true},
		{`gatehouse_server_response_time_seconds_bucket{proxy="web",server="gw1",le="+Inf"} 4`, true},
		{`gatehouse_server_response_time_seconds_count{proxy="web",server="gw1"} 4`, true},
		{`gatehouse_server_response_time_seconds_sum{proxy="web",server="gw1"} 0.427`, true},
		{`gatehouse_backend_response_time_seconds_count{proxy="web"} 4`, true},
		{"# TYPE gatehouse_backend_response_time_seconds histogram", true},
		// Servers without a histogram have no series.
		{`gatehouse_server_response_time_seconds_count{proxy="web",server="gw2"}`, false},
	}
	lines := strings.Split(out, "\n")
	for _, tc := range tests {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, tc.line)
		}
		if found != tc.want {
			t.Errorf("line %q present = %v, want %v", tc.line, found, tc.want)
		}
	}
}

// TestPrometheusFromColumns checks every exported column of the table has
// its family in the output, with one HELP and one TYPE line.
func TestPrometheusFromColumns(t *testing.T) {
	o := AllPromScopes()
	o.ExtraCounters = true
	out := promText(t, promSnapshot(), o)
	for _, c := range Columns() {
		if c.Prom.Type == PromNone {
			continue
		}
		for _, k := range []Kind{KindFrontend, KindBackend, KindServer} {
			if c.Prom.Objs&k.Obj() == 0 {
				continue
			}
			fam := promPrefix[k] + c.Prom.Name
			if n := strings.Count(out, "# TYPE "+fam+" "); n != 1 {
				t.Errorf("%s (column %s): %d TYPE lines, want 1", fam, c.Name, n)
			}
			if n := strings.Count(out, "# HELP "+fam+" "); n != 1 {
				t.Errorf("%s (column %s): %d HELP lines, want 1", fam, c.Name, n)
			}
		}
	}
}

func TestParsePromQuery(t *testing.T) {
	tests := []struct {
		q    string
		want PromOptions
	}{
		{"", AllPromScopes()},
		{"no-maint", PromOptions{Global: true, Objs: FE | BE | SRV, NoMaint: true, Identity: true}},
		{"scope=identity", PromOptions{Identity: true}},
		{"scope=backend&scope=identity", PromOptions{Objs: BE, Identity: true}},
		{"scope=backend", PromOptions{Objs: BE}},
		{"scope=global&scope=server", PromOptions{Global: true, Objs: SRV}},
		{"scope=", PromOptions{}},
		{"scope=*", AllPromScopes()},
		{"scope=frontend;no-maint", PromOptions{Objs: FE, NoMaint: true}},
		{"extra-counters", PromOptions{Global: true, Objs: FE | BE | SRV, ExtraCounters: true, Identity: true}},
		{"scope=frontend&extra-counters", PromOptions{Objs: FE, ExtraCounters: true}},
	}
	for _, tc := range tests {
		if got := ParsePromQuery(tc.q); got != tc.want {
			t.Errorf("ParsePromQuery(%q) = %+v, want %+v", tc.q, got, tc.want)
		}
	}
}

func TestPrometheusScopes(t *testing.T) {
	s := promSnapshot()
	s.Proxies[0].Servers[1].State = SrvMaint
	tests := []struct {
		opts      PromOptions
		has, hasn []string
	}{
		{PromOptions{Objs: BE}, []string{"haproxy_backend_"}, []string{"haproxy_process_", "haproxy_frontend_", "haproxy_server_", "gatehouse_server_"}},
		{PromOptions{Global: true}, []string{"haproxy_process_"}, []string{"haproxy_backend_"}},
		{PromOptions{Objs: SRV, NoMaint: true}, []string{`server="gw1"`}, []string{`server="gw2"`}},
		{PromOptions{Objs: SRV}, []string{`server="gw2",state="MAINT"} 1`}, nil},
	}
	for _, tc := range tests {
		out := promText(t, s, tc.opts)
		for _, h := range tc.has {
			if !strings.Contains(out, h) {
				t.Errorf("%+v: missing %q", tc.opts, h)
			}
		}
		for _, h := range tc.hasn {
			if strings.Contains(out, h) {
				t.Errorf("%+v: unexpected %q", tc.opts, h)
			}
		}
	}
}

// TestPrometheusExtraCounters: the h2 module's fields are exported as HAProxy
// 3.0's exporter does with ?extra-counters (haproxy_frontend_<field>, "mod"
// label, gauge or counter as the field's nature), and only then.
func TestPrometheusExtraCounters(t *testing.T) {
	if out := promText(t, promSnapshot(), AllPromScopes()); strings.Contains(out, "h2_") {
		t.Errorf("module fields without extra-counters:\n%s", out)
	}
	o := ParsePromQuery("extra-counters")
	out := promText(t, promSnapshot(), o)
	for _, want := range []string{
		"# HELP haproxy_frontend_h2_headers_rcvd Total number of received HEADERS frames\n# TYPE haproxy_frontend_h2_headers_rcvd counter\n",
		`haproxy_frontend_h2_headers_rcvd{proxy="web",mod="h2"} 40` + "\n",
		`haproxy_frontend_h2_headers_rcvd{proxy="tls<in>",mod="h2"} 0` + "\n",
		"# TYPE haproxy_frontend_h2_open_connections gauge\n",
		`haproxy_frontend_h2_open_connections{proxy="web",mod="h2"} 2` + "\n",
		`haproxy_frontend_h2_backend_open_streams{proxy="web",mod="h2"} 3` + "\n",
		`haproxy_frontend_h2_total_connections{proxy="web",mod="h2"} 9` + "\n",
		`haproxy_frontend_h2_backend_total_streams{proxy="web",mod="h2"} 41` + "\n",
		`haproxy_frontend_h2_detected_conn_protocol_errors{proxy="web",mod="h2"} 1` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	for _, bad := range []string{"haproxy_backend_h2_", "haproxy_server_h2_"} {
		if strings.Contains(out, bad) {
			t.Errorf("unexpected %s* (Gatehouse counts HTTP/2 on frontends only)", bad)
		}
	}
	// The module fields come after every fixed frontend family, as in HAProxy.
	if i, j := strings.Index(out, "haproxy_frontend_h2_"), strings.LastIndex(out, "haproxy_frontend_internal_errors_total"); i < j {
		t.Errorf("h2 fields before the fixed frontend fields")
	}
	// promtool's only complaint may be HAProxy's own counter names without
	// a _total suffix.
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(out)
	res, _ := cmd.CombinedOutput()
	for _, l := range strings.Split(strings.TrimSpace(string(res)), "\n") {
		if l != "" && !(strings.HasPrefix(l, "haproxy_frontend_h2_") && strings.Contains(l, `counter metrics should have "_total" suffix`)) {
			t.Errorf("promtool: %s", l)
		}
	}
}
