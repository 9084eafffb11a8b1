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
	if strings.Count(page, "Compression in:") != 1 {
		t.Fatal("the backend, which compressed nothing, has a compression tooltip")
	}
	checkWellFormed(t, page, 31+gatehouseCols)
}
