package runtimeapi

import (
	"bufio"
	"strconv"
	"strings"

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
	if only != "" {
		// HAProxy prints nothing at all, not even the header, for a key
		// without an entry.
		k, ok := t.ParseKeyText(only)
		if _, found := t.PeekKey(k); !ok || !found {
			return
		}
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

// cmdSetTable is "set table <name> key <key> [data.<type> <value>]*".
func cmdSetTable(ss *session, w *bufio.Writer, args []string) {
	if len(args) < 3 {
		w.WriteString("Missing table name.\n")
		return
	}
	t := findTable(ss, args[2])
	if t == nil {
		w.WriteString("No such table\n")
		return
	}
	if len(args) < 5 || args[3] != "key" {
		w.WriteString("'set table' expects 'key <key>' and optionally 'data.<type> <value>' pairs.\n")
		return
	}
	key, ok := t.ParseKeyText(args[4])
	if !ok {
		w.WriteString("Invalid key\n")
		return
	}
	// HAProxy makes the entry before reading the data: a bad data
	// argument leaves it created.
	if err := t.Set(key, nil); err != nil {
		w.WriteString(err.Error())
		return
	}
	vals := map[stick.DataType]uint64{}
	rest := args[5:]
	for len(rest) > 0 {
		name, found := strings.CutPrefix(rest[0], "data.")
		d, known := stick.ParseDataType(name)
		if !found || !known {
			w.WriteString("Unknown data type\n")
			return
		}
		if len(rest) < 2 {
			w.WriteString("Require a valid integer value to store\n")
			return
		}
		v, err := strconv.ParseUint(rest[1], 10, 64)
		if err != nil {
			w.WriteString("Require a valid integer value to store\n")
			return
		}
		vals[d] = v
		rest = rest[2:]
	}
	if err := t.Set(key, vals); err != nil {
		w.WriteString(err.Error())
	}
}
