package stick

// Updates of general purpose counters and tags, shared by the tracking
// counters (Tracker) and the fetches that name a key (src_inc_gpc*,
// src_clr_gpc*, sc_inc_gpc* with a table argument).

// counterRef is a counter and its rate companion, each an element of a
// stored type (either may be absent).
type counterRef struct {
	c      DataType
	ci     int
	r      DataType
	ri     int
	legacy bool
}

// gpcRef resolves gpc counter idx: the array element idx (array), or
// gpc0/gpc1 with their rates, each falling back to the arrays' element
// when the table does not store it, as HAProxy's gpc0/gpc1 actions do.
func gpcRef(t *Table, idx int, array bool) counterRef {
	if array {
		return counterRef{c: GPC, ci: idx, r: GPCRate, ri: idx}
	}
	cnt, rate := GPC0, GPC0Rate
	if idx == 1 {
		cnt, rate = GPC1, GPC1Rate
	}
	c, ci := t.find(cnt, 0)
	r, ri := t.find(rate, 0)
	return counterRef{c: c, ci: ci, r: r, ri: ri, legacy: true}
}

// addEntry adds v to r's counter and rate in e, refreshes e and returns
// the counter's new value (0 when only the rate is stored); false when
// the table stores neither.
func (t *Table) addEntry(e *Entry, r counterRef, v uint64) (uint64, bool) {
	oc := t.word(r.c, r.ci)
	if oc < 0 && t.word(r.r, r.ri) < 0 {
		return 0, false
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addEntryLocked(e, r, oc, v, now), true
}

func (t *Table) addEntryLocked(e *Entry, r counterRef, oc int, v uint64, now int64) uint64 {
	if v != 0 {
		t.addLocked(e, r.c, r.ci, r.r, r.ri, v, now)
	}
	t.touch(e, now)
	if oc < 0 {
		return 0
	}
	return e.data[oc]
}

// swapEntry stores v (cut to 32 bits) at element idx of d in e, refreshes
// e and returns the previous value.
func (t *Table) swapEntry(e *Entry, d DataType, idx int, v uint64) (uint64, bool) {
	o := t.word(d, idx)
	if o < 0 {
		return 0, false
	}
	now := t.now()
	t.mu.Lock()
	old := e.data[o]
	t.setAt(e, d, o, v, now)
	t.touch(e, now)
	t.mu.Unlock()
	return old, true
}

// IncGPCKey increments gpc counter idx of key's entry (gpc0/gpc1 unless
// array, as gpcRef) and returns its new value. create makes a missing
// entry first (src_inc_gpc*); else a missing key gives false.
func (t *Table) IncGPCKey(key string, idx int, array, create bool) (uint64, bool) {
	r := gpcRef(t, idx, array)
	oc := t.word(r.c, r.ci)
	if oc < 0 && t.word(r.r, r.ri) < 0 {
		return 0, false
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, _ := t.getLocked(key, create, now)
	if e == nil {
		return 0, false
	}
	return t.addEntryLocked(e, r, oc, 1, now), true
}

// ClearGPCKey sets gpc counter idx of key's entry to 0 and returns its
// previous value; create as IncGPCKey (a new entry gives 0).
func (t *Table) ClearGPCKey(key string, idx int, array, create bool) (uint64, bool) {
	r := gpcRef(t, idx, array)
	o := t.word(r.c, r.ci)
	if o < 0 {
		return 0, false
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, _ := t.getLocked(key, create, now)
	if e == nil {
		return 0, false
	}
	old := e.data[o]
	e.data[o] = 0
	t.touch(e, now)
	return old, true
}

// SCOp is one of the sc-* rule actions on a tracked entry's general
// purpose counters and tags.
type SCOp uint8

const (
	SCIncGPC0 SCOp = iota // sc-inc-gpc0(<sc>)
	SCIncGPC1             // sc-inc-gpc1(<sc>)
	SCSetGPT0             // sc-set-gpt0(<sc>) <value>
	SCIncGPC              // sc-inc-gpc(<idx>,<sc>)
	SCSetGPT              // sc-set-gpt(<idx>,<sc>) <value>
	SCAddGPC              // sc-add-gpc(<idx>,<sc>) <value>
)

var scOpNames = [...]string{"sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt0", "sc-inc-gpc", "sc-set-gpt", "sc-add-gpc"}

// ParseSCOp reads an sc-* action's name without its parenthesised ids.
func ParseSCOp(name string) (SCOp, bool) {
	for i, n := range scOpNames {
		if n == name {
			return SCOp(i), true
		}
	}
	return 0, false
}

func (op SCOp) String() string { return scOpNames[op] }

// TakesValue reports whether the action sets or adds a value.
func (op SCOp) TakesValue() bool { return op == SCSetGPT0 || op == SCSetGPT || op == SCAddGPC }

// Indexed reports whether the action names an array element.
func (op SCOp) Indexed() bool { return op >= SCIncGPC }

// Apply runs op on the entry counter n tracks (nothing when it tracks
// none or the table stores nothing op changes): idx is the array element,
// v the value of the actions taking one.
func (k *Tracker) Apply(op SCOp, n, idx int, v uint64) {
	switch op {
	case SCIncGPC0:
		k.IncGPC(n, 0)
	case SCIncGPC1:
		k.IncGPC(n, 1)
	case SCSetGPT0:
		k.SetGPT0(n, v)
	case SCIncGPC:
		k.IncGPCAt(n, idx)
	case SCSetGPT:
		k.SetGPTAt(n, idx, v)
	case SCAddGPC:
		k.AddGPCAt(n, idx, v)
	}
}
