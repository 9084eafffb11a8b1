// Package maps holds HAProxy's pattern references: the map files of the map
// converters and the pattern files of ACLs (-f), shared by every user of the
// same file name in one configuration (HAProxy's pat_ref), and changed at run
// time by rules (set-map, add-acl, ...) and the runtime API without a reload.
//
// A Ref keeps the entries in file order; each way of matching them (map_dom,
// an ACL with -i, ...) is an Index that the Ref keeps up to date on every
// change. Lookups take the Ref's read lock for the duration of one lookup
// only; writers take the write lock for one incremental change, never for a
// rebuild, so a large map never stalls the request path.
//
// A reload builds a new Registry and reads the files again: entries added
// or removed at run time are lost, as in HAProxy.
package maps

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Entry is one pattern (and its value, in a map).
type Entry struct {
	id         uint64
	line       int // line in the file, 0 when added at run time
	Key        string
	Value      string
	prev, next *Entry // file order
}

// ID identifies the entry within its Ref (shown as "0x..." by show map and
// accepted as "#0x..." by del/set).
func (e *Entry) ID() uint64 { return e.id }

// Index is one way of matching a Ref's entries. Insert, Remove and Clear
// are called with the Ref's write lock held; entries come in id order except
// when a value changes (Remove then Insert of the same entry).
type Index interface {
	// Check reports whether the entry can be indexed (a valid regex, an
	// integer value for an _int map, ...), without changing anything.
	Check(key, value string) error
	Insert(e *Entry)
	Remove(e *Entry)
	Clear()
}

// Ref is one pattern file.
type Ref struct {
	File     string
	uniqueID int
	twoCol   bool // loaded as a map (key and value)
	asMap    bool // used by a map converter
	asACL    bool // used by an ACL
	display  string

	mu sync.RWMutex
	// The entries in order, and by key and id, so that a change by key
	// (set-map on every request, say) costs the same in a large file.
	head, tail *Entry
	n          int
	byKey      map[string][]*Entry // in order
	byID       map[uint64]*Entry
	nextID     uint64
	indexes    map[string]Index
	order      []string // index keys in creation order
}

// RLock and RUnlock bracket one lookup in an Index of the Ref.
func (r *Ref) RLock()   { r.mu.RLock() }
func (r *Ref) RUnlock() { r.mu.RUnlock() }

// UniqueID is HAProxy's reference id, in creation order.
func (r *Ref) UniqueID() int { return r.uniqueID }

// IsMap and IsACL tell which runtime API commands list the Ref.
func (r *Ref) IsMap() bool { r.mu.RLock(); defer r.mu.RUnlock(); return r.asMap }
func (r *Ref) IsACL() bool { r.mu.RLock(); defer r.mu.RUnlock(); return r.asACL }

// TwoColumns reports whether entries have values.
func (r *Ref) TwoColumns() bool { return r.twoCol }

// Display is HAProxy's description of where the file is used.
func (r *Ref) Display() string { return r.display }

// Index returns the Ref's index named key, creating it with mk and filling
// it with the current entries. Users matching the same way share one index.
// An entry the new index rejects is an error naming its line.
func (r *Ref) Index(key string, mk func() Index) (Index, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ix, ok := r.indexes[key]; ok {
		return ix, nil
	}
	ix := mk()
	for e := r.head; e != nil; e = e.next {
		if err := ix.Check(e.Key, e.Value); err != nil {
			if e.line > 0 {
				return nil, fmt.Errorf("%v at line %d of file '%s'", err, e.line, r.File)
			}
			return nil, err
		}
		ix.Insert(e)
	}
	if r.indexes == nil {
		r.indexes = make(map[string]Index)
	}
	r.indexes[key] = ix
	r.order = append(r.order, key)
	return ix, nil
}

// Indexes returns the Ref's indexes in creation order (for get map/acl).
func (r *Ref) Indexes() []Index {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Index, 0, len(r.order))
	for _, k := range r.order {
		out = append(out, r.indexes[k])
	}
	return out
}

func (r *Ref) check(key, value string) error {
	for _, k := range r.order {
		if err := r.indexes[k].Check(key, value); err != nil {
			return err
		}
	}
	return nil
}

func (r *Ref) appendLocked(key, value string, line int) *Entry {
	r.nextID++
	e := &Entry{id: r.nextID, line: line, Key: key, Value: value, prev: r.tail}
	if r.tail != nil {
		r.tail.next = e
	} else {
		r.head = e
	}
	r.tail = e
	r.n++
	if r.byKey == nil {
		r.byKey, r.byID = make(map[string][]*Entry), make(map[uint64]*Entry)
	}
	r.byKey[key] = append(r.byKey[key], e)
	r.byID[e.id] = e
	for _, k := range r.order {
		r.indexes[k].Insert(e)
	}
	return e
}

