package stats

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestPageNodeAndDesc: the node name and description appear on the page
// only with "stats show-node" / "stats show-desc", as in HAProxy's
// stats_dump_html_head and stats_dump_html_info.
func TestPageNodeAndDesc(t *testing.T) {
	snap := testSnapshot()
	snap.Info.Description = "global desc"
	tests := []struct {
		name     string
		cfg      config.Stats
		want     []string
		unwanted []string
	}{
		{"neither", config.Stats{},
			[]string{"<title>Statistics Report for Gatehouse</title>", "<h2>Statistics Report for pid 4242</h2>"},
			[]string{"edge-1", "global desc"}},
		{"show-node", config.Stats{ShowNode: true},
			[]string{"<title>Statistics Report for Gatehouse on edge-1</title>", "<h2>Statistics Report for pid 4242 on edge-1</h2>"},
			[]string{"global desc"}},
		{"show-node name", config.Stats{ShowNode: true, Node: "lb-7"},
			[]string{"<title>Statistics Report for Gatehouse on lb-7</title>", "<h2>Statistics Report for pid 4242 on lb-7</h2>"}, []string{"edge-1"}},
		{"show-desc", config.Stats{ShowDesc: true},
			[]string{"<title>Statistics Report for Gatehouse</title>", "<h2>Statistics Report for pid 4242: global desc</h2>"}, []string{"edge-1"}},
		{"both, own text", config.Stats{ShowNode: true, ShowDesc: true, Desc: "EU edge"},
			[]string{"<h2>Statistics Report for pid 4242 on edge-1: EU edge</h2>"}, []string{"global desc"}},
	}
	for _, tc := range tests {
		svc := NewService(&tc.cfg, &fakeSource{snap: snap})
		page := string(svc.Serve(request("GET", "/haproxy?stats"), nil).Body)
		for _, w := range tc.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: page lacks %q", tc.name, w)
			}
		}
		for _, u := range tc.unwanted {
			if strings.Contains(page, u) {
				t.Errorf("%s: page has %q", tc.name, u)
			}
		}
	}
}

// TestPageScope: "stats scope" keeps only the named proxies, on the page
// and in the CSV, and ";scope=" narrows further (case aside).
func TestPageScope(t *testing.T) {
	snap := testSnapshot()
	svc := NewService(&config.Stats{Scope: []string{"web"}}, &fakeSource{snap: snap})
	page := string(svc.Serve(request("GET", "/haproxy?stats"), nil).Body)
	if !strings.Contains(page, `<a name="web">`) || strings.Contains(page, "tls&lt;in&gt;") {
		t.Errorf("page with stats scope web lists other proxies or lacks web")
	}
	csv := string(svc.Serve(request("GET", "/haproxy?stats;csv"), nil).Body)
	if !strings.Contains(csv, "\nweb,") || strings.Contains(csv, "tls<in>") {
		t.Errorf("CSV with stats scope web:\n%s", csv)
	}
	csv = string(svc.Serve(request("GET", "/haproxy?stats;csv;scope=TLS"), nil).Body)
	if strings.Contains(csv, "\nweb,") || strings.Contains(csv, "tls<in>") {
		t.Errorf("';scope=TLS' must not widen 'stats scope web':\n%s", csv)
	}
	all := NewService(&config.Stats{}, &fakeSource{snap: snap})
	csv = string(all.Serve(request("GET", "/haproxy?stats;csv;scope=TLS"), nil).Body)
	if !strings.Contains(csv, "tls<in>") || strings.Contains(csv, "\nweb,") {
		t.Errorf("';scope=TLS' compares without case:\n%s", csv)
	}
}

// TestPageShowModules: "stats show-modules" adds HAProxy's "Extra
// modules" group, the h2 module's fields in a tooltip on the FRONTEND and
// BACKEND rows, nothing on server rows; without it the page has none.
func TestPageShowModules(t *testing.T) {
	snap := testSnapshot()
	page := string(NewService(&config.Stats{}, &fakeSource{snap: snap}).Serve(request("GET", "/haproxy?stats"), nil).Body)
	if strings.Contains(page, "Extra modules") || strings.Contains(page, "<u>h2<div") {
		t.Fatal("modules shown without stats show-modules")
	}
	page = string(NewService(&config.Stats{ShowModules: true}, &fakeSource{snap: snap}).Serve(request("GET", "/haproxy?stats"), nil).Body)
	for _, want := range []string{
		"<th colspan=9>Server</th><th colspan=1>Extra modules</th>",
		"<th>Thrtle</th><th>h2</th>",
		"<u>h2<div class=tips><table class=det><tr><th>Total number of received HEADERS frames</th><td>0</td></tr>",
		"<tr><th>Total number of streams</th><td>0</td></tr></table></div></u>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
