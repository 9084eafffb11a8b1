package stats

import (
	"bytes"
	"html/template"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func renderHTML(t *testing.T, s *Snapshot, o HTMLOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, s, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var (
	tagRe     = regexp.MustCompile(`<(/?)([a-zA-Z0-9]+)([^>]*)>`)
	colspanRe = regexp.MustCompile(`colspan="?(\d+)`)
	classRe   = regexp.MustCompile(`class="?([a-z_]+)`)
)

// checkWellFormed parses the page's tags: every element must be closed in
// order (void elements and the optional-end <p>, <li>, <option> aside), and
// every data row of the proxy tables must span width columns.
func checkWellFormed(t *testing.T, page string, widths ...int) {
	t.Helper()
	void := map[string]bool{"br": true, "meta": true, "input": true, "hr": true, "p": true, "li": true, "option": true}
	type elem struct {
		name, class string
		cells       int
	}
	var stack []elem
	rows := 0
	for _, m := range tagRe.FindAllStringSubmatch(page, -1) {
		closing, name, attrs := m[1] == "/", strings.ToLower(m[2]), m[3]
		if void[name] {
			continue
		}
		if !closing {
			cls := ""
			if c := classRe.FindStringSubmatch(attrs); c != nil {
				cls = c[1]
			}
			if name == "td" && len(stack) > 0 && stack[len(stack)-1].name == "tr" {
				span := 1
				if c := colspanRe.FindStringSubmatch(attrs); c != nil {
					span, _ = strconv.Atoi(c[1])
				}
				stack[len(stack)-1].cells += span
			}
			stack = append(stack, elem{name: name, class: cls})
			continue
		}
		if len(stack) == 0 || stack[len(stack)-1].name != name {
			t.Fatalf("</%s> closes %v", name, stack)
		}
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if name == "tr" && top.class != "" && top.class != "titre" {
			rows++
			if !slices.Contains(widths, top.cells) {
				t.Errorf("row %s has %d cells, want one of %v", top.class, top.cells, widths)
			}
		}
	}
	if len(stack) != 0 {
		t.Errorf("unclosed elements %v", stack)
	}
	if rows == 0 {
		t.Error("no data rows")
	}
}

func TestHTMLPage(t *testing.T) {
	s := testSnapshot()
	page := renderHTML(t, s, HTMLOptions{URI: "/stats", Refresh: 10 * time.Second, Node: "edge-1"})
	for _, want := range []string{
		"<title>Statistics Report for Gatehouse on edge-1</title>",
		"<h1>Gatehouse version 0.1.0, released 2024/04/30</h1>",
		"Statistics Report for pid 4242 on edge-1",
		"&gt; General process information",
		"<b>uptime = </b> 0d 1h00m00s",
		`<meta http-equiv="refresh" content="10">`,
		`<th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th><th colspan=2>Bytes</th><th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th>`,
		"<th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th>",
		`<a href="/stats;norefresh">Disable refresh</a>`,
		`<a href="/stats;up">Hide 'DOWN' servers</a>`,
		`<a href="/stats;csv">CSV export</a>`,
		`<a href="/stats;json">JSON export</a>`,
		`<tr class="frontend">`, `<tr class="active_up">`, `<tr class="active_down">`, `<tr class="backend">`,
		`<td class="ac">OPEN</td><td colspan="8"></td>`,
		`30m UP`, `10m DOWN`, `1h UP`,
		`L7OK/200 in 3ms<div class=tips>Layer7 check passed: OK</div>`,
		`<td><span class="rls">90</span>000</td>`,
		`>tls&lt;in&gt;</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "tls<in>") {
		t.Error("proxy name not escaped")
	}
	if strings.Contains(page, "<form") {
		t.Error("admin form without admin")
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, "<link") || strings.Contains(page, "<script src") {
		t.Error("page references external assets")
	}
	checkWellFormed(t, page, 31+gatehouseCols)
}

func TestHTMLOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    HTMLOptions
		want    []string
		notWant []string
	}{
		{"hide-version", HTMLOptions{HideVersion: true},
			[]string{"<h1>Gatehouse</h1>"}, []string{"0.1.0", "http-equiv=\"refresh\"", "Disable refresh"}},
		{"norefresh", HTMLOptions{Refresh: 5 * time.Second, NoRefresh: true},
			[]string{`<a href="/haproxy?stats">Enable refresh</a>`}, []string{"http-equiv=\"refresh\""}},
		{"up", HTMLOptions{URI: "/s", Filter: Filter{HideDown: true}},
			[]string{`<a href="/s">Show all servers</a>`, "gw1"}, []string{"gw2", `<tr class="active_down">`}},
		{"status done", HTMLOptions{Status: "DONE"},
			[]string{`<div class=active_up><a class=lfsb href="/haproxy?stats" title="Remove this message">[X]</a> Action processed successfully.</div>`}, nil},
		{"status deny", HTMLOptions{Status: "DENY"}, []string{"<b>Action denied.</b>"}, nil},
		{"scope", HTMLOptions{Filter: Filter{Scope: "tls"}}, []string{"tls&lt;in&gt;"}, []string{`href="#web"`}},
		{"extra column", HTMLOptions{ExtraColumns: []HTMLColumn{
			{Group: "Latency", Title: "p50", Cell: func(_ *Proxy, r *Row) template.HTML { return template.HTML("p50-" + r.Kind.String()) }},
			{Group: "Latency", Title: "p99", Cell: func(*Proxy, *Row) template.HTML { return "" }},
		}}, []string{"<th colspan=2>Latency</th>", "<th>p50</th><th>p99</th>", "<td>p50-Server</td>"}, nil},
		{"plain haproxy", HTMLOptions{PlainHAProxy: true}, []string{`<th colspan=9>Server</th></tr>`}, []string{"Req rate", "Latency p50"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := renderHTML(t, testSnapshot(), tt.opts)
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(page, w) {
					t.Errorf("page has %q", w)
				}
			}
			width := 31 + len(tt.opts.ExtraColumns)
			if !tt.opts.PlainHAProxy {
				width += gatehouseCols
			}
			checkWellFormed(t, page, width)
		})
	}
}

func TestHTMLAdminForm(t *testing.T) {
	s := testSnapshot()
	s.Proxies[0].Servers[0].Name = `gw"1`
	page := renderHTML(t, s, HTMLOptions{URI: "/st", Admin: true})
	for _, want := range []string{
		`<form method="post" action="/st">`,
		`<input type="checkbox" name="s" value="gw&#34;1">`,
		`<input type="checkbox" name="s" value="gw2">`,
		`<option value="ready">Set state to READY</option><option value="drain">Set state to DRAIN</option><option value="maint">Set state to MAINT</option>`,
		`<input type="hidden" name="b" value="#2">`,
		`<input type="submit" value="Apply"></form>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(page, "<form"); n != 1 {
		t.Errorf("%d forms, want 1 (frontend-only proxy gets none)", n)
	}
	checkWellFormed(t, page, 32+gatehouseCols, 31+gatehouseCols) // checkbox column only in the proxy with a form
}

func TestServerRowClass(t *testing.T) {
	tests := []struct {
		st     ServerState
		backup bool
		want   string
	}{
		{SrvUp, false, "active_up"},
		{SrvUp, true, "backup_up"},
		{SrvUpGoingDown, false, "active_going_down"},
		{SrvDownGoingUp, true, "backup_going_up"},
		{SrvDown, false, "active_down"},
		{SrvNoLB, false, "active_nolb"},
		{SrvDrain, true, "backup_draining"},
		{SrvMaint, false, "maintain"},
		{SrvNoCheck, false, "active_no_check"},
	}
	for _, tt := range tests {
		if got := rowClass(&Row{Kind: KindServer, State: tt.st, Backup: tt.backup}); got != tt.want {
			t.Errorf("state %d backup %v: %q, want %q", tt.st, tt.backup, got, tt.want)
		}
	}
}

func TestHumanTimeAndU2H(t *testing.T) {
	for sec, want := range map[int64]string{0: "0s", 59: "59s", 60: "1m", 61: "1m1s", 1800: "30m", 3600: "1h", 3661: "1h1m", 86400: "1d", 90000: "1d1h", 86401: "1d"} {
		if got := humanTime(sec); got != want {
			t.Errorf("humanTime(%d) = %q, want %q", sec, got, want)
		}
	}
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: `<span class="rls">1</span>000`, 1234567: `<span class="rls">1</span><span class="rls">234</span>567`} {
		if got := string(u2h(n)); got != want {
			t.Errorf("u2h(%d) = %q, want %q", n, got, want)
		}
	}
}