// Add appends an entry (add map/acl, set-map of a new key).
func (r *Ref) Add(key, value string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(key, value); err != nil {
		return err
	}
	r.appendLocked(key, value, 0)
	return nil
}

// AddMissing appends key unless an entry has it (http-request add-acl).
func (r *Ref) AddMissing(key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.byKey[key]) > 0 {
		return nil
	}
	if err := r.check(key, ""); err != nil {
		return err
	}
	r.appendLocked(key, "", 0)
	return nil
}

func (r *Ref) setLocked(e *Entry, value string) {
	for _, k := range r.order {
		r.indexes[k].Remove(e)
	}
	e.Value = value
	for _, k := range r.order {
		r.indexes[k].Insert(e)
	}
}

// SetFirst sets the value of the first entry with key, or appends one
// (http-request set-map).
func (r *Ref) SetFirst(key, value string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(key, value); err != nil {
		return err
	}
	if es := r.byKey[key]; len(es) > 0 {
		r.setLocked(es[0], value)
		return nil
	}
	r.appendLocked(key, value, 0)
	return nil
}

// unlinkLocked removes e from the order and the maps, and from the indexes.
func (r *Ref) unlinkLocked(e *Entry) {
	for _, k := range r.order {
		r.indexes[k].Remove(e)
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		r.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		r.tail = e.prev
	}
	e.prev, e.next = nil, nil
	r.n--
	es := r.byKey[e.Key]
	for i, x := range es {
		if x == e {
			es = append(es[:i:i], es[i+1:]...)
			break
		}
	}
	if len(es) == 0 {
		delete(r.byKey, e.Key)
	} else {
		r.byKey[e.Key] = es
	}
	delete(r.byID, e.id)
}

// matching returns the entries with key, or the one with id when byID.
func (r *Ref) matching(key string, id uint64, byID bool) []*Entry {
	if byID {
		if e := r.byID[id]; e != nil {
			return []*Entry{e}
		}
		return nil
	}
	return append([]*Entry(nil), r.byKey[key]...)
}

// ErrNotFound is returned by Set and Delete when no entry matches.
var ErrNotFound = errors.New("entry not found")

// Set sets the value of every entry with key, or of the entry with id when
// byID (set map).
func (r *Ref) Set(key string, id uint64, byID bool, value string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	es := r.matching(key, id, byID)
	if len(es) == 0 {
		return ErrNotFound
	}
	if err := r.check(es[0].Key, value); err != nil {
		return err
	}
	for _, e := range es {
		r.setLocked(e, value)
	}
	return nil
}

// Delete removes every entry with key, or the entry with id when byID.
func (r *Ref) Delete(key string, id uint64, byID bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	es := r.matching(key, id, byID)
	if len(es) == 0 {
		return ErrNotFound
	}
	for _, e := range es {
		r.unlinkLocked(e)
	}
	return nil
}

// Clear removes every entry.
func (r *Ref) Clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.head, r.tail, r.n, r.byKey, r.byID = nil, nil, 0, nil, nil
	for _, k := range r.order {
		r.indexes[k].Clear()
	}
}

// EntryView is a copy of an entry for listings.
type EntryView struct {
	ID         uint64
	Key, Value string
}

// Entries returns a copy of the entries in order.
func (r *Ref) Entries() []EntryView {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]EntryView, 0, r.n)
	for e := r.head; e != nil; e = e.next {
		out = append(out, EntryView{e.id, e.Key, e.Value})
	}
	return out
}

// Count is HAProxy's entry_cnt: each entry counts once per index.
func (r *Ref) Count() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.n * len(r.order)
}

// Len returns the number of entries.
func (r *Ref) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.n
}

// Registry holds the pattern files of one configuration, by file name.
type Registry struct {
	mu     sync.RWMutex
	refs   []*Ref
	nextID int // HAProxy numbers every pattern reference: files and ACL expressions
	// tables are the stick tables of the configuration, by name, when
	// known: the one compile-time context every expression of a
	// configuration shares is this registry, so the table converters
	// (in_table, table_*) check the table they name here.
	tables map[string]bool
}

// SetTables records the configuration's stick-table names.
func (g *Registry) SetTables(names []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tables = map[string]bool{}
	for _, n := range names {
		g.tables[n] = true
	}
}

