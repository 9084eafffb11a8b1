package stick

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Header writes the "show table" line of the table, as HAProxy's
// table_dump_head_to_buffer: "# table: NAME, type: T, size:N, used:M".
func (t *Table) Header(w *bufio.Writer) {
	fmt.Fprintf(w, "# table: %s, type: %s, size:%d, used:%d\n", t.cfg.Name, t.cfg.Type, t.cfg.Size, t.Len())
}

// Filter is one "data.<type> <op> <value>" condition of show table and
// clear table: the entry's value of Type (element 0 of an array, as
// HAProxy reads it) compared with Value.
type Filter struct {
	Type  DataType
	Op    string // eq, ne, le, ge, lt, gt
	Value int64
}

// FilterOps are the operators a Filter takes.
var FilterOps = []string{"eq", "ne", "le", "ge", "lt", "gt"}

// matchLocked reports whether e passes every filter.
func (t *Table) matchLocked(e *Entry, fs []Filter, now int64) bool {
	for _, f := range fs {
		o := t.word(f.Type, 0)
		if o < 0 {
			return false
		}
		v := int64(t.readAt(e, f.Type, o, now))
		var ok bool
		switch f.Op {
		case "eq":
			ok = v == f.Value
		case "ne":
			ok = v != f.Value
		case "le":
			ok = v <= f.Value
		case "ge":
			ok = v >= f.Value
		case "lt":
			ok = v < f.Value
		case "gt":
			ok = v > f.Value
		}
		if !ok {
			return false
		}
	}
	return true
}

// Dump writes one line per live entry as HAProxy's "show table NAME":
// "0xID: key=K use=U exp=MS data=V ..." (data in HAProxy's type order,
// rates with their period in ms, arrays one element each as gpc0=, gpc1=,
// gpc0_rate(P)=), entries in key order. only, when not empty, selects one
// key in its text form; filters select entries by their data.
func (t *Table) Dump(w *bufio.Writer, only string, filters ...Filter) {
	now := t.now()
	t.mu.Lock()
	t.purgeExpired(now, len(t.m))
	es := make([]*Entry, 0, len(t.m))
	for _, e := range t.m {
		if (only == "" || t.KeyText(e.key) == only) && t.matchLocked(e, filters, now) {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].key < es[j].key })
	type line struct {
		e    *Entry
		key  string
		ref  int32
		exp  int64
		vals []uint64 // one per word; a rate's value in its first word
		skey string
	}
	lines := make([]line, len(es))
	for i, e := range es {
		vals := make([]uint64, t.words)
		for d := DataType(0); d < numData; d++ {
			for j := 0; j < t.ArrayLen(d); j++ {
				o := t.word(d, j)
				vals[o] = t.readAt(e, d, o, now)
			}
		}
		lines[i] = line{e, e.key, e.ref, e.exp, vals, t.srvKeyLocked(e)}
	}
	t.mu.Unlock()
	for _, l := range lines {
		exp := int64(0)
		if t.cfg.Expire > 0 {
			exp = max(l.exp-now, 0)
		}
		fmt.Fprintf(w, "%p: key=%s use=%d exp=%d", l.e, t.KeyText(l.key), l.ref, exp)
		for d := DataType(0); d < numData; d++ {
			if d == ServerKey && t.Stores(d) {
				// A dictionary entry: the server's name or address, '-' for none.
				if l.skey == "" {
					l.skey = "-"
				}
				w.WriteString(" " + d.String() + "=" + l.skey)
				continue
			}
			for j := 0; j < t.ArrayLen(d); j++ {
				w.WriteByte(' ')
				w.WriteString(t.dataLabel(d, j))
				w.WriteString("=" + strconv.FormatUint(l.vals[t.word(d, j)], 10))
			}
		}
		w.WriteByte('\n')
	}
}

// dataLabel is the name show table gives element idx of d: the name, for
// an array the index after its first word (gpc3, gpc3_rate), and a rate's
// period in ms in parentheses.
func (t *Table) dataLabel(d DataType, idx int) string {
	name := d.String()
	if d.IsArray() {
		pfx, sfx, _ := strings.Cut(name, "_")
		if sfx != "" {
			sfx = "_" + sfx
		}
		name = pfx + strconv.Itoa(idx) + sfx
	}
	if d.IsRate() {
		name += "(" + strconv.FormatInt(t.period[d], 10) + ")"
	}
	return name
}

// KeyText is a key as "show table" prints it.
func (t *Table) KeyText(k string) string {
	switch t.cfg.Type {
	case KeyIP:
		var b [4]byte
		copy(b[:], k)
		return netip.AddrFrom4(b).String()
	case KeyIPv6:
		var b [16]byte
		copy(b[:], k)
		return netip.AddrFrom16(b).String()
	case KeyInteger:
		return strconv.FormatUint(uint64(binary.BigEndian.Uint32([]byte(k))), 10)
	case KeyBinary:
		return hex.EncodeToString([]byte(k))
	}
	return k
}

// ClearKey removes the entry of key (in its text form) unless it is
// tracked; it reports whether an entry was removed.
func (t *Table) ClearKey(text string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.m {
		if t.KeyText(k) == text && e.ref == 0 {
			t.remove(e)
			return true
		}
	}
	return false
}

// ParseKeyText reads a key in the form "show table" prints it.
func (t *Table) ParseKeyText(s string) (string, bool) {
	switch t.cfg.Type {
	case KeyIP, KeyIPv6:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", false
		}
		return t.KeyIPAddr(a)
	case KeyInteger:
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return "", false
		}
		return t.KeyInt(int64(v)), true
	case KeyBinary:
		b, err := hex.DecodeString(s)
		if err != nil {
			return "", false
		}
		return t.KeyString(string(b)), true
	}
	return t.KeyString(s), true
}

// Set creates or updates the entry of key as "set table NAME key K
// data.X V" does: counters and tags take V (cut to 32 bits but for the
// 64-bit byte counters), a rate restarts its period with V counted, an
// array's first element is set (HAProxy names no other). The entry's idle
// expiry starts again.
func (t *Table) Set(key string, vals map[DataType]uint64) error {
	for d := range vals {
		if !t.Stores(d) {
			return fmt.Errorf("Data type not stored in this table\n")
		}
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, err := t.getLocked(key, true, now)
	if err != nil {
		return fmt.Errorf("Unable to allocate a new entry\n")
	}
	for d, v := range vals {
		if d == ServerKey {
			continue // a dictionary entry, never an integer: HAProxy sets nothing
		}
		t.setAt(e, d, t.word(d, 0), v, now)
	}
	t.touch(e, now)
	return nil
}

// ClearMatching removes every unreferenced entry passing the filters, as
// "clear table NAME data.X op V" does.
func (t *Table) ClearMatching(filters []Filter) {
	now := t.now()
	t.mu.Lock()
	for e := t.head.prev; e != &t.head; {
		p := e.prev
		if e.ref == 0 && t.matchLocked(e, filters, now) {
			t.remove(e)
		}
		e = p
	}
	t.mu.Unlock()
}
