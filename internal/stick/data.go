package stick

import (
	"fmt"
	"time"
)

// The data of a table entry, in one place (the runtime API, fetches and a
// future peers protocol read it from here).
//
// An entry's data is a []uint64 holding only the types the table stores,
// each at a word offset fixed when the table is built (Table.off), so an
// entry of a table without arrays is as small as before they existed:
//
//	counter or tag (gpt0, gpc0, gpc1, conn_cnt, conn_cur, sess_cnt,
//	    http_*_cnt, server_id): 1 word, a 32-bit unsigned value in
//	    HAProxy, so writes wrap at 2^32 as there
//	bytes_in_cnt, bytes_out_cnt: 1 word, 64-bit (HAProxy's ull)
//	rate (*_rate(<period>)): 3 words, freq.go: the start of the current
//	    period (ms), its count, the previous period's count
//	array gpt(N), gpc(N): N words, element i at off+i
//	array gpc_rate(N,P): 3N words, element i at off+3i; every element
//	    shares the period P
//
// Types are numbered in HAProxy 2.6's STKTABLE_DT_* order, which is the
// order "show table" prints them in (and the peers protocol's type ids).

// DataType is a stored data type.
type DataType uint8

const (
	ServerID DataType = iota
	GPT0
	GPC0
	GPC0Rate
	ConnCnt
	ConnRate
	ConnCur
	SessCnt
	SessRate
	HTTPReqCnt
	HTTPReqRate
	HTTPErrCnt
	HTTPErrRate
	BytesInCnt
	BytesInRate
	BytesOutCnt
	BytesOutRate
	GPC1
	GPC1Rate
	ServerKey
	HTTPFailCnt
	HTTPFailRate
	GPT     // array of tags: gpt(<nb>)
	GPC     // array of counters: gpc(<nb>)
	GPCRate // array of counter rates: gpc_rate(<nb>,<period>)
	numData
)

// MaxArray is the largest element count of gpt, gpc and gpc_rate
// (HAProxy's limit, so that a peers update fits its buffer).
const MaxArray = 100

var dataNames = [numData]string{"server_id", "gpt0", "gpc0", "gpc0_rate",
	"conn_cnt", "conn_rate", "conn_cur", "sess_cnt", "sess_rate", "http_req_cnt", "http_req_rate",
	"http_err_cnt", "http_err_rate", "bytes_in_cnt", "bytes_in_rate", "bytes_out_cnt", "bytes_out_rate",
	"gpc1", "gpc1_rate", "server_key", "http_fail_cnt", "http_fail_rate", "gpt", "gpc", "gpc_rate"}

func (d DataType) String() string { return dataNames[d] }

// IsRate reports whether the type is a rate over a period.
func (d DataType) IsRate() bool {
	switch d {
	case GPC0Rate, GPC1Rate, ConnRate, SessRate, HTTPReqRate, HTTPErrRate, BytesInRate, BytesOutRate, HTTPFailRate, GPCRate:
		return true
	}
	return false
}

// IsArray reports whether the type is an array of <nb> elements.
func (d DataType) IsArray() bool { return d == GPT || d == GPC || d == GPCRate }

// is64 reports whether the type's value is 64 bits wide in HAProxy; the
// others are 32-bit unsigned and wrap there.
func (d DataType) is64() bool { return d == BytesInCnt || d == BytesOutCnt }

// width is the words one element takes.
func (d DataType) width() int {
	if d.IsRate() {
		return 3
	}
	return 1
}

// ParseDataType reads a data type name without its arguments.
func ParseDataType(s string) (DataType, bool) {
	for i, n := range dataNames {
		if n == s {
			return DataType(i), true
		}
	}
	return 0, false
}

// legacy maps the scalar counters and tag that an array stands for when
// the table stores the array instead: HAProxy's gpc0/gpc1/gpt0 fetches,
// converters and actions use the array's first elements then.
func legacy(d DataType) (DataType, int, bool) {
	switch d {
	case GPC0:
		return GPC, 0, true
	case GPC1:
		return GPC, 1, true
	case GPC0Rate:
		return GPCRate, 0, true
	case GPC1Rate:
		return GPCRate, 1, true
	case GPT0:
		return GPT, 0, true
	}
	return 0, 0, false
}

// Store is one "store" element: a data type, the period of rates and the
// element count of arrays.
type Store struct {
	Type   DataType
	Period time.Duration
	Count  int // gpt, gpc, gpc_rate: 1 to MaxArray
}

