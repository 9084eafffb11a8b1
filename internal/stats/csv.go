package stats

import (
	"bufio"
	"io"
	"strings"
)

// csvQuote quotes a CSV cell the way HAProxy's csv_enc does: only when it
// contains a comma, a double quote, a CR or a LF; inner quotes are doubled.
func csvQuote(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// WriteCSV writes snap as HAProxy's "show stat" / ";csv": a header line
// "# pxname,svname,...," then one line per row, every field followed by a
// comma. As in HAProxy, a "-" column (header "-", value "-" on every row)
// separates the fixed fields from the stats modules' fields.
func WriteCSV(w io.Writer, snap *Snapshot) error {
	return writeCSV(w, snap, Columns(), Filter{})
}

func writeCSV(w io.Writer, snap *Snapshot, cols []Column, f Filter) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("# ")
	for i := range cols {
		if moduleStart(cols, i) {
			bw.WriteString("-,")
		}
		bw.WriteString(cols[i].Name)
		bw.WriteByte(',')
	}
	bw.WriteByte('\n')
	for _, px := range snap.Proxies {
		for _, r := range f.rows(px) {
			for i := range cols {
				if moduleStart(cols, i) {
					bw.WriteString("-,")
				}
				bw.WriteString(csvQuote(cols[i].ValueOf(r, snap).String()))
				bw.WriteByte(',')
			}
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// moduleStart reports whether cols[i] is the first stats-module field, the
// one HAProxy's CSV precedes with its "-" separator column.
func moduleStart(cols []Column, i int) bool {
	return cols[i].Module != "" && (i == 0 || cols[i-1].Module == "")
}

// Filter selects what a dump shows (the ";up" and ";scope=" options).
type Filter struct {
	HideDown bool            // ";up": skip servers that are DOWN or in maintenance
	Scope    string          // ";scope=": only proxies whose name contains it, case aside
	Only     map[string]bool // "stats scope": only these proxies; nil: all
}

func (f Filter) proxy(px *Proxy) bool {
	if f.Only != nil && !f.Only[px.Name] {
		return false
	}
	// HAProxy compares with strnistr: case-insensitive.
	return f.Scope == "" || strings.Contains(strings.ToLower(px.Name), strings.ToLower(f.Scope))
}

func (f Filter) rows(px *Proxy) []*Row {
	if !f.proxy(px) {
		return nil
	}
	rows := px.Rows()
	if !f.HideDown {
		return rows
	}
	out := rows[:0]
	for _, r := range rows {
		if !r.IsDown() {
			out = append(out, r)
		}
	}
	return out
}
