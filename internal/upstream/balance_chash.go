package upstream

import (
	"github.com/gatehouse/gatehouse/internal/hashfn"
	"slices"
	"sort"
)

// HAProxy's consistent hashing (lb_chash.c): a server of user weight w has
// w*16 points (BE_WEIGHT_SCALE) on a 32-bit ring, point j of the server
// with id n at full_hash(n*4096 + j) (SRV_EWGHT_RANGE), so the same ids and
// weights put every point where HAProxy puts it. Lowering a weight removes
// the last points only, so few keys move.
const (
	chashScale = 16
	chashRange = MaxWeight * chashScale
)

// ring is an immutable snapshot of the points of the servers in use.
type ring struct {
	keys []uint32 // sorted
	idx  []int32  // keys[i] belongs to live[idx[i]] of the lbSet
	cum  []int    // eweight of the live servers before live[i] (bounded load)
	ew   []int    // eweight of live[i]
	tot  int      // sum of ew
}

func buildRing(set *lbSet) *ring {
	r := &ring{cum: make([]int, len(set.live)), ew: make([]int, len(set.live))}
	type point struct {
		key uint32
		i   int32
	}
	var pts []point
	for i, s := range set.live {
		ew := set.weight[i] * chashScale
		r.cum[i], r.ew[i] = r.tot, ew
		r.tot += ew
		base := uint32(s.ID) * chashRange
		for j := range ew {
			pts = append(pts, point{hashfn.FullHash(base + uint32(j)), int32(i)})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return int(a.i - b.i)
	})
	r.keys = make([]uint32, len(pts))
	r.idx = make([]int32, len(pts))
	for i, p := range pts {
		r.keys[i], r.idx[i] = p.key, p.i
	}
	return r
}

// pickRing is chash_get_server_hash for a key, or chash_get_next_server's
// round robin over the points when the key has no hash.
func (h *hashBalancer) pickRing(set *lbSet, key Key, exclude *Server) *Server {
	r := set.ring
	if r == nil || len(r.keys) == 0 {
		return nil
	}
	hv, ok := h.hash(key)
	if !ok {
		n := uint64(len(r.keys))
		start := h.next.Add(1)
		var avoided *Server
		for k := range n {
			s := set.live[r.idx[(start+k)%n]]
			if s == exclude {
				avoided = s
				continue
			}
			if s.TryAcquire() {
				return s
			}
		}
		if avoided != nil && avoided.TryAcquire() {
			return avoided
		}
		return nil
	}
	if len(set.live) == 1 {
		hv = 0
	}
	s := h.ringLookup(set, hv, exclude)
	if s != nil && s.TryAcquire() {
		return s
	}
	return nil
}

// ringLookup returns the server of the point closest to hv (the previous
// one on a tie), then, as HAProxy does, walks forward past the server to
// avoid and past servers above their bounded load.
func (h *hashBalancer) ringLookup(set *lbSet, hv uint32, avoid *Server) *Server {
	r := set.ring
	n := len(r.keys)
	if n == 0 {
		return nil
	}
	next := sort.Search(n, func(i int) bool { return r.keys[i] >= hv })
	if next == n {
		next = 0
	}
	prev := next - 1
	if prev < 0 {
		prev = n - 1
	}
	i := next
	if hv-r.keys[prev] <= r.keys[next]-hv {
		i = prev
	}
	var served int64
	if h.factor > 0 {
		for _, s := range h.servers {
			served += s.Counters.CurSess.Load()
		}
	}
	for loop := 0; ; {
		li := r.idx[i]
		s := set.live[li]
		if s != avoid && (h.factor == 0 || h.eligible(r, li, s, served)) {
			return s
		}
		if i++; i == n {
			i = 0
			if loop++; loop > 1 {
				return set.live[r.idx[0]] // HAProxy's guard against looping
			}
		}
	}
}

// eligible is chash_server_is_eligible (consistent hashing with bounded
// loads): the backend's requests, this one included, times the factor,
// shared in proportion to the weights; a server takes at least one.
func (h *hashBalancer) eligible(r *ring, li int32, s *Server, served int64) bool {
	tot := uint64(r.tot)
	if tot == 0 {
		return true
	}
	slots := (uint64(served+1)*uint64(h.factor) + 99) / 100
	per, rem := slots/tot, slots%tot
	cum, ew := uint64(r.cum[li]), uint64(r.ew[li])
	mine := ew*per + (cum+ew)*rem/tot - cum*rem/tot
	if mine == 0 {
		mine = 1
	}
	return uint64(s.Counters.CurSess.Load()) < mine
}
