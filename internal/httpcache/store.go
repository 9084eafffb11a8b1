package httpcache

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// BlockSize is the unit HAProxy's shared cache memory is split in.
const BlockSize = 1024

// entryOverhead stands for HAProxy's struct cache_entry, stored in the
// first block of each object.
const entryOverhead = 128

// Settings are a "cache" section.
type Settings struct {
	Name         string
	TotalMax     int64 // bytes
	MaxObject    int64 // bytes
	MaxAge       int   // seconds
	ProcessVary  bool
	MaxSecondary int
}

// Entry is one stored response.
type Entry struct {
	key     Key
	sig     uint32 // Vary signature; 0: none
	sec     SecondaryKey
	Status  int
	Header  httpmsg.Headers // without Age
	Body    []byte
	ETag    string
	LastMod time.Time
	stored  time.Time
	expire  time.Time
	age     int // the server's Age
	blocks  int
	size    int
	seq     uint64 // insertion order, for oldest-first eviction
}

// Age is the Age header of a copy served at now.
func (e *Entry) Age(now time.Time) int {
	return max(0, int(now.Unix()-e.stored.Unix())) + e.age
}

// Cache is one cache section's store. Every method is safe for concurrent
// use; the lock is held only over the index, never while a body is read
// or written.
type Cache struct {
	Settings
	mu       sync.Mutex
	index    map[Key][]*Entry
	order    []*Entry // by insertion; evicted from the front
	free     int      // available blocks
	total    int
	seq      uint64
	now      func() time.Time
	inFlight int // blocks reserved by stores in progress
}

// New makes an empty cache.
func New(s Settings) *Cache {
	total := int(s.TotalMax / BlockSize)
	return &Cache{Settings: s, index: map[Key][]*Entry{}, free: total, total: total, now: time.Now}
}

// Lookup finds a fresh entry for the request with key k and headers h
// (its secondary key when the entry varies).
func (c *Cache) Lookup(k Key, h httpmsg.Headers) *Entry {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.index[k] {
		if !e.expire.After(now) {
			continue
		}
		if e.sig == 0 {
			return e
		}
		if rk, ok := RequestSecondaryKey(h, e.sig); ok && e.sec.matches(rk) {
			return e
		}
	}
	return nil
}

// Invalidate drops the entries of k (a successful unsafe request, RFC
// 7234 4.4).
func (c *Cache) Invalidate(k Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.index[k] {
		c.removeLocked(e)
	}
}