// layout places cfg's stored types in an entry's words (see above).
func (t *Table) layout(cfg Config) error {
	for i := range t.off {
		t.off[i] = -1
	}
	for _, s := range cfg.Store {
		d := s.Type
		if d >= numData {
			return fmt.Errorf("stick table '%s': unknown data type %d", cfg.Name, d)
		}
		if t.off[d] >= 0 {
			return fmt.Errorf("stick table '%s': data type '%s' stored twice", cfg.Name, d)
		}
		n := 1
		if d.IsArray() {
			if s.Count < 1 || s.Count > MaxArray {
				return fmt.Errorf("stick table '%s': array size is out of allowed range (1-%d) for '%s'", cfg.Name, MaxArray, d)
			}
			n = s.Count
		}
		if d.IsRate() {
			if s.Period <= 0 {
				return fmt.Errorf("stick table '%s': '%s' needs a period", cfg.Name, d)
			}
			t.period[d] = int64(s.Period / time.Millisecond)
		}
		t.off[d] = int16(t.words)
		t.count[d] = uint8(n)
		t.words += n * d.width()
	}
	// HAProxy 2.6 refuses a table storing an array and the legacy types
	// it overrides.
	for _, c := range [...]struct {
		arr    DataType
		old    [2]DataType
		a, leg string
	}{
		{GPC, [2]DataType{GPC0, GPC1}, "gpc", "gpc[0/1]"},
		{GPCRate, [2]DataType{GPC0Rate, GPC1Rate}, "gpc_rate", "gpc[0/1]_rate"},
		{GPT, [2]DataType{GPT0, GPT0}, "gpt", "gpt0"},
	} {
		if t.off[c.arr] >= 0 && (t.off[c.old[0]] >= 0 || t.off[c.old[1]] >= 0) {
			return fmt.Errorf("stick table '%s': simultaneous usage of '%s' and '%s' in a same table is not permitted as '%s' overrides '%s'", cfg.Name, c.a, c.leg, c.a, c.leg)
		}
	}
	return nil
}

// word returns the offset of element idx of d in an entry's data, or -1
// when the table does not store it.
func (t *Table) word(d DataType, idx int) int {
	if d >= numData || t.off[d] < 0 || idx < 0 || idx >= int(t.count[d]) {
		return -1
	}
	return int(t.off[d]) + idx*d.width()
}

// find resolves d (element idx) as HAProxy's fetches and actions do: a
// legacy gpc0/gpc1/gpt0 type the table does not store reads the array
// that stands for it.
func (t *Table) find(d DataType, idx int) (DataType, int) {
	if t.word(d, idx) < 0 {
		if a, i, ok := legacy(d); ok && idx == 0 {
			return a, i
		}
	}
	return d, idx
}

// Stores reports whether the table stores d itself (the runtime API's
// data.<type>, which does not fall back to arrays).
func (t *Table) Stores(d DataType) bool { return d < numData && t.off[d] >= 0 }

// Has reports whether fetches of d find a value in the table: d itself,
// or for gpc0, gpc1, their rates and gpt0 the array standing for them.
func (t *Table) Has(d DataType) bool { return t.HasAt(d, 0) }

// HasAt reports whether the table stores element idx of d (idx 0 of a
// scalar type is the type itself; legacy types fall back as Has).
func (t *Table) HasAt(d DataType, idx int) bool {
	d, idx = t.find(d, idx)
	return t.word(d, idx) >= 0
}

// ArrayLen returns the elements of d the table stores: 0 when it does not
// store d, 1 for a stored scalar type.
func (t *Table) ArrayLen(d DataType) int {
	if !t.Stores(d) {
		return 0
	}
	return int(t.count[d])
}

// readAt returns the value of type d at word o.
func (t *Table) readAt(e *Entry, d DataType, o int, now int64) uint64 {
	if d.IsRate() {
		return rateRead(e.data[o:o+3], t.period[d], now)
	}
	return e.data[o]
}

// addAt adds n to the word at o of type d, wrapping 32-bit types at 2^32.
func addAt(e *Entry, d DataType, o int, n uint64) {
	v := e.data[o] + n
	if !d.is64() {
		v = uint64(uint32(v))
	}
	e.data[o] = v
}

// setAt sets the word(s) at o of type d: a counter or tag takes v (cut to
// 32 bits but for 64-bit types), a rate restarts its period with v counted
// in it, as HAProxy's "set table" and sc-set-gpt do.
func (t *Table) setAt(e *Entry, d DataType, o int, v uint64, now int64) {
	if d.IsRate() {
		e.data[o], e.data[o+1], e.data[o+2] = uint64(now), uint64(uint32(v)), 0
		return
	}
	if !d.is64() {
		v = uint64(uint32(v))
	}
	e.data[o] = v
}

// addLocked adds n to element ci of a counter and element ri of its rate
// companion, each if stored; it reports whether either is.
func (t *Table) addLocked(e *Entry, cnt DataType, ci int, rate DataType, ri int, n uint64, now int64) bool {
	oc, or := t.word(cnt, ci), t.word(rate, ri)
	if oc >= 0 {
		addAt(e, cnt, oc, n)
	}
	if or >= 0 {
		rateAdd(e.data[or:or+3], t.period[rate], now, n)
	}
	return oc >= 0 || or >= 0
}

// addPair adds n to a scalar counter and its rate, each if stored.
func (t *Table) addPair(e *Entry, cnt, rate DataType, n uint64, now int64) {
	t.addLocked(e, cnt, 0, rate, 0, n, now)
}
