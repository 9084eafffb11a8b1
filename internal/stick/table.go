// Package stick holds HAProxy's stick tables: entries keyed by a typed key
// (ip, ipv6, integer, string, binary) carrying counters, rates and tags,
// bounded by a size with least-recently-used eviction and expiring when
// idle. The data path reaches it through Tracker (one per stream); the
// runtime API and fetches read the same tables.
package stick

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
)

// KeyType is a table's key type.
type KeyType uint8

const (
	KeyIP KeyType = iota
	KeyIPv6
	KeyInteger
	KeyString
	KeyBinary
)

var keyNames = [...]string{"ip", "ipv6", "integer", "string", "binary"}

func (k KeyType) String() string { return keyNames[k] }

// ParseKeyType reads a "type" word of a stick-table line.
func ParseKeyType(s string) (KeyType, bool) {
	for i, n := range keyNames {
		if n == s {
			return KeyType(i), true
		}
	}
	return 0, false
}

// Config describes a table as the stick-table line gives it.
type Config struct {
	Name    string
	Type    KeyType
	KeyLen  int // string and binary keys; HAProxy's default is 32
	Size    int
	Expire  time.Duration // 0: never
	NoPurge bool
	Store   []Store
	SrvKey  SrvKey // what server_key holds (server.go)
}

// Table is one stick table. Its methods are safe for concurrent use.
type Table struct {
	cfg    Config
	off    [numData]int16 // word offset of each stored type in Entry.data, -1 when absent (data.go)
	count  [numData]uint8 // elements of each stored type: 1, or the size of an array
	period [numData]int64 // ms, rates only
	words  int
	now    func() int64 // ms, monotonic
	// mono: now is monoMS, so a stream's own clock reading may stand
	// for it (Tracker.Clock).
	mono bool

	mu   sync.Mutex
	m    map[string]*Entry
	head Entry // sentinel of the LRU list: head.next most recent
	// onChange is told the key of each entry a local event changed
	// (peers push those entries), data false when only its expiry and
	// local-only conn_cur did; nil without peers. peer.go.
	onChange func(key string, data bool)
	// skeys are the server keys entries name (server.go), skeyIdx
	// their 1-based index.
	skeys   []string
	skeyIdx map[string]uint64
}

// Entry is a table entry. Its data is read and written under the table's lock.
type Entry struct {
	key        string
	exp        int64 // ms; 0 when the table does not expire
	ref        int32 // trackers holding it: never evicted meanwhile
	prev, next *Entry
	data       []uint64
}

// ErrFull is returned when a nopurge table is full.
var ErrFull = errors.New("stick table full")

// monoMS is the table clock: clock.Mono in ms, from 1.
func monoMS() int64 { return msOf(clock.Mono()) }

func msOf(mono int64) int64 { return mono/int64(time.Millisecond) + 1 }

// New builds a table; now may be nil (the monotonic clock in ms).
func New(cfg Config, now func() int64) (*Table, error) {
	if cfg.Size <= 0 {
		return nil, fmt.Errorf("stick table '%s': size must be positive", cfg.Name)
	}
	mono := now == nil
	if mono {
		now = monoMS
	}
	t := &Table{cfg: cfg, now: now, mono: mono, m: make(map[string]*Entry)}
	if err := t.layout(cfg); err != nil {
		return nil, err
	}
	t.head.next, t.head.prev = &t.head, &t.head
	return t, nil
}

// Name returns the table's name.
func (t *Table) Name() string { return t.cfg.Name }

// Config returns the table's configuration.
func (t *Table) Config() Config { return t.cfg }

func (t *Table) unlink(e *Entry) { e.prev.next, e.next.prev = e.next, e.prev }

func (t *Table) front(e *Entry) {
	e.next, e.prev = t.head.next, &t.head
	t.head.next.prev = e
	t.head.next = e
}

// touch refreshes e's expiry and makes it the most recently used entry.
func (t *Table) touch(e *Entry, now int64) { t.touchAs(e, now, true) }

// touchAs is touch; data tells the change hook whether shared data
// changed (false: only the expiry and conn_cur, as at a stream's end).
func (t *Table) touchAs(e *Entry, now int64, data bool) {
	if t.cfg.Expire > 0 {
		e.exp = now + int64(t.cfg.Expire/time.Millisecond)
	}
	if t.onChange != nil {
		t.onChange(e.key, data)
	}
	if t.head.next != e {
		t.unlink(e)
		t.front(e)
	}
}

func (t *Table) expired(e *Entry, now int64) bool {
	return e.ref == 0 && t.cfg.Expire > 0 && now-e.exp >= 0
}

// remove drops e; its nil links tell a tracker releasing it that it is gone.
func (t *Table) remove(e *Entry) {
	t.unlink(e)
	e.prev, e.next = nil, nil
	delete(t.m, e.key)
}

// purgeExpired drops expired entries from the least recently used end.
// Entries are touched with the same expire, so the list is ordered by
// expiry apart from referenced ones, which are skipped.
func (t *Table) purgeExpired(now int64, max int) {
	for e := t.head.prev; e != &t.head && max > 0; {
		p := e.prev
		if t.cfg.Expire > 0 && now-e.exp < 0 && e.ref == 0 {
			return
		}
		if t.expired(e, now) {
			t.remove(e)
			max--
		}
		e = p
	}
}

// evictLRU removes the least recently used unreferenced entry.
func (t *Table) evictLRU() bool {
	for e := t.head.prev; e != &t.head; e = e.prev {
		if e.ref == 0 {
			t.remove(e)
			return true
		}
	}
	return false
}

// getLocked returns the live entry for key, creating it when create is set.
func (t *Table) getLocked(key string, create bool, now int64) (*Entry, error) {
	if e := t.m[key]; e != nil {
		if !t.expired(e, now) {
			return e, nil
		}
		t.remove(e)
	}
	if !create {
		return nil, nil
	}
	if len(t.m) >= t.cfg.Size {
		t.purgeExpired(now, 16)
	}
	if len(t.m) >= t.cfg.Size && (t.cfg.NoPurge || !t.evictLRU()) {
		return nil, ErrFull
	}
	// The key may alias a request buffer: the entry keeps its own copy.
	key = strings.Clone(key)
	e := &Entry{key: key, data: make([]uint64, t.words)}
	t.m[key] = e
	t.front(e)
	t.touch(e, now)
	return e, nil
}

// Lookup returns the value of d for key, and whether an entry exists and
// the table has d (src_* fetches; gpc0, gpc1, their rates and gpt0 fall
// back to the arrays as Has says).
func (t *Table) Lookup(key string, d DataType) (v uint64, found bool) {
	return t.LookupAt(key, d, 0)
}

// LookupAt is Lookup of element idx of an array type.
func (t *Table) LookupAt(key string, d DataType, idx int) (v uint64, found bool) {
	d, idx = t.find(d, idx)
	o := t.word(d, idx)
	if o < 0 {
		return 0, false
	}
	now := t.now()
	t.mu.Lock()
	e, _ := t.getLocked(key, false, now)
	if e != nil {
		v = t.readAt(e, d, o, now)
	}
	t.mu.Unlock()
	return v, e != nil
}

// Len returns the number of entries (expired ones not yet purged included).
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// Clear removes every unreferenced entry, as "clear table" does.
func (t *Table) Clear() {
	t.mu.Lock()
	for e := t.head.prev; e != &t.head; {
		p := e.prev
		if e.ref == 0 {
			t.remove(e)
		}
		e = p
	}
	t.mu.Unlock()
}
