package identity

import (
	"crypto/subtle"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cacheShards spreads lock contention; a power of two.
const cacheShards = 16

// lru is a bounded cache of verified identities keyed by a seeded hash of a
// secret-bearing string (a session cookie, a bearer token). The full string
// is kept and compared on every hit, so a hash collision can never hand one
// caller another's identity. Entries expire at the identity's expiry.
//
// Eviction is second-chance (CLOCK), an LRU approximation that lets hits
// take only a read lock.
type lru struct {
	seed   maphash.Seed
	shards [cacheShards]lruShard
	per    int
}

type lruShard struct {
	mu   sync.RWMutex
	m    map[uint64]*lruEntry
	ring []uint64 // keys in insertion order, for the clock hand
	hand int
}

type lruEntry struct {
	key    string
	id     *Identity
	expiry time.Time
	ref    atomic.Bool
}

func newLRU(size int) *lru {
	if size < cacheShards {
		size = cacheShards
	}
	c := &lru{seed: maphash.MakeSeed(), per: size / cacheShards}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]*lruEntry, c.per)
	}
	return c
}

// hash hashes the parts of a key as if concatenated, without allocating.
func (c *lru) hash(parts ...string) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	for _, p := range parts {
		_, _ = h.WriteString(p)
	}
	return h.Sum64()
}

// get returns the identity cached for the key whose parts are given and
// whose hash is h, if still valid at now.
func (c *lru) get(h uint64, now time.Time, parts ...string) *Identity {
	sh := &c.shards[h&(cacheShards-1)]
	sh.mu.RLock()
	e := sh.m[h]
	sh.mu.RUnlock()
	if e == nil || !now.Before(e.expiry) || !equalParts(e.key, parts) {
		return nil
	}
	e.ref.Store(true)
	return e.id
}

// equalParts compares key with the concatenation of parts in constant time
// per part.
func equalParts(key string, parts []string) bool {
	for _, p := range parts {
		if len(p) > len(key) || subtle.ConstantTimeCompare([]byte(key[:len(p)]), []byte(p)) != 1 {
			return false
		}
		key = key[len(p):]
	}
	return key == ""
}

// put caches id under the key made of parts, until expiry.
func (c *lru) put(h uint64, id *Identity, expiry time.Time, parts ...string) {
	var key string
	if len(parts) == 1 {
		key = strings.Clone(parts[0]) // a view of the request's buffer, reused by the next one
	} else {
		n := 0
		for _, p := range parts {
			n += len(p)
		}
		b := make([]byte, 0, n)
		for _, p := range parts {
			b = append(b, p...)
		}
		key = string(b)
	}
	sh := &c.shards[h&(cacheShards-1)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[h]; !ok {
		for len(sh.m) >= c.per {
			sh.evictOne(time.Now())
		}
		sh.ring = append(sh.ring, h)
	}
	sh.m[h] = &lruEntry{key: key, id: id, expiry: expiry}
}

// evictOne removes one entry: an expired or unreferenced one, clearing
// reference bits as the hand passes (second chance).
func (sh *lruShard) evictOne(now time.Time) {
	for {
		if sh.hand >= len(sh.ring) {
			sh.hand = 0
		}
		k := sh.ring[sh.hand]
		e := sh.m[k]
		if e == nil || !now.Before(e.expiry) || !e.ref.Swap(false) {
			delete(sh.m, k)
			last := len(sh.ring) - 1
			sh.ring[sh.hand] = sh.ring[last]
			sh.ring = sh.ring[:last]
			return
		}
		sh.hand++
	}
}

// remove drops the entry for h (sign-out).
func (c *lru) remove(h uint64) {
	sh := &c.shards[h&(cacheShards-1)]
	sh.mu.Lock()
	if _, ok := sh.m[h]; ok {
		delete(sh.m, h)
		for i, k := range sh.ring {
			if k == h {
				last := len(sh.ring) - 1
				sh.ring[i] = sh.ring[last]
				sh.ring = sh.ring[:last]
				break
			}
		}
	}
	sh.mu.Unlock()
}
