package stats

import (
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/counters"
)

// Gatehouse's additions to HAProxy's stats page, appended after the
// "Server" group so HAProxy's layout is kept: a sparkline of the request
// rate over the last minute and latency percentiles. CSV and JSON do not
// carry them.

// GatehouseColumns are the page's own extra columns: "Req rate / Last 60s"
// (an inline SVG sparkline of Row.ReqHistory) and "Latency p50 / p90 / p99"
// for the response time (Tr) and the total time (Ta) histograms.
func GatehouseColumns() []HTMLColumn {
	return []HTMLColumn{
		{Group: "Req rate", Title: "Last 60s", Cell: func(_ *Proxy, r *Row) template.HTML { return sparkline(r.ReqHistory) }},
		{Group: "Latency p50 / p90 / p99", Title: "Resp", Cell: func(_ *Proxy, r *Row) template.HTML {
			return percentileCell(r.RespTimeHist, "response time (Tr)")
		}},
		{Group: "Latency p50 / p90 / p99", Title: "Total", Cell: func(_ *Proxy, r *Row) template.HTML {
			return percentileCell(r.TotalTimeHist, "total time (Ta)")
		}},
	}
}

// Quantile estimates the q-quantile (0 < q < 1) of h the way Prometheus's
// histogram_quantile does: it finds the bucket holding the rank q*Count
// and interpolates linearly inside it, assuming the observations spread
// evenly over the bucket (from 0 for the first one). It is an estimate,
// only as precise as the buckets. over reports a quantile beyond the last
// finite bound, which d then is. ok is false for an empty histogram.
func Quantile(h *counters.HistogramSnapshot, q float64) (d time.Duration, over, ok bool) {
	if h == nil || h.Count == 0 {
		return 0, false, false
	}
	q = min(max(q, 0), 1)
	rank := q * float64(h.Count)
	var lower time.Duration
	var below uint64
	for i, upper := range h.Bounds {
		cum := h.Cumulative[i]
		if cum > below && float64(cum) >= rank {
			frac := (rank - float64(below)) / float64(cum-below)
			return lower + time.Duration(frac*float64(upper-lower)), false, true
		}
		lower, below = upper, cum
	}
	return h.Bounds[len(h.Bounds)-1], true, true
}

// formatLatency prints d as the page does: "0.4ms", "2.5ms", "12ms", "1.5s".
func formatLatency(d time.Duration) string {
	trim := func(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }
	switch {
	case d < 10*time.Millisecond:
		return trim(float64(d)/float64(time.Millisecond)) + "ms"
	case d < time.Second:
		return strconv.FormatInt(int64((d+time.Millisecond/2)/time.Millisecond), 10) + "ms"
	}
	return trim(d.Seconds()) + "s"
}

// percentileCell is "3ms / 12ms / 40ms" (p50 / p90 / p99), with a tooltip
// saying what it is; empty without observations.
func percentileCell(h *counters.HistogramSnapshot, what string) template.HTML {
	if h == nil || h.Count == 0 {
		return ""
	}
	parts := make([]string, 0, 3)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		d, over, _ := Quantile(h, q)
		s := formatLatency(d)
		if over {
			s = "&gt;" + s
		}
		parts = append(parts, s)
	}
	tip := "p50 / p90 / p99 " + what + " of " + strconv.FormatUint(h.Count, 10) +
		" requests,<br>estimated from histogram buckets"
	tip += "; mean " + formatLatency(h.Sum/time.Duration(h.Count))
	return under(template.HTML(`<span class=lat>`+strings.Join(parts, " / ")+`</span>`), tip)
}

// Sparkline geometry: one unit per second, in a box of sparkW x sparkH
// CSS pixels.
const (
	sparkW = 2 * counters.HistorySeconds
	sparkH = 16
)

// sparkline draws per-second counts (oldest first) as an inline SVG
// polyline scaled to the highest count; empty without a history.
func sparkline(hist []uint64) template.HTML {
	if len(hist) == 0 {
		return ""
	}
	var peak, sum uint64
	for _, v := range hist {
		peak = max(peak, v)
		sum += v
	}
	var b strings.Builder
	b.WriteString(`<svg class="spark" width="` + strconv.Itoa(sparkW) +
		`" height="` + strconv.Itoa(sparkH) + `" viewBox="0 0 ` + strconv.Itoa(len(hist)-1) + ` ` + strconv.Itoa(sparkH) +
		`" preserveAspectRatio="none" role="img"><title>requests/s over the last ` + strconv.Itoa(len(hist)) +
		`s: last ` + strconv.FormatUint(hist[len(hist)-1], 10) + `, max ` + strconv.FormatUint(peak, 10) +
		`, total ` + strconv.FormatUint(sum, 10) + `</title><polyline points="`)
	for i, v := range hist {
		y := float64(sparkH - 1)
		if peak > 0 {
			y = 1 + float64(sparkH-2)*(1-float64(v)/float64(peak))
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(i) + "," + strconv.FormatFloat(y, 'f', 1, 64))
	}
	b.WriteString(`" fill="none" stroke="#6020a0" stroke-width="1" vector-effect="non-scaling-stroke"></polyline></svg>`)
	return template.HTML(b.String())
}
