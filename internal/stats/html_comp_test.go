package stats

import (
	"strings"
	"testing"
	"time"
)

// TestHTMLCompressionTooltip: a frontend that compressed shows HAProxy's
// compression details under its Bytes/Out cell; one that did not keeps a
// plain cell.
func TestHTMLCompressionTooltip(t *testing.T) {
	s := testSnapshot()
	fe := s.Proxies[0].Frontend
	fe.C.CompIn, fe.C.CompOut, fe.C.CompByp, fe.C.CompRsp = 80000, 20000, 1000, 40
	page := renderHTML(t, s, HTMLOptions{URI: "/stats", Refresh: 10 * time.Second})
	want := `<u><span class="rls">90</span>000<div class=tips><table class=det>` +
		`<tr><th>Response bytes in:</th><td><span class="rls">90</span>000</td></tr>` +
		`<tr><th>Compression in:</th><td><span class="rls">80</span>000</td></tr>` +
		`<tr><th>Compression out:</th><td><span class="rls">20</span>000</td><td>(25%)</td></tr>` +
		`<tr><th>Compression bypass:</th><td><span class="rls">1</span>000</td></tr>` +
		`<tr><th>Total bytes saved:</th><td><span class="rls">60</span>000</td><td>(66%)</td></tr></table></div></u>`
	if !strings.Contains(page, want) {
		t.Fatalf("no compression tooltip; page has: %s", page[strings.Index(page, `class="frontend"`):][:1500])
	}
	// fe: 40 of its 100 2xx were compressed; the backend's row says 0.
	if !strings.Contains(page, "<tr><th>- HTTP 2xx responses:</th><td>100</td></tr><tr><th>&nbsp;&nbsp;Compressed 2xx:</th><td>40</td><td>(40%)</td></tr>") ||
		!strings.Contains(page, "<tr><th>&nbsp;&nbsp;Compressed 2xx:</th><td>0</td><td>(0%)</td></tr>") {
		t.Fatal("no 'Compressed 2xx' line under the 2xx count")
	}
	if strings.Count(page, "Compression in:") != 1 {
		t.Fatal("the backend, which compressed nothing, has a compression tooltip")
	}
	checkWellFormed(t, page, 31+gatehouseCols)
}
