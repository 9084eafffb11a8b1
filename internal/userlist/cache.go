package userlist

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// verdictCache remembers password checks: key -> good or bad. Bad verdicts
// are kept too, so that a client repeating a wrong password does not make
// every request pay the hash again. Bounded: a fixed number of slots,
// replaced by the CLOCK (second chance) policy, a close approximation of
// LRU that needs no list and no allocation per entry.
type verdictCache struct {
	secret [32]byte // random per cache: keys mean nothing outside this process

	mu    sync.Mutex
	index map[[32]byte]int32
	slots []cacheSlot
	hand  int
	// flight holds the verifications under way: the requests that miss
	// the cache together (a browser opening several connections at the
	// first login) wait for one computation instead of each paying it.
	flight map[[32]byte]*flightCall
}

type flightCall struct {
	done chan struct{}
	good bool
}

type cacheSlot struct {
	key  [32]byte
	good bool
	ref  bool // used since the hand last passed
	used bool
}

func newVerdictCache(n int) *verdictCache {
	c := &verdictCache{index: make(map[[32]byte]int32, n), slots: make([]cacheSlot, n), flight: map[[32]byte]*flightCall{}}
	if _, err := rand.Read(c.secret[:]); err != nil {
		panic("userlist: no randomness for the cache secret: " + err.Error())
	}
	return c
}

// key is SHA-256(secret, len(name), name, pass): the name's length makes
// the split between name and password unambiguous, and the secret keeps
// the keys, which a memory dump could show, from being a fast unsalted
// hash of the password that an attacker could search offline.
func (c *verdictCache) key(name, pass []byte) [32]byte {
	var stack [256]byte
	b := stack[:0]
	b = append(b, c.secret[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(name)))
	b = append(b, name...)
	b = append(b, pass...)
	k := sha256.Sum256(b)
	clear(b) // the password must not linger in a reused buffer
	return k
}

// do returns the cached verdict of k, or computes it with verify (once,
// however many callers miss it together) and caches it.
func (c *verdictCache) do(k [32]byte, verify func() bool) bool {
	c.mu.Lock()
	if i, ok := c.index[k]; ok {
		s := &c.slots[i]
		s.ref = true
		good := s.good
		c.mu.Unlock()
		return good
	}
	if f := c.flight[k]; f != nil {
		c.mu.Unlock()
		<-f.done // verify always returns: the hash computations end
		return f.good
	}
	f := &flightCall{done: make(chan struct{})}
	c.flight[k] = f
	c.mu.Unlock()

	computed := false
	defer func() {
		// Even if verify panicked: the waiters get false (fail closed)
		// and nothing is cached.
		c.mu.Lock()
		delete(c.flight, k)
		if computed {
			c.putLocked(k, f.good)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.good = verify()
	computed = true
	return f.good
}

func (c *verdictCache) get(k [32]byte) (good, hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[k]
	if !ok {
		return false, false
	}
	s := &c.slots[i]
	s.ref = true
	return s.good, true
}

func (c *verdictCache) put(k [32]byte, good bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, good)
}

func (c *verdictCache) putLocked(k [32]byte, good bool) {
	if i, ok := c.index[k]; ok {
		c.slots[i].good, c.slots[i].ref = good, true
		return
	}
	for c.slots[c.hand].used && c.slots[c.hand].ref {
		c.slots[c.hand].ref = false
		c.hand = (c.hand + 1) % len(c.slots)
	}
	s := &c.slots[c.hand]
	if s.used {
		delete(c.index, s.key)
	}
	*s = cacheSlot{key: k, good: good, used: true}
	c.index[k] = int32(c.hand)
	c.hand = (c.hand + 1) % len(c.slots)
}

// len is the number of verdicts held (tests).
func (c *verdictCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index)
}
