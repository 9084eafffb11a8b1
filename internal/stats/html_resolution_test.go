package stats

import (
	"strings"
	"testing"
	"time"
)

// A server in MAINT (resolution) shows that status, and HAProxy's
// "resolution" cell over the three check columns.
func TestHTMLResolutionMaint(t *testing.T) {
	s := testSnapshot()
	var row *Row
	for _, px := range s.Proxies {
		for _, r := range px.Servers {
			if r.Name == "gw1" {
				row = r
			}
		}
	}
	if row == nil {
		t.Fatal("no gw1 row")
	}
	row.State, row.Resolution, row.Checked = SrvMaint, true, true
	if got := row.StatusText(); got != "MAINT (resolution)" {
		t.Fatalf("status %q", got)
	}
	page := renderHTML(t, s, HTMLOptions{URI: "/stats", Refresh: 10 * time.Second})
	if !strings.Contains(page, "MAINT (resolution)</td>") || !strings.Contains(page, `colspan="3">resolution</td>`) {
		i := strings.Index(page, "gw1")
		t.Errorf("page lacks the resolution status or cell:\n%s", page[i:min(len(page), i+3000)])
	}
}
