package app

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// statsPageDOM is what the test reads of the stats page in the browser.
type statsPageDOM struct {
	URL       string   `json:"url"`
	Ready     string   `json:"ready"`
	Tables    int      `json:"tables"`
	Groups    []string `json:"groups"`
	Titles    []string `json:"titles"`
	Sparks    []string `json:"sparks"` // the sparklines' <title>s, in row order
	Points    int      `json:"points"` // polyline points of the first sparkline
	Lat       []string `json:"lat"`    // percentile cells, in row order
	RowsS2    string   `json:"s2"`     // class of s2's row
	Message   string   `json:"message"`
	MetaFresh string   `json:"metaRefresh"`
	Marker    bool     `json:"marker"` // set by the test in a previous document
}

const statsPageJS = `(() => {
	const q = s => Array.from(document.querySelectorAll(s));
	const s2 = document.querySelector('input[name=s][value=s2]');
	const msg = document.querySelector('body > div.active_up, body > p > div.active_up, div.active_up');
	const spark = document.querySelector('svg.spark polyline');
	const meta = document.querySelector('meta[http-equiv=refresh]');
	return {
		url: location.href, ready: document.readyState,
		tables: q('table.tbl').length,
		groups: q('table.tbl tr.titre:first-child th[colspan]').map(th => th.textContent),
		titles: q('table.tbl tr.titre + tr.titre th').map(th => th.textContent),
		sparks: q('svg.spark title').map(t => t.textContent),
		points: spark ? spark.points.numberOfItems : 0,
		lat: q('span.lat').map(s => s.textContent),
		s2: s2 ? s2.closest('tr').className : '',
		message: msg ? msg.textContent : '',
		metaRefresh: meta ? meta.content : '',
		marker: window.__gatehouseMarker === true,
	};
})()`