// HasTable reports whether name is a stick table of the configuration;
// known is false when the names were never given (an expression compiled
// alone), and then nothing can be checked.
func (g *Registry) HasTable(name string) (has, known bool) {
	if g == nil {
		return false, false
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.tables == nil {
		return false, false
	}
	return g.tables[name], true
}

// ReserveID takes the next reference id for an ACL expression's own
// patterns, which Gatehouse does not list, so that files keep the ids
// HAProxy gives them (show map|acl, "#<id>").
func (g *Registry) ReserveID() {
	g.mu.Lock()
	g.nextID++
	g.mu.Unlock()
}

// VirtualPrefix names a map or ACL pattern list that has no file: it starts
// empty and is filled at run time (runtime API, set-map, the ACME client).
const VirtualPrefix = "virt@"

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Load returns the Ref of file, reading it the first time: as a map (key,
// spaces, value) when twoCol, else one pattern per line. user is "map" or
// "acl"; cfgFile and line say where it is used (show map/acl). A file read
// one way cannot be used the other way, as in HAProxy.
func (g *Registry) Load(file string, twoCol bool, user, cfgFile string, line int) (*Ref, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.refs {
		if r.File != file {
			continue
		}
		if twoCol && !r.twoCol {
			return nil, fmt.Errorf("The file \"%s\" is already used as one column file and cannot be used by as two column file.", file)
		}
		if !twoCol && r.twoCol {
			return nil, fmt.Errorf("The file \"%s\" is already used as two column file and cannot be used by as one column file.", file)
		}
		r.display += fmt.Sprintf(", by %s at file '%s' line %d", user, cfgFile, line)
		r.mark(user)
		return r, nil
	}
	r := &Ref{File: file, uniqueID: g.nextID, twoCol: twoCol,
		display: fmt.Sprintf("pattern loaded from file '%s' used by %s at file '%s' line %d", file, user, cfgFile, line)}
	r.mark(user)
	if strings.HasPrefix(file, VirtualPrefix) {
		// HAProxy 3.0's virtual maps: no file, filled at run time.
		r.display = fmt.Sprintf("virtual pattern used by %s at file '%s' line %d", user, cfgFile, line)
	} else if err := r.read(); err != nil {
		return nil, err
	}
	g.refs = append(g.refs, r)
	g.nextID++
	return r, nil
}

func (r *Ref) mark(user string) {
	if user == "map" {
		r.asMap = true
	} else {
		r.asACL = true
	}
}

// read loads the file as HAProxy's pat_ref_read_from_file(_smp) does: a
// line starting with '#' is a comment, leading blanks are skipped, blank
// lines ignored. One column: the rest of the line is the pattern (trailing
// blanks included). Two columns: the key ends at the first blank, the value
// is the rest of the line without its surrounding blanks.
func (r *Ref) read() error {
	f, err := os.Open(r.File)
	if err != nil {
		return fmt.Errorf("failed to open pattern file <%s>", r.File)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexAny(line, "\r\n"); i >= 0 {
			line = line[:i]
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimLeft(line, " \t")
		if line == "" {
			continue
		}
		if !r.twoCol {
			r.appendLocked(line, "", n)
			continue
		}
		key, value := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			key, value = line[:i], strings.Trim(line[i:], " \t")
		}
		r.appendLocked(key, value, n)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("error encountered while reading <%s> : %v", r.File, err)
	}
	return nil
}

// Lookup finds a Ref by file name, or by unique id written "#<id>".
func (g *Registry) Lookup(name string) *Ref {
	if g == nil {
		return nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	for _, r := range g.refs {
		if r.File == name || strings.HasPrefix(name, "#") && name[1:] == fmt.Sprint(r.uniqueID) {
			return r
		}
	}
	return nil
}

// Refs returns the Refs in creation order.
func (g *Registry) Refs() []*Ref {
	if g == nil {
		return nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return append([]*Ref(nil), g.refs...)
}

// Probe is the answer of one Index to "get map|acl" (HAProxy's
// cli_io_handler_map_lookup).
type Probe struct {
	Method string // str, beg, dom, ip, ...
	ICase  bool
	Found  bool
	Tree   bool   // found through a tree (exact, prefix and address indexes)
	Key    string // the matching entry's key
	Value  string
	Type   string // the value's type: str, sint, ipv4, ipv6
	HasVal bool
}

// Prober is implemented by indexes that answer get map|acl.
type Prober interface {
	Probe(input string) Probe
}

// MarkACL lists the Ref under show acl (an ACL loading it with -M, which
// HAProxy lists under both).
func (r *Ref) MarkACL() {
	r.mu.Lock()
	r.asACL = true
	r.mu.Unlock()
}
