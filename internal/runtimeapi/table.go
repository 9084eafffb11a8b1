package runtimeapi

import (
	"bufio"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// TablesTarget is implemented by a Target whose proxies have stick tables.
type TablesTarget interface {
	// StickTables lists them in configuration order.
	StickTables() []*stick.Table
}

func findTable(ss *session, name string) *stick.Table {
	tt, ok := ss.target.(TablesTarget)
	if !ok {
		return nil
	}
	for _, t := range tt.StickTables() {
		if t.Name() == name {
			return t
		}
	}
	return nil
}

// cmdShowTable is "show table [<name> [key <key>]]": without a name one
// header line per table (the last declared first), with one the header and its entries, as HAProxy.
func cmdShowTable(ss *session, w *bufio.Writer, args []string) {
	if len(args) < 3 {
		if tt, ok := ss.target.(TablesTarget); ok {
			// HAProxy lists them last declared first.
			ts := tt.StickTables()
			for i := len(ts) - 1; i >= 0; i-- {
				ts[i].Header(w)
			}
		}
		return
	}
	t := findTable(ss, args[2])
	if t == nil {
		w.WriteString("No such table\n")
		return
	}
	only := ""
	switch {
	case len(args) == 3:
	case len(args) == 5 && args[3] == "key":
		only = args[4]
	default:
		w.WriteString("Gatehouse supports 'show table <name> [key <key>]' (data filters are not implemented)\n")
		return
	}
	t.Header(w)
	t.Dump(w, only)
}

// cmdClearTable is "clear table <name> [key <key>]": every unreferenced
// entry, or the one of <key>.
func cmdClearTable(ss *session, w *bufio.Writer, args []string) {
	if len(args) < 3 {
		w.WriteString("Missing table name.\n")
		return
	}
	t := findTable(ss, args[2])
	if t == nil {
		w.WriteString("No such table\n")
		return
	}
	switch {
	case len(args) == 3:
		t.Clear()
	case len(args) == 5 && args[3] == "key":
		t.ClearKey(args[4])
	default:
		w.WriteString("Gatehouse supports 'clear table <name> [key <key>]' (data filters are not implemented)\n")
	}
}
