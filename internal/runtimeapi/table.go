package runtimeapi

import (
	"bufio"
	"fmt"
	"slices"
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

// cmdShowTable is "show table [<name> [key <key> | data.<type> <op> <value>...]]": without a name one
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
	only, filters, ok := tableSelection(w, t, args)
	if !ok {
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
	t.Dump(w, only, filters...)
}

// tableSelection reads the optional part of show table and clear table:
// "key <key>" or up to four "data.<type> <op> <value>" filters, with
// HAProxy 2.6's messages; false once one is written.
func tableSelection(w *bufio.Writer, t *stick.Table, args []string) (key string, filters []stick.Filter, ok bool) {
	switch {
	case len(args) == 3:
		return "", nil, true
	case args[3] == "key":
		if len(args) < 5 || args[4] == "" {
			w.WriteString("Key value expected\n")
			return "", nil, false
		}
		return args[4], nil, true
	case !strings.HasPrefix(args[3], "data."):
		w.WriteString("Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n")
		return "", nil, false
	}
	const maxFilters = 4 // HAProxy's STKTABLE_FILTER_LEN
	word := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	for i := 0; i < maxFilters; i++ {
		if i > 0 && word(3+3*i) == "" {
			break
		}
		fail := func(msg string) (string, []stick.Filter, bool) {
			fmt.Fprintf(w, "Filter entry #%d: %s\n", i+1, msg)
			return "", nil, false
		}
		// HAProxy skips five characters whatever they are.
		name := word(3 + 3*i)
		if len(name) > 5 {
			name = name[5:]
		} else {
			name = ""
		}
		d, known := stick.ParseDataType(name)
		if !known {
			return fail("Unknown data type")
		}
		if !t.Stores(d) {
			return fail("Data type not stored in this table")
		}
		op := word(4 + 3*i)
		if !slices.Contains(stick.FilterOps, op) {
			return fail("Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"")
		}
		v, err := strconv.ParseInt(word(5+3*i), 10, 64)
		if err != nil {
			return fail("Require a valid integer value to compare against")
		}
		filters = append(filters, stick.Filter{Type: d, Op: op, Value: v})
	}
	if word(3+3*maxFilters) != "" {
		fmt.Fprintf(w, "Detected extra data in filter, %dth word of input, after '%s'\n", 4+3*maxFilters, word(2+3*maxFilters))
		return "", nil, false
	}
	return "", filters, true
}

// cmdClearTable is "clear table <name> [key <key> | data.<type> <op>
// <value>...]": every unreferenced entry, the one of <key>, or those the
// filters select.
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
	key, filters, ok := tableSelection(w, t, args)
	switch {
	case !ok:
	case key != "":
		t.ClearKey(key)
	case len(filters) > 0:
		t.ClearMatching(filters)
	default:
		t.Clear()
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
		// A signed 64-bit integer, kept as the type's width keeps it
		// (-1 in a 32-bit counter is 4294967295), as HAProxy.
		v, err := strconv.ParseInt(rest[1], 10, 64)
		if err != nil {
			w.WriteString("Require a valid integer value to store\n")
			return
		}
		vals[d] = uint64(v)
		rest = rest[2:]
	}
	if err := t.Set(key, vals); err != nil {
		w.WriteString(err.Error())
	}
}
