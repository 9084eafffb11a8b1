package stick

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
)

// Header writes the "show table" line of the table, as HAProxy's
// table_dump_head_to_buffer: "# table: NAME, type: T, size:N, used:M".
func (t *Table) Header(w *bufio.Writer) {
	fmt.Fprintf(w, "# table: %s, type: %s, size:%d, used:%d\n", t.cfg.Name, t.cfg.Type, t.cfg.Size, t.Len())
}

// Dump writes one line per live entry as HAProxy's "show table NAME":
// "0xID: key=K use=U exp=MS data=V ..." (data in HAProxy's type order,
// rates with their period in ms), entries in key order. only, when not
// empty, selects one key in its text form.
func (t *Table) Dump(w *bufio.Writer, only string) {
	now := t.now()
	t.mu.Lock()
	t.purgeExpired(now, len(t.m))
	es := make([]*Entry, 0, len(t.m))
	for _, e := range t.m {
		if only == "" || t.KeyText(e.key) == only {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].key < es[j].key })
	type line struct {
		e    *Entry
		key  string
		ref  int32
		exp  int64
		vals []uint64
		skey string
	}
	lines := make([]line, len(es))
	for i, e := range es {
		vals := make([]uint64, numData)
		for d := DataType(0); d < numData; d++ {
			if t.off[d] >= 0 {
				vals[d] = t.readLocked(e, d, now)
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
			if t.off[d] < 0 {
				continue
			}
			w.WriteString(" " + d.String())
			if d == ServerKey {
				// A dictionary entry: the server's name or address, '-' for none.
				if l.skey == "" {
					l.skey = "-"
				}
				w.WriteString("=" + l.skey)
				continue
			}
			if d.IsRate() {
				w.WriteString("(" + strconv.FormatInt(t.period[d], 10) + ")")
			}
			w.WriteString("=" + strconv.FormatUint(l.vals[d], 10))
		}
		w.WriteByte('\n')
	}
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

// Set creates or updates the entry of key, setting counters and tags (not
// rates), as "set table NAME key K data.X V" does; the entry's idle expiry
// starts again.
func (t *Table) Set(key string, vals map[DataType]uint64) error {
	for d := range vals {
		if t.off[d] < 0 {
			return fmt.Errorf("Data type not stored in this table\n")
		}
		if d.IsRate() {
			return fmt.Errorf("Gatehouse does not set rate data types ('%s')\n", d)
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
		e.data[t.off[d]] = v
	}
	t.touch(e, now)
	return nil
}
