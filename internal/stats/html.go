package stats

import (
	"embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

//go:embed page.html.tmpl stats.css
var assets embed.FS // read-only embedded files, not mutable state

// HTMLOptions are the page settings (configuration and URI options).
type HTMLOptions struct {
	URI         string        // the stats uri, base of every link; "/haproxy?stats" when empty
	Refresh     time.Duration // "stats refresh"; 0: none
	NoRefresh   bool          // ";norefresh"
	HideVersion bool          // "stats hide-version"
	Filter      Filter        // ";up", ";scope="
	Admin       bool          // render the admin forms ("stats admin" granted)
	Status      string        // ";st=" result code to report (DONE, NONE, PART, ERRP, EXCD, DENY, IVE, ...)

	// ExtraColumns are appended after HAProxy's "Server" group, for values
	// HAProxy does not have (latency percentiles, sparklines, ...).
	ExtraColumns []HTMLColumn
}

// HTMLColumn is an extra column of the stats page. Consecutive columns with
// the same Group share one group header.
type HTMLColumn struct {
	Group string
	Title string
	// Cell returns the cell content for a row (already safe HTML; escape any
	// text with html.EscapeString). It is called for every row kind.
	Cell func(px *Proxy, r *Row) template.HTML
}

// AdminActions are the actions of the admin form, in HAProxy's order.
func AdminActions() []struct{ Value, Label string } {
	return []struct{ Value, Label string }{
		{"ready", "Set state to READY"},
		{"drain", "Set state to DRAIN"},
		{"maint", "Set state to MAINT"},
		{"dhlth", "Health: disable checks"},
		{"ehlth", "Health: enable checks"},
		{"hrunn", "Health: force UP"},
		{"hnolb", "Health: force NOLB"},
		{"hdown", "Health: force DOWN"},
		{"dagent", "Agent: disable checks"},
		{"eagent", "Agent: enable checks"},
		{"arunn", "Agent: force UP"},
		{"adown", "Agent: force DOWN"},
		{"shutdown", "Kill Sessions"},
	}
}

type htmlCell struct {
	HTML   template.HTML
	Center bool
	Span   int
}

type htmlRow struct {
	Class    string
	Check    string // server name for the admin checkbox
	FormCell bool   // an empty cell under the checkbox column
	Cells    []htmlCell
}

type htmlProxy struct {
	Name, Desc string
	ID         int
	Form       bool
	Rows       []htmlRow
}

type htmlGroup struct {
	Name string
	Span int
}

type htmlLinks struct{ Up, Refresh, Now, CSV, JSON, Schema, Post string }

type htmlMessage struct {
	Class string
	Text  template.HTML
	Close string
}

type htmlPage struct {
	CSS                        template.CSS
	Product, Version, Released string
	HideVersion                bool
	Node                       string
	Pid, ProcessNum, Nbthread  int
	Uptime, MemMax, UlimitN    string
	MaxSock, MaxConn           string
	CurrConns                  int
	ConnRate                   uint64
	BitRate                    string
	RunQueue, Tasks            int
	Idle                       string
	Refresh                    int
	HideDown, NoRefresh        bool
	Links                      htmlLinks
	Message                    *htmlMessage
	Proxies                    []htmlProxy
	ExtraGroups                []htmlGroup
	ExtraTitles                []string
	Actions                    []struct{ Value, Label string }
}

// WriteHTML writes the stats page: HAProxy's layout, self-contained (inline
// CSS, no external assets).
func WriteHTML(w io.Writer, snap *Snapshot, opts HTMLOptions) error {
	css, err := assets.ReadFile("stats.css")
	if err != nil {
		return err
	}
	tmpl, err := template.ParseFS(assets, "page.html.tmpl")
	if err != nil {
		return err
	}
	return tmpl.Execute(w, buildPage(snap, &opts, template.CSS(css)))
}

func orDash(n int) string {
	if n <= 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func buildPage(snap *Snapshot, o *HTMLOptions, css template.CSS) *htmlPage {
	in := &snap.Info
	p := &htmlPage{
		CSS:         css,
		Product:     cmpOr(in.Product, "Gatehouse"),
		Version:     in.Version,
		Released:    in.ReleaseDate,
		HideVersion: o.HideVersion,
		Node:        in.Node,
		Pid:         in.Pid,
		ProcessNum:  int(processNum(snap).U),
		Nbthread:    max(in.Nbthread, 1),
		MemMax:      "unlimited",
		UlimitN:     orDash(in.UlimitN),
		MaxSock:     orDash(in.MaxSock),
		MaxConn:     orDash(in.MaxConn),
		CurrConns:   in.CurrConns,
		ConnRate:    in.ConnRate,
		BitRate:     fmt.Sprintf("%.3f kbps", float64(in.BitRate)/1000),
		RunQueue:    in.RunQueue,
		Tasks:       in.Tasks,
		Idle:        "-",
		HideDown:    o.Filter.HideDown,
		NoRefresh:   o.NoRefresh,
		Actions:     AdminActions(),
	}
	if in.MemMax > 0 {
		p.MemMax = strconv.FormatUint(in.MemMax>>20, 10) + " MB"
	}
	if in.IdlePct >= 0 {
		p.Idle = strconv.Itoa(in.IdlePct)
	}
	up := time.Duration(0)
	if !in.Start.IsZero() {
		up = snap.Now.Sub(in.Start)
	}
	s := int64(max(up, 0) / time.Second)
	p.Uptime = fmt.Sprintf("%dd %dh%02dm%02ds", s/86400, s%86400/3600, s%3600/60, s%60)
	if o.Refresh > 0 && !o.NoRefresh {
		p.Refresh = max(int(o.Refresh/time.Second), 1)
	}
	p.Links = links(o)
	p.Message = message(o)
	for _, c := range o.ExtraColumns {
		if n := len(p.ExtraGroups); n > 0 && p.ExtraGroups[n-1].Name == c.Group {
			p.ExtraGroups[n-1].Span++
		} else {
			p.ExtraGroups = append(p.ExtraGroups, htmlGroup{Name: c.Group, Span: 1})
		}
		p.ExtraTitles = append(p.ExtraTitles, c.Title)
	}
	t := newTable(snap)
	for _, px := range snap.Proxies {
		if !o.Filter.proxy(px) {
			continue
		}
		hp := htmlProxy{Name: px.Name, Desc: px.Desc, ID: px.ID,
			Form: o.Admin && px.Backend != nil && len(px.Servers) > 0}
		for _, r := range o.Filter.rows(px) {
			hr := htmlRow{Class: rowClass(r), Cells: rowCells(t, px, r)}
			if hp.Form {
				if r.Kind == KindServer {
					hr.Check = r.Name
				} else {
					hr.FormCell = true
				}
			}
			for _, c := range o.ExtraColumns {
				hr.Cells = append(hr.Cells, htmlCell{HTML: c.Cell(px, r)})
			}
			hp.Rows = append(hp.Rows, hr)
		}
		p.Proxies = append(p.Proxies, hp)
	}
	return p
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// links builds the "Display option" links, keeping the options in effect.
func links(o *HTMLOptions) htmlLinks {
	base := cmpOr(o.URI, "/haproxy?stats")
	keep := func(up, norefresh bool) string {
		s := base
		if up {
			s += ";up"
		}
		if norefresh {
			s += ";norefresh"
		}
		if o.Filter.Scope != "" {
			s += ";scope=" + o.Filter.Scope
		}
		return s
	}
	l := htmlLinks{
		Up:     keep(!o.Filter.HideDown, o.NoRefresh),
		Now:    keep(o.Filter.HideDown, o.NoRefresh),
		CSV:    base + ";csv",
		JSON:   base + ";json",
		Schema: base + ";json-schema",
		Post:   keep(o.Filter.HideDown, o.NoRefresh),
	}
	if o.Refresh > 0 {
		l.Refresh = keep(o.Filter.HideDown, !o.NoRefresh)
	}
	return l
}

// statusMessages are the admin action results HAProxy reports with ";st=".
func message(o *HTMLOptions) *htmlMessage {
	if o.Status == "" {
		return nil
	}
	m := &htmlMessage{Close: links(o).Now}
	switch o.Status {
	case "DONE":
		m.Class, m.Text = "active_up", "Action processed successfully."
	case "NONE":
		m.Class, m.Text = "active_going_down", "Nothing has changed."
	case "PART":
		m.Class, m.Text = "active_going_down", "Action partially processed.<br>Some server names are probably unknown or ambiguous (duplicated names in the backend)."
	case "ERRP":
		m.Class, m.Text = "active_down", "Action not processed because of invalid parameters.<ul><li>The action is maybe unknown.</li><li>Invalid key parameter (empty or too long).</li><li>The backend name is probably unknown or ambiguous (duplicated names).</li><li>Some server names are probably unknown or ambiguous (duplicated names in the backend).</li></ul>"
	case "EXCD":
		m.Class, m.Text = "active_down", "<b>Action not processed : the buffer couldn't store all the data.<br>You should retry with less servers at a time.</b>"
	case "DENY":
		m.Class, m.Text = "active_down", "<b>Action denied.</b>"
	case "IVE":
		m.Class, m.Text = "active_down", "<b>Invalid requests (unsupported method or chunked encoded request).</b>"
	default:
		m.Class, m.Text = "active_going_down", "Unexpected result."
	}
	return m
}

// rowClass is the row's CSS class: its kind, or for servers its state.
func rowClass(r *Row) string {
	switch r.Kind {
	case KindFrontend:
		return "frontend"
	case KindBackend:
		return "backend"
	case KindListener:
		return "socket"
	}
	if r.State == SrvMaint {
		return "maintain"
	}
	prefix := "active_"
	if r.Backup {
		prefix = "backup_"
	}
	return prefix + [...]string{
		SrvUp: "up", SrvUpGoingDown: "going_down", SrvDown: "down", SrvDownGoingUp: "going_up",
		SrvNoLB: "nolb", SrvNoLBGoingDown: "going_down", SrvDrain: "draining",
		SrvDrainGoingDown: "going_down", SrvNoCheck: "no_check",
	}[r.State]
}

// humanTime prints seconds as HAProxy's page does: at most two units, "0s" for none.
func humanTime(sec int64) string {
	if sec <= 0 {
		return "0s"
	}
	units := []struct {
		n int64
		u string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}}
	var b strings.Builder
	shown := 0
	for _, u := range units {
		if shown == 2 {
			break
		}
		if v := sec / u.n; v > 0 {
			b.WriteString(strconv.FormatInt(v, 10) + u.u)
			sec -= v * u.n
			shown++
		} else if shown > 0 {
			shown++ // keep the two units adjacent: "1d" not "1d5s"
		}
	}
	return b.String()
}

// u2h prints a number with its thousands grouped, as HAProxy's U2H does with
// letter-spaced spans.
func u2h(n uint64) template.HTML {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return template.HTML(s)
	}
	var b strings.Builder
	first := len(s) % 3
	if first == 0 {
		first = 3
	}
	b.WriteString(`<span class="rls">` + s[:first] + `</span>`)
	for i := first; i < len(s)-3; i += 3 {
		b.WriteString(`<span class="rls">` + s[i:i+3] + `</span>`)
	}
	b.WriteString(s[len(s)-3:])
	return template.HTML(b.String())
}

func num(v Value) template.HTML {
	switch v.Type {
	case TEmpty:
		return ""
	case TU32, TU64:
		return u2h(v.U)
	}
	return template.HTML(html.EscapeString(v.String()))
}

func ac(h template.HTML) htmlCell { return htmlCell{HTML: h, Center: true, Span: 1} }
func td(h template.HTML) htmlCell { return htmlCell{HTML: h, Span: 1} }
func span(n int) htmlCell         { return htmlCell{Span: n} }
func esc(s string) template.HTML  { return template.HTML(html.EscapeString(s)) }
func under(h template.HTML, tip string) template.HTML {
	return "<u>" + h + template.HTML("<div class=tips>"+tip+"</div></u>")
}

// rowCells builds a row's cells: the name, then HAProxy's 29 grouped columns.
func rowCells(t *table, px *Proxy, r *Row) []htmlCell {
	snap := t.snap
	v := func(name string) Value { return t.value(name, r) }
	n := func(name string) htmlCell { return td(num(v(name))) }
	cells := make([]htmlCell, 0, 32)

	// name
	anchor := html.EscapeString(px.Name) + "/"
	label := ""
	switch r.Kind {
	case KindFrontend:
		anchor, label = anchor+"Frontend", "Frontend"
	case KindBackend:
		anchor, label = anchor+"Backend", "Backend"
	default:
		anchor, label = anchor+html.EscapeString(r.Name), html.EscapeString(r.Name)
	}
	name := template.HTML(`<a name="` + anchor + `"></a><a class=lfsb href="#` + anchor + `">` + label + `</a>`)
	if snap.Legends && r.Addr != "" {
		name = under(name, html.EscapeString(r.Addr))
	}
	cells = append(cells, ac(name))

	// Queue Cur/Max/Limit
	if r.Kind == KindFrontend || r.Kind == KindListener {
		cells = append(cells, span(3))
	} else {
		q := n("qlimit")
		if r.Kind == KindServer && q.HTML == "" {
			q = td("-")
		}
		cells = append(cells, n("qcur"), n("qmax"), q)
	}
	// Session rate Cur/Max/Limit
	if r.Kind == KindListener {
		cells = append(cells, span(3))
	} else {
		lim := td("")
		if r.Kind == KindFrontend && r.RateLim > 0 {
			lim = n("rate_lim")
		}
		cells = append(cells, n("rate"), n("rate_max"), lim)
	}
	// Sessions Cur/Max/Limit/Total/LbTot/Last
	slim := n("slim")
	if slim.HTML == "" {
		slim = td("-")
	}
	cells = append(cells, n("scur"), n("smax"), slim, td(totalTip(r)))
	if r.Kind == KindBackend || r.Kind == KindServer {
		last := "never"
		if ls := v("lastsess"); ls.I >= 0 {
			last = humanTime(ls.I)
		}
		cells = append(cells, n("lbtot"), td(esc(last)))
	} else {
		cells = append(cells, td(""), td(""))
	}
	// Bytes In/Out
	cells = append(cells, n("bin"), n("bout"))
	// Denied Req/Resp
	cells = append(cells, n("dreq"), n("dresp"))
	// Errors Req/Conn/Resp
	cells = append(cells, n("ereq"), n("econ"), n("eresp"))
	// Warnings Retr/Redis
	cells = append(cells, n("wretr"), n("wredis"))
	// Server: Status LastChk Wght Act Bck Chk Dwn Dwntme Thrtle
	status := esc(r.StatusText())
	switch r.Kind {
	case KindFrontend, KindListener:
		return append(cells, ac(status), span(8))
	case KindBackend:
		cells = append(cells,
			ac(esc(humanTime(int64(v("lastchg").U)))+" "+status), ac(""),
			ac(esc(fmt.Sprintf("%d/%d", r.Weight, r.UWeight))), ac(esc(itoa(r.Act))), ac(esc(itoa(r.Bck))),
			ac(""), td(num(v("chkdown"))))
		dt := template.HTML("")
		if d := v("downtime"); !d.IsEmpty() {
			dt = esc(humanTime(int64(d.U)))
		}
		return append(cells, td(dt), ac(""))
	}
	// server
	if r.Checked {
		status = esc(humanTime(int64(v("lastchg").U))+" ") + status
	}
	yes := func(b bool) template.HTML {
		if b {
			return "Y"
		}
		return "-"
	}
	cells = append(cells, ac(status), ac(lastChkCell(r)),
		ac(esc(fmt.Sprintf("%d/%d", r.Weight, r.UWeight))), ac(yes(!r.Backup)), ac(yes(r.Backup)))
	if r.Checked {
		cells = append(cells,
			td(under(u2h(r.ChkFail), "Failed Health Checks")),
			td(u2h(r.ChkDown)),
			td(esc(humanTime(int64(r.Downtime/time.Second)))))
	} else {
		c := ac("")
		c.Span = 3
		cells = append(cells, c)
	}
	thr := template.HTML("-")
	if r.Throttle > 0 {
		thr = esc(itoa(r.Throttle) + " %")
	}
	return append(cells, ac(thr))
}

// lastChkCell is "L7OK/200 in 3ms" with the check description as tooltip.
func lastChkCell(r *Row) template.HTML {
	if !r.Checked || r.CheckStatus == "" {
		return ""
	}
	s := r.CheckStatus
	if r.CheckRunning {
		s = "* " + s
	}
	if r.CheckCode > 0 {
		s += "/" + itoa(r.CheckCode)
	}
	if checkDone(r) {
		s += " in " + strconv.FormatInt(int64(r.CheckDuration/time.Millisecond), 10) + "ms"
	}
	tip := r.CheckDescText()
	if r.LastChk != "" {
		tip += ": " + r.LastChk
	}
	return under(esc(s), html.EscapeString(tip))
}

// totalTip is the Sessions/Total cell with HAProxy's details tooltip.
func totalTip(r *Row) template.HTML {
	tot := u2h(r.C.TotSess)
	if r.Kind == KindListener {
		return tot
	}
	var b strings.Builder
	row := func(k string, n uint64) {
		b.WriteString("<tr><th>" + k + "</th><td>" + string(u2h(n)) + "</td></tr>")
	}
	b.WriteString("<table class=det>")
	if r.Kind == KindFrontend {
		row("Cum. connections:", r.C.ConnTot)
	}
	row("Cum. sessions:", r.C.TotSess)
	if r.Mode == "http" {
		row("Cum. HTTP requests:", r.C.ReqTot)
		for i, k := range []string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
			row("- HTTP "+k+" responses:", r.C.HRsp[i])
		}
		row("- other responses:", r.C.HRsp[5])
		if r.Kind == KindFrontend {
			row("Intercepted requests:", r.C.Intercept)
		}
	}
	if r.Kind == KindServer || r.Kind == KindBackend {
		row("New connections:", r.C.Connect)
		row("Reused connections:", r.C.Reuse)
	}
	if r.Kind == KindServer || r.Kind == KindBackend {
		b.WriteString("<tr><th>Queue time:</th><td>" + itoa(int(r.QTime)) + "ms</td></tr>")
		b.WriteString("<tr><th>Connect time:</th><td>" + itoa(int(r.CTime)) + "ms</td></tr>")
		if r.Mode == "http" {
			b.WriteString("<tr><th>Response time:</th><td>" + itoa(int(r.RTime)) + "ms</td></tr>")
		}
		b.WriteString("<tr><th>Total time:</th><td>" + itoa(int(r.TTime)) + "ms</td></tr>")
	}
	b.WriteString("</table>")
	return under(tot, b.String())
}

// table evaluates columns by name: the page reads the same table as CSV and
// JSON, so their numbers always agree.
type table struct {
	cols []Column
	idx  map[string]int
	snap *Snapshot
}

func newTable(snap *Snapshot) *table {
	t := &table{cols: Columns(), idx: map[string]int{}, snap: snap}
	for i := range t.cols {
		t.idx[t.cols[i].Name] = i
	}
	return t
}

func (t *table) value(name string, r *Row) Value {
	i, ok := t.idx[name]
	if !ok {
		return Empty()
	}
	return t.cols[i].ValueOf(r, t.snap)
}
