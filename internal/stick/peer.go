package stick

import (
	"fmt"
	"time"
)

// What HAProxy's peers protocol needs of a table: a hook told of local
// changes, the live keys, and an entry's data read and written in the
// protocol's terms. Each stored data type is a list of words: one for a
// counter or tag; three for a rate: the milliseconds since its current
// period started, the current period's count and the previous one's (a
// freq_ctr's curr_tick, curr_ctr, prev_ctr, with the tick made relative
// because the two processes' clocks differ).

// SetOnChange installs f, called with the key of every entry a local
// event creates or changes (tracking, counters, tags, "set table"),
// never for WritePeer; data is false when only the entry's expiry and
// conn_cur changed (a stream's end), which peers never store. f runs
// with the table locked: it must not call the table.
func (t *Table) SetOnChange(f func(key string, data bool)) {
	t.mu.Lock()
	t.onChange = f
	t.mu.Unlock()
}

// Words returns how many words d takes in ReadPeer and WritePeer: 0 when
// the table does not store it; an array's elements follow each other
// (data.go).
func (t *Table) Words(d DataType) int {
	return t.ArrayLen(d) * d.width()
}

// Period returns a rate's period (0 for other types or when not stored).
func (t *Table) Period(d DataType) time.Duration {
	return time.Duration(t.period[d]) * time.Millisecond
}

// Keys returns the keys of the live entries, least recently used first.
func (t *Table) Keys() []string {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.m))
	for e := t.head.prev; e != &t.head; e = e.prev {
		if !t.expired(e, now) {
			out = append(out, e.key)
		}
	}
	return out
}

// ReadPeer calls f with each stored data type of key's entry, in type
// order, and returns the milliseconds before the entry expires (0 in a
// table without expire); ok is false when the key is absent. f runs with
// the table locked and must not keep w.
func (t *Table) ReadPeer(key string, f func(d DataType, w []uint64)) (expireIn int64, ok bool) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, _ := t.getLocked(key, false, now)
	if e == nil {
		return 0, false
	}
	var buf [3 * MaxArray]uint64
	for d := DataType(0); d < numData; d++ {
		n := t.ArrayLen(d)
		if n == 0 {
			continue
		}
		o, w := int(t.off[d]), d.width()
		out := buf[:n*w]
		copy(out, e.data[o:o+n*w])
		if d.IsRate() {
			for j := 0; j < n; j++ {
				r := out[j*3 : j*3+3]
				if r[0] != 0 || r[1] != 0 || r[2] != 0 {
					r[0] = uint64(now - int64(r[0]))
				}
			}
		}
		f(d, out)
	}
	if t.cfg.Expire > 0 {
		expireIn = max(e.exp-now, 0)
	}
	return expireIn, true
}

// PeerValue is one data type of an update a peer sent, in ReadPeer's
// words.
type PeerValue struct {
	Type  DataType
	Words []uint64
}

// WritePeer stores what a peer sent for key: the entry is made if absent
// (evicting the least recently used one if the table is full, as a local
// entry would), the types this table stores take the values, and the
// entry expires in expireIn ms (tables with expire only). It does not
// call the change hook: updates learned from a peer are not pushed on.
func (t *Table) WritePeer(key string, expireIn int64, vals []PeerValue) error {
	_, err := t.WritePeerUnless(key, expireIn, vals, nil)
	return err
}

// WritePeerUnless is WritePeer, except that nothing is stored when the
// entry is live and pending(key) is true: the sender's update crossed a
// local change it has not seen, which would be rolled back and then
// pushed with the sender's older values, lost on both sides. pending
// runs with the table locked (no local change slips in between), as the
// change hook does; stored reports whether the update was written.
func (t *Table) WritePeerUnless(key string, expireIn int64, vals []PeerValue, pending func(key string) bool) (stored bool, err error) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if pending != nil {
		if e, _ := t.getLocked(key, false, now); e != nil && pending(key) {
			return false, nil
		}
	}
	hook := t.onChange
	t.onChange = nil
	e, err := t.getLocked(key, true, now)
	t.onChange = hook
	if err != nil {
		return false, err
	}
	for _, v := range vals {
		n := t.ArrayLen(v.Type)
		if n == 0 {
			continue
		}
		o, w := int(t.off[v.Type]), v.Type.width()
		if len(v.Words) != n*w {
			return false, fmt.Errorf("stick table '%s': %s takes %d words, got %d", t.cfg.Name, v.Type, n*w, len(v.Words))
		}
		copy(e.data[o:o+n*w], v.Words)
		if v.Type.IsRate() {
			for j := 0; j < n; j++ {
				r := e.data[o+j*3 : o+j*3+3]
				r[0] = 0
				if r[1] != 0 || r[2] != 0 {
					r[0] = uint64(now - int64(v.Words[j*3]))
				}
			}
		}
	}
	if t.cfg.Expire > 0 {
		e.exp = now + expireIn
	}
	if t.head.next != e {
		t.unlink(e)
		t.front(e)
	}
	return true, nil
}
