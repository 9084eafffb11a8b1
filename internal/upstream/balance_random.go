package upstream

import (
	"math/rand/v2"
)

// random is "balance random [<draws>]": draws servers at random in
// proportion to their (dynamic) weights and keeps the least loaded of
// them, current connections relative to weight, as HAProxy's random
// algorithm does (draws defaults to 2, the "power of two choices").
type random struct {
	lbBase
	draws int
}

func (r *random) sticky() bool { return false }

func (r *random) Pick(_ Key, exclude *Server) *Server {
	set := r.load()
	tot := 0
	for i, s := range set.live {
		if s != exclude && !s.Full() {
			tot += set.weight[i]
		}
	}
	for tot > 0 {
		var best *Server
		var bestCur, bestW int64
		for range r.draws {
			n := rand.IntN(tot)
			for i, s := range set.live {
				if s == exclude || s.Full() {
					continue
				}
				if n -= set.weight[i]; n < 0 {
					cur, w := s.Counters.CurSess.Load(), int64(set.weight[i])
					if best == nil || cur*bestW < bestCur*w {
						best, bestCur, bestW = s, cur, w
					}
					break
				}
			}
		}
		if best == nil {
			break // every server filled up meanwhile
		}
		if best.TryAcquire() {
			return best
		}
		tot = 0 // lost a race for its last slot: draw again among the rest
		for i, s := range set.live {
			if s != exclude && !s.Full() {
				tot += set.weight[i]
			}
		}
	}
	if exclude != nil && contains(set.live, exclude) && exclude.TryAcquire() {
		return exclude
	}
	return nil
}
