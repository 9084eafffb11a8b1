package stats

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
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
	Node        string        // "stats show-node": shown in the titles; "": none
	Desc        string        // "stats show-desc": shown after the node name; "": none
	ShowModules bool          // "stats show-modules": the stats modules' fields after HAProxy's "Server" group
	Filter      Filter        // ";up", ";scope="
	Admin       bool          // render the admin forms ("stats admin" granted)
	Status      string        // ";st=" result code to report (DONE, NONE, PART, ERRP, EXCD, DENY, IVE, ...)

	// ExtraColumns are appended after HAProxy's "Server" group, for values
	// HAProxy does not have, after Gatehouse's own (GatehouseColumns).
	ExtraColumns []HTMLColumn
	// PlainHAProxy leaves out GatehouseColumns: only HAProxy's columns,
	// then ExtraColumns.
	PlainHAProxy bool
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
	Node, Desc                 string
	Pid, ProcessNum, Nbthread  int
	Uptime, MemMax, UlimitN    string
	MaxSock, MaxConn           string
	MaxPipes                   int
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
	Identity                   *htmlIdentity
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
		Node:        o.Node,
		Desc:        o.Desc,
		Pid:         in.Pid,
		ProcessNum:  int(processNum(snap).U),
		Nbthread:    max(in.Nbthread, 1),
		MemMax:      "unlimited",
		UlimitN:     orDash(in.UlimitN),
		MaxSock:     orDash(in.MaxSock),
		MaxPipes:    max(in.MaxPipes, 0),
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
	extra := o.ExtraColumns
	if !o.PlainHAProxy {
		extra = append(GatehouseColumns(), extra...)
	}
	if o.ShowModules {
		// Right after "Server", where HAProxy puts them.
		extra = append(moduleHTMLColumns(snap), extra...)
	}
	for _, c := range extra {
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
			for _, c := range extra {
				hr.Cells = append(hr.Cells, htmlCell{HTML: c.Cell(px, r)})
			}
			hp.Rows = append(hp.Rows, hr)
		}
		p.Proxies = append(p.Proxies, hp)
	}
	p.Identity = buildIdentity(snap)
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
		SrvDrainGoingDown: "going_down", SrvNoCheck: "no_check", SrvDownAgent: "down", SrvDrainAgent: "draining",
	}[r.State]
}
