package upstream

import "sync/atomic"

// leastConn is "balance leastconn": the server with the fewest current
// connections relative to its weight gets the request; among equals, the
// one picked longest ago (round-robin within a load level, as HAProxy's
// tree does). Weights are dynamic.
type leastConn struct {
	lbBase
	_     [64]byte
	clock atomic.Uint64
	// last pick stamp per server, indexed by its position in the farm
	// (Server.lbIndex; ids may be sparse with "id"), one cache line each
	// so a pick does not invalidate the stamps the others scan.
	stamps []paddedStamp
}

func (l *leastConn) init(servers []*Server, allBackups bool) {
	for i, s := range servers {
		s.lbIndex = i
	}
	l.stamps = make([]paddedStamp, len(servers))
	l.lbBase.init(servers, allBackups)
}

func (l *leastConn) sticky() bool { return false }

func (l *leastConn) stamp(s *Server) *atomic.Uint64 {
	if i := s.lbIndex; i >= 0 && i < len(l.stamps) {
		return &l.stamps[i].v
	}
	return nil
}

func (l *leastConn) Pick(_ Key, exclude *Server) *Server {
	set := l.load()
	for range len(set.live) + 1 {
		best := -1
		var bestCur, bestW int64
		var bestStamp uint64
		for i, s := range set.live {
			if s == exclude || s.Full() {
				continue
			}
			cur, w := s.Counters.CurSess.Load(), int64(set.weight[i])
			var st uint64
			if p := l.stamp(s); p != nil {
				st = p.Load()
			}
			if best < 0 {
				best, bestCur, bestW, bestStamp = i, cur, w, st
				continue
			}
			// Compare (cur+1)/w with (bestCur+1)/bestW; an idle server
			// scores 0 whatever its weight (HAProxy's fwlc key).
			var a, b int64
			if cur > 0 {
				a = (cur + 1) * bestW
			}
			if bestCur > 0 {
				b = (bestCur + 1) * w
			}
			if a < b || (a == b && st < bestStamp) {
				best, bestCur, bestW, bestStamp = i, cur, w, st
			}
		}
		if best < 0 {
			break
		}
		s := set.live[best]
		if s.TryAcquire() {
			if p := l.stamp(s); p != nil {
				p.Store(l.clock.Add(1))
			}
			return s
		}
		// Lost a race for its last slot: look again.
	}
	if exclude != nil && contains(set.live, exclude) && exclude.TryAcquire() {
		if p := l.stamp(exclude); p != nil {
			p.Store(l.clock.Add(1))
		}
		return exclude
	}
	return nil
}

func contains(list []*Server, s *Server) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type paddedStamp struct {
	v atomic.Uint64
	_ [56]byte
}
