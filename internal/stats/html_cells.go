package stats

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"
	"time"
)

// The cells of HAProxy's columns on the stats page.

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
	cells = append(cells, n("bin"), bytesOutCell(r, n("bout")))
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
	if r.State == SrvMaint && r.Resolution {
		// HAProxy's cell for a server DNS gives no address.
		c := ac("resolution")
		c.Span = 3
		cells = append(cells, c)
	} else if r.Checked {
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
			if k == "2xx" && (r.Kind == KindFrontend || r.Kind == KindBackend) {
				// HAProxy's share of the 2xx that its compression filter compressed.
				pct := uint64(0)
				if r.C.HRsp[1] > 0 {
					pct = 100 * r.C.CompRsp / r.C.HRsp[1]
				}
				b.WriteString("<tr><th>&nbsp;&nbsp;Compressed 2xx:</th><td>" + string(u2h(r.C.CompRsp)) + "</td><td>(" + strconv.FormatUint(pct, 10) + "%)</td></tr>")
			}
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

// bytesOutCell is the Bytes/Out cell: with HAProxy's compression tooltip
// on a frontend or backend that compressed something, underlined as
// HAProxy underlines it (comp_in or comp_byp non-zero).
func bytesOutCell(r *Row, plain htmlCell) htmlCell {
	c := &r.C
	if r.Kind != KindFrontend && r.Kind != KindBackend || c.CompIn == 0 && c.CompByp == 0 {
		return plain
	}
	pct := func(a, b uint64) string {
		if b == 0 {
			return "0"
		}
		return strconv.FormatUint(a*100/b, 10)
	}
	saved := c.CompIn - min(c.CompOut, c.CompIn)
	var b strings.Builder
	b.WriteString("<table class=det>")
	b.WriteString("<tr><th>Response bytes in:</th><td>" + string(u2h(c.BytesOut)) + "</td></tr>")
	b.WriteString("<tr><th>Compression in:</th><td>" + string(u2h(c.CompIn)) + "</td></tr>")
	b.WriteString("<tr><th>Compression out:</th><td>" + string(u2h(c.CompOut)) + "</td><td>(" + pct(c.CompOut, c.CompIn) + "%)</td></tr>")
	b.WriteString("<tr><th>Compression bypass:</th><td>" + string(u2h(c.CompByp)) + "</td></tr>")
	b.WriteString("<tr><th>Total bytes saved:</th><td>" + string(u2h(saved)) + "</td><td>(" + pct(saved, c.BytesOut) + "%)</td></tr>")
	b.WriteString("</table>")
	return td(under(u2h(c.BytesOut), b.String()))
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
