package upstream

import "sync/atomic"

// roundRobin is "balance roundrobin" (smooth interleave of the current
// weights, rebuilt when a weight or state changes) and "balance static-rr"
// (HAProxy's static map of the configured weights). Picking is lock-free:
// one atomic counter walks the map.
type roundRobin struct {
	lbBase
	_    [64]byte // keep the counter off the snapshot pointer's cache line
	next atomic.Uint64
}

func (r *roundRobin) sticky() bool { return false }

func (r *roundRobin) Pick(_ Key, exclude *Server) *Server {
	return pickSeq(r.load(), &r.next, exclude)
}

// pickSeq walks set.seq from the counter's position and takes the first
// server with a free slot that is not exclude; exclude itself is the last
// resort (HAProxy's "avoided" server).
func pickSeq(set *lbSet, next *atomic.Uint64, exclude *Server) *Server {
	n := uint64(len(set.seq))
	if n == 0 {
		return nil
	}
	start := next.Add(1) - 1
	avoided := false
	for i := range n {
		s := set.seq[(start+i)%n]
		if s == exclude {
			avoided = true
			continue
		}
		if s.TryAcquire() {
			if i > 0 {
				// Skip the full servers for the following picks too, as
				// HAProxy moves its index past the chosen server. Best
				// effort: a concurrent pick may have moved it already.
				next.CompareAndSwap(start+1, start+i+1)
			}
			return s
		}
	}
	if avoided && exclude.TryAcquire() {
		return exclude
	}
	return nil
}
