package stats

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/counters"
)

// gatehouseCols is how many columns GatehouseColumns adds to every row.
const gatehouseCols = 3

func histOf(ds ...time.Duration) *counters.HistogramSnapshot {
	var h counters.Histogram
	for _, d := range ds {
		h.Observe(d)
	}
	s := h.Snapshot()
	return &s
}

func TestQuantile(t *testing.T) {
	ms := time.Millisecond
	// 100 observations: 50 in (2.5ms,5ms], 40 in (10ms,25ms], 10 in (50ms,100ms].
	var ds []time.Duration
	for range 50 {
		ds = append(ds, 4*ms)
	}
	for range 40 {
		ds = append(ds, 20*ms)
	}
	for range 10 {
		ds = append(ds, 80*ms)
	}
	h := histOf(ds...)
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 5 * ms}, // rank 50: the top of the first bucket used
		{0.25, 2500*time.Microsecond + 1250*time.Microsecond}, // halfway through (2.5ms,5ms]
		{0.7, 10*ms + 15*ms/2},                                // rank 70: halfway through (10ms,25ms]
		{0.9, 25 * ms},                                        // rank 90
		{0.99, 50*ms + 45*ms},                                 // rank 99: 9/10 of (50ms,100ms]
		{1, 100 * ms},
	}
	for _, tt := range tests {
		d, over, ok := Quantile(h, tt.q)
		if !ok || over || d != tt.want {
			t.Errorf("Quantile(%v) = %v over=%v ok=%v, want %v", tt.q, d, over, ok, tt.want)
		}
	}

	// The first bucket interpolates from 0.
	if d, _, _ := Quantile(histOf(time.Microsecond, time.Microsecond), 0.5); d != 500*time.Microsecond {
		t.Errorf("first bucket p50 = %v, want 500µs", d)
	}
	// Beyond the last finite bound: that bound, flagged.
	if d, over, ok := Quantile(histOf(time.Minute), 0.5); !ok || !over || d != 30*time.Second {
		t.Errorf("+Inf bucket: %v over=%v ok=%v", d, over, ok)
	}
	if _, _, ok := Quantile(histOf(), 0.5); ok {
		t.Error("empty histogram gave a quantile")
	}
	if _, _, ok := Quantile(nil, 0.5); ok {
		t.Error("nil histogram gave a quantile")
	}
}

func TestFormatLatency(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0ms", 400 * time.Microsecond: "0.4ms", 3 * time.Millisecond: "3ms",
		2500 * time.Microsecond: "2.5ms", 12 * time.Millisecond: "12ms", 40*time.Millisecond + 400*time.Microsecond: "40ms",
		999 * time.Millisecond: "999ms", 1500 * time.Millisecond: "1.5s", 30 * time.Second: "30s",
	} {
		if got := formatLatency(d); got != want {
			t.Errorf("formatLatency(%v) = %q, want %q", d, got, want)
		}
	}
}

var pointsRe = regexp.MustCompile(`<polyline points="([^"]*)"`)

func TestSparkline(t *testing.T) {
	if sparkline(nil) != "" {
		t.Error("sparkline without history")
	}
	hist := make([]uint64, counters.HistorySeconds)
	hist[10], hist[59] = 8, 4
	svg := string(sparkline(hist))
	for _, want := range []string{`<svg class="spark"`, `viewBox="0 0 59 16"`, `<title>requests/s over the last 60s: last 4, max 8, total 12</title>`, `</svg>`} {
		if !strings.Contains(svg, want) {
			t.Errorf("sparkline lacks %q: %s", want, svg)
		}
	}
	m := pointsRe.FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("no polyline: %s", svg)
	}
	pts := strings.Fields(m[1])
	if len(pts) != counters.HistorySeconds {
		t.Fatalf("%d points", len(pts))
	}
	y := func(i int) float64 {
		_, ys, _ := strings.Cut(pts[i], ",")
		f, err := strconv.ParseFloat(ys, 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if y(10) != 1 || y(0) != 15 || y(59) != 8 {
		t.Errorf("points: peak %v, zero %v, half %v; want 1, 15, 8", y(10), y(0), y(59))
	}
	// An idle minute is a flat line at the bottom.
	flat := pointsRe.FindStringSubmatch(string(sparkline(make([]uint64, 60))))[1]
	if strings.Count(flat, ",15.0") != 60 {
		t.Errorf("idle sparkline not flat: %s", flat)
	}
}

func TestHTMLGatehouseColumns(t *testing.T) {
	s := testSnapshot()
	web := s.Proxies[0]
	ms := time.Millisecond
	var ds []time.Duration
	for i := range 100 {
		ds = append(ds, time.Duration(i%10+1)*ms)
	}
	web.Servers[0].RespTimeHist = histOf(ds...)
	web.Servers[0].TotalTimeHist = histOf(time.Minute)
	hist := make([]uint64, counters.HistorySeconds)
	hist[59] = 7
	web.Frontend.ReqHistory = hist
	web.Servers[0].ReqHistory = hist
	page := renderHTML(t, s, HTMLOptions{URI: "/stats"})
	for _, want := range []string{
		`<th colspan=9>Server</th><th colspan=1>Req rate</th><th colspan=2>Latency p50 / p90 / p99</th></tr>`,
		`<th>Thrtle</th><th>Last 60s</th><th>Resp</th><th>Total</th></tr>`,
		`<span class=lat>5ms / 9ms / 9.9ms</span>`,
		`<span class=lat>&gt;30s / &gt;30s / &gt;30s</span>`,
		`p50 / p90 / p99 response time (Tr) of 100 requests,<br>estimated from histogram buckets; mean 5.5ms`,
		`last 7, max 7, total 7</title>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(page, `<svg class="spark"`); n != 2 {
		t.Errorf("%d sparklines, want 2 (frontend and gw1)", n)
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, "<script") {
		t.Error("page references external assets or scripts")
	}
	checkWellFormed(t, page, 31+gatehouseCols)

	// CSV and JSON stay HAProxy's.
	var csv strings.Builder
	if err := writeCSV(&csv, s, Columns(), Filter{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(csv.String(), "p50") || strings.Contains(csv.String(), "spark") {
		t.Error("CSV carries page-only columns")
	}
}