func (c *Cache) removeLocked(e *Entry) {
	list := c.index[e.key]
	for i, o := range list {
		if o == e {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(c.index, e.key)
	} else {
		c.index[e.key] = list
	}
	for i, o := range c.order {
		if o == e {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	c.free += e.blocks
}

// reserveLocked takes n blocks, evicting the oldest entries as needed.
func (c *Cache) reserveLocked(n int) bool {
	now := c.now()
	// Expired entries first, then the oldest.
	for i := 0; i < len(c.order) && c.free < n; {
		if e := c.order[i]; !e.expire.After(now) {
			c.removeLocked(e)
			continue
		}
		i++
	}
	for c.free < n && len(c.order) > 0 {
		c.removeLocked(c.order[0])
	}
	if c.free < n {
		return false
	}
	c.free -= n
	c.inFlight += n
	return true
}

// Store is a response being stored: its head was accepted by cache-store,
// its body is added as it streams (Write), and it enters the index on
// Commit. Past max-object-size, or when the cache cannot make room, it
// gives up: the client still gets the whole response.
type Store struct {
	c      *Cache
	e      *Entry
	blocks int
	failed bool
}

// Begin starts storing a response whose head passed the checks.
func (c *Cache) Begin(k Key, sig uint32, sec SecondaryKey, status int, h httpmsg.Headers, maxAge, age int) *Store {
	now := c.now()
	e := &Entry{key: k, sig: sig, sec: sec, Status: status, stored: now, expire: now.Add(time.Duration(maxAge) * time.Second), age: age}
	e.Header = make(httpmsg.Headers, 0, len(h))
	for _, f := range h {
		if strings.EqualFold(f.Name, "Age") {
			continue
		}
		// The values alias the connection's buffer: copy them.
		f = httpmsg.Header{Name: strings.Clone(f.Name), Value: strings.Clone(f.Value)}
		e.Header = append(e.Header, f)
		e.size += len(f.Name) + len(f.Value) + 4
		switch {
		case strings.EqualFold(f.Name, "ETag") && e.ETag == "":
			e.ETag = f.Value
		}
	}
	e.LastMod = lastModified(h, now)
	s := &Store{c: c, e: e}
	if !s.grow() {
		return nil
	}
	return s
}

// lastModified is get_last_modified_time: Last-Modified, else Date, else
// the time of storage.
func lastModified(h httpmsg.Headers, now time.Time) time.Time {
	for _, name := range [...]string{"Last-Modified", "Date"} {
		if v, ok := h.Get(name); ok {
			if t, err := http.ParseTime(v); err == nil {
				return t
			}
		}
	}
	return now
}

// grow reserves the blocks the entry needs now.
func (s *Store) grow() bool {
	if s.failed {
		return false
	}
	size := s.e.size + len(s.e.Body)
	if int64(size) > s.c.MaxObject {
		s.Abort()
		return false
	}
	need := (size + entryOverhead + BlockSize - 1) / BlockSize
	if need <= s.blocks {
		return true
	}
	c := s.c
	c.mu.Lock()
	ok := c.reserveLocked(need - s.blocks)
	if ok {
		s.blocks = need
	}
	c.mu.Unlock()
	if !ok {
		s.Abort()
	}
	return ok
}

// Write adds body bytes; it never fails the caller's copy.
func (s *Store) Write(p []byte) {
	if s == nil || s.failed {
		return
	}
	s.e.Body = append(s.e.Body, p...)
	s.grow()
}

// Failed reports whether the store gave up.
func (s *Store) Failed() bool { return s == nil || s.failed }

// Abort gives the reserved blocks back.
func (s *Store) Abort() {
	if s == nil || s.failed {
		return
	}
	s.failed = true
	s.e.Body = nil
	c := s.c
	c.mu.Lock()
	c.free += s.blocks
	c.inFlight -= s.blocks
	c.mu.Unlock()
	s.blocks = 0
}

// Commit indexes the complete entry, replacing an older copy of the same
// keys. With Vary, at most max-secondary-entries live entries share a
// primary key: a further one is dropped.
func (s *Store) Commit() {
	if s == nil || s.failed {
		return
	}
	c, e := s.c, s.e
	e.blocks = s.blocks
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight -= s.blocks
	live := 0
	for _, o := range append([]*Entry(nil), c.index[e.key]...) {
		switch {
		case !o.expire.After(now), o.sig == e.sig && o.sec == e.sec:
			c.removeLocked(o)
		default:
			live++
		}
	}
	if e.sig != 0 && live >= c.MaxSecondary {
		c.free += e.blocks
		s.failed = true
		return
	}
	c.seq++
	e.seq = c.seq
	c.index[e.key] = append(c.index[e.key], e)
	c.order = append(c.order, e)
	s.failed = true // committed: nothing more to do
}

// Show writes "show cache" for this cache as HAProxy 2.6 does: the cache,
// its available blocks, then each live entry.
func (c *Cache) Show(w io.Writer) {
	now := c.now()
	c.mu.Lock()
	entries := make([]*Entry, 0, len(c.order))
	for _, e := range c.order {
		if e.expire.After(now) {
			entries = append(entries, e)
		}
	}
	// HAProxy's available blocks are those no transaction holds: stored
	// objects count, as they can be evicted.
	free := c.total - c.inFlight
	c.mu.Unlock()
	fmt.Fprintf(w, "%p: %s (shctx:%p, available blocks:%d)\n", c, c.Name, &c.index, free)
	for _, e := range entries {
		sec := [8]byte{}
		if e.sig != 0 {
			sec = [8]byte{byte(e.sec.Enc), byte(e.sec.Enc >> 8), byte(e.sec.Enc >> 16), byte(e.sec.Enc >> 24),
				byte(e.sec.Ref), byte(e.sec.Ref >> 8), byte(e.sec.Ref >> 16), byte(e.sec.Ref >> 24)}
		}
		hash := uint32(e.key[0]) | uint32(e.key[1])<<8 | uint32(e.key[2])<<16 | uint32(e.key[3])<<24
		fmt.Fprintf(w, "%p hash:%d vary:0x%x size:%d (%d blocks), refcount:0, expire:%d\n",
			e, hash, sec[:], e.size+len(e.Body)+entryOverhead, e.blocks, int(e.expire.Unix()-now.Unix()))
	}
}

// Usage reports the blocks in use and the entries, for tests.
func (c *Cache) Usage() (usedBlocks, entries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total - c.free, len(c.order)
}