// TestStatsPageInChromium is the stats page in a real headless Chromium:
// it renders HAProxy's tables with Gatehouse's sparklines and latency
// percentiles, refreshes by itself ("stats refresh"), and its admin form
// drains a server, which the CSV then shows.
func TestStatsPageInChromium(t *testing.T) {
	b1, b2 := echoBackend(t, "b1"), echoBackend(t, "b2")
	port := freePort(t)
	rt := start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
    stats refresh 2s
    stats admin if TRUE
    default_backend be

backend be
    server s1 %s
    server s2 %s
`, port, hostPort(b1), hostPort(b2)))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i := range 20 {
		resp, err := http.Get(fmt.Sprintf("%s/r%d", base, i))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Until the data plane ticks the request-rate histories, feed them as
	// it would: 20 requests over the last seconds.
	g := rt.Graph()
	now := time.Now()
	for i := range 20 {
		at := now.Add(-time.Duration(1+i%5) * time.Second)
		g.Frontends[0].Counters.ReqHistory.Tick(at)
		g.Backends[0].Counters.ReqHistory.Tick(at)
		g.Backends[0].Servers[i%2].Counters.ReqHistory.Tick(at)
	}

	page := testenv.StartChromium(t).NewPage(t)
	if err := page.Call("Page.enable", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.Navigate(base + "/stats"); err != nil {
		t.Fatal(err)
	}
	var dom statsPageDOM
	read := func(what string, cond func(*statsPageDOM) bool) {
		t.Helper()
		testenv.Eventually(t, 20*time.Second, func() bool {
			var d statsPageDOM
			if page.Evaluate(statsPageJS, &d) != nil || d.Ready != "complete" {
				return false
			}
			dom = d
			return cond(&d)
		}, "%s; last DOM %+v", what, &dom)
	}

	// It renders.
	read("the stats page never rendered", func(d *statsPageDOM) bool { return d.Tables > 0 })
	for _, g := range []string{"Queue", "Session rate", "Sessions", "Bytes", "Denied", "Errors", "Warnings", "Server", "Req rate", "Latency p50 / p90 / p99"} {
		if !strings.Contains(strings.Join(dom.Groups, "|")+"|", g+"|") {
			t.Errorf("group header %q missing: %q", g, dom.Groups)
		}
	}
	if !strings.Contains(strings.Join(dom.Titles, "|"), "Thrtle|Last 60s|Resp|Total") {
		t.Errorf("column titles: %q", dom.Titles)
	}
	if dom.MetaFresh != "2" {
		t.Errorf("meta refresh %q, want 2", dom.MetaFresh)
	}
	// frontend, s1, s2, backend
	if len(dom.Sparks) != 4 || dom.Points != 60 {
		t.Errorf("sparklines %q with %d points, want 4 of 60", dom.Sparks, dom.Points)
	}
	totalRe := regexp.MustCompile(`total (\d+)`)
	for i, want := range []int{20, 10, 10, 20} {
		if i < len(dom.Sparks) {
			n := -1
			if m := totalRe.FindStringSubmatch(dom.Sparks[i]); m != nil {
				n, _ = strconv.Atoi(m[1])
			}
			if n < want {
				t.Errorf("sparkline %d: %q, want a total of at least %d", i, dom.Sparks[i], want)
			}
		}
	}
	// s1, s2 and the backend, each Resp and Total.
	latRe := regexp.MustCompile(`^[0-9.]+m?s / [0-9.]+m?s / [0-9.]+m?s$`)
	if len(dom.Lat) != 6 {
		t.Errorf("percentile cells %q, want 6", dom.Lat)
	}
	for _, l := range dom.Lat {
		if !latRe.MatchString(l) {
			t.Errorf("percentile cell %q", l)
		}
	}

	// It refreshes by itself: a new document loads within the refresh
	// period plus a margin, without the marker set in this one.
	if err := page.Evaluate(`window.__gatehouseMarker = true`, nil); err != nil {
		t.Fatal(err)
	}
	loads := len(page.Events("Page.loadEventFired"))
	if _, err := page.WaitEvents("Page.loadEventFired", loads+1, 2*time.Second+3*time.Second); err != nil {
		t.Fatalf("no refresh: %v", err)
	}
	read("the refreshed page kept the old document", func(d *statsPageDOM) bool { return !d.Marker && d.Tables > 0 })

	// The admin form: check s2, choose "Set state to DRAIN", apply. One
	// evaluation, so a refresh cannot come between the steps.
	err := page.Evaluate(`(() => {
		const box = document.querySelector('input[name=s][value=s2]');
		box.checked = true;
		const sel = box.form.querySelector('select[name=action]');
		const opt = Array.from(sel.options).find(o => o.text === 'Set state to DRAIN');
		sel.value = opt.value;
		box.form.querySelector('input[type=submit]').click();
		return opt.value;
	})()`, nil)
	if err != nil {
		t.Fatal(err)
	}
	read("the admin action's result never showed", func(d *statsPageDOM) bool {
		return strings.Contains(d.URL, ";st=DONE") && d.Tables > 0
	})
	if !strings.Contains(dom.Message, "Action processed successfully.") {
		t.Errorf("result message %q", dom.Message)
	}
	if dom.RowsS2 != "active_draining" {
		t.Errorf("s2's row class %q, want active_draining", dom.RowsS2)
	}
	if st := csvStatus(t, base+"/stats;csv", "be", "s2"); st != "DRAIN" {
		t.Errorf("CSV status of be/s2 %q, want DRAIN", st)
	}
	if st := csvStatus(t, base+"/stats;csv", "be", "s1"); st != "UP" && st != "no check" {
		t.Errorf("CSV status of be/s1 %q", st)
	}
}

// csvStatus fetches the stats CSV and returns the status of px/sv.
func csvStatus(t *testing.T, url, px, sv string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	col := -1
	for i, h := range recs[0] {
		if h == "status" {
			col = i
		}
	}
	for _, rec := range recs[1:] {
		if len(rec) > col && col >= 0 && rec[0] == px && rec[1] == sv {
			return rec[col]
		}
	}
	t.Fatalf("no row %s/%s in CSV:\n%s", px, sv, body)
	return "" // not reached
}
