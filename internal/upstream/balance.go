package upstream

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Key carries what hash-based algorithms read from a request. It is passed
// by value and read in place: Pick allocates nothing.
type Key struct {
	Src netip.Addr // client address (balance source)
	URI string     // request target as received (balance uri)
	Hdr string     // first value of the balance hdr(NAME) header, "" when absent
	// Sample is "balance hash <expr>"'s value cast to binary; HasSample
	// is false when the expression gave none.
	Sample    string
	HasSample bool
}

// Balancer picks a server for new traffic.
//
// Pick returns a usable server with a connection slot already taken
// (TryAcquire): the caller Releases it when done. It avoids exclude (the
// server a redispatched retry just failed on) unless nothing else can take
// the request. It returns nil when no server is usable or every candidate
// is at maxconn; the caller may then wait in the farm's Queue.
type Balancer interface {
	Pick(key Key, exclude *Server) *Server
}

// balancer is what the farm needs beyond Pick.
type balancer interface {
	Balancer
	rebuild()
	load() *lbSet
	live() int
	// sticky reports whether different requests may need different
	// servers (hashing), so a failed queue dispatch for one waiter says
	// nothing about the next.
	sticky() bool
}

// lbSet is an immutable snapshot of the servers new traffic may use: the
// usable active servers or, when none, the backup set.
type lbSet struct {
	live   []*Server // in id order
	weight []int     // weight of live[i] as the algorithm sees it
	seq    []*Server // weighted map (roundrobin, static-rr, hashes); len = total weight
	ring   *ring     // consistent hashing's points (hash-type consistent)
	backup bool
}

// lbBase keeps the snapshot and rebuilds it on server changes.
type lbBase struct {
	servers    []*Server // all, in id order
	allBackups bool
	static     bool // static weights: initial weight while usable (HAProxy's static algorithms)
	smooth     bool // build seq as a smooth interleave (roundrobin) instead of HAProxy's map
	noSeq      bool
	chash      bool // build the consistent hashing ring
	gcd        int  // static: gcd of initial weights

	mu  sync.Mutex
	set atomic.Pointer[lbSet]
}

func (b *lbBase) init(servers []*Server, allBackups bool) {
	b.servers = servers
	b.allBackups = allBackups
	if b.static {
		g := 0
		for _, s := range servers {
			g = gcd(g, s.initWeight)
		}
		b.gcd = max(g, 1)
	}
	b.rebuild()
}

func (b *lbBase) load() *lbSet { return b.set.Load() }

func (b *lbBase) live() int { return len(b.set.Load().live) }

func (b *lbBase) weightOf(s *Server) int {
	w := s.EffectiveWeight()
	if b.static && w > 0 {
		return s.initWeight / b.gcd
	}
	return w
}

// rebuild recomputes the snapshot (HAProxy's recount_servers +
// update_backend_weight + recalc_server_map).
func (b *lbBase) rebuild() {
	b.mu.Lock()
	defer b.mu.Unlock()
	set := &lbSet{}
	for _, s := range b.servers {
		if w := b.weightOf(s); w > 0 && !s.Backup {
			set.live = append(set.live, s)
			set.weight = append(set.weight, w)
		}
	}
	if len(set.live) == 0 {
		set.backup = true
		for _, s := range b.servers {
			if w := b.weightOf(s); w > 0 && s.Backup {
				set.live = append(set.live, s)
				set.weight = append(set.weight, w)
				if !b.allBackups {
					break // only the first usable backup
				}
			}
		}
	}
	if !b.noSeq && len(set.live) > 0 {
		w := set.weight
		if !b.static {
			// Dynamic weights: reduce by their gcd to keep the map short.
			g := 0
			for _, x := range w {
				g = gcd(g, x)
			}
			w = make([]int, len(set.weight))
			for i, x := range set.weight {
				w[i] = x / g
			}
		}
		if b.smooth {
			set.seq = smoothMap(set.live, w)
		} else {
			set.seq = haproxyMap(set.live, w)
		}
	}
	if b.chash {
		set.ring = buildRing(set)
	}
	b.set.Store(set)
}

// haproxyMap is HAProxy's recalc_server_map: a table of total-weight
// entries where each server appears weight times, the first declared
// server first. Hash algorithms index it with hash % total, so the same
// servers and weights map a key to the same server as HAProxy does.
func haproxyMap(live []*Server, w []int) []*Server {
	tot := 0
	for _, x := range w {
		tot += x
	}
	seq := make([]*Server, tot)
	if len(live) == 1 {
		for i := range seq {
			seq[i] = live[0]
		}
		return seq
	}
	score := make([]int, len(live))
	for o := range tot {
		best, bestV := -1, 0
		for i := range live {
			score[i] += w[i]
			if v := (score[i] + tot) / tot; best < 0 || v > bestV {
				best, bestV = i, v
			}
		}
		seq[o] = live[best]
		score[best] -= tot
	}
	return seq
}

// smoothMap is the smooth weighted round-robin order (each step, the server
// with the highest running score wins and pays the total): weights are
// interleaved, 3:1 gives a a b a rather than a a a b.
func smoothMap(live []*Server, w []int) []*Server {
	tot := 0
	for _, x := range w {
		tot += x
	}
	seq := make([]*Server, tot)
	score := make([]int, len(live))
	for o := range tot {
		best := -1
		for i := range live {
			score[i] += w[i]
			if best < 0 || score[i] > score[best] {
				best = i
			}
		}
		seq[o] = live[best]
		score[best] -= tot
	}
	return seq
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Algorithms returns the supported "balance" algorithm names.
func Algorithms() []string {
	return []string{"roundrobin", "static-rr", "leastconn", "first", "source", "uri", "url_param", "hdr", "hash", "random", "rdp-cookie"}
}

// NewBalancer builds the algorithm of b over servers (all of a backend's
// servers, active and backup, in declaration order). For "uri", b.Arg holds
// the options as written ("whole", "len N", "depth N", "path-only"); for
// "hdr", the header name optionally followed by "use_domain_only".
func NewBalancer(b config.Balance, servers []*Server, allBackups bool) (Balancer, error) {
	bal, err := newBalancer(b, servers, allBackups)
	if err != nil {
		return nil, err
	}
	return bal, nil
}

func newBalancer(b config.Balance, servers []*Server, allBackups bool) (balancer, error) {
	switch strings.ToLower(b.Algo) {
	case "", "roundrobin":
		r := &roundRobin{}
		r.smooth = true
		r.init(servers, allBackups)
		return r, nil
	case "static-rr":
		r := &roundRobin{}
		r.static = true
		r.init(servers, allBackups)
		return r, nil
	case "leastconn":
		l := &leastConn{}
		l.noSeq = true
		l.init(servers, allBackups)
		return l, nil
	case "first":
		f := &first{}
		f.noSeq = true
		f.static = true
		f.init(servers, allBackups)
		return f, nil
	case "source":
		h := &hashBalancer{kind: hashSource}
		if err := h.setHashType(b.Hash); err != nil {
			return nil, err
		}
		h.init(servers, allBackups)
		return h, nil
	case "uri":
		h := &hashBalancer{kind: hashURI}
		if err := h.parseURIArgs(b.Arg); err != nil {
			return nil, err
		}
		if err := h.setHashType(b.Hash); err != nil {
			return nil, err
		}
		h.init(servers, allBackups)
		return h, nil
	case "hash":
		// The proxy evaluates the expression (Key.Sample); the balancer
		// hashes its value.
		if strings.TrimSpace(b.Arg) == "" {
			return nil, fmt.Errorf("balance hash requires a sample expression")
		}
		h := &hashBalancer{kind: hashExpr}
		if err := h.setHashType(b.Hash); err != nil {
			return nil, err
		}
		h.init(servers, allBackups)
		return h, nil
	case "rdp-cookie":
		// The proxy reads the RDP cookie (Key.Sample); none balances
		// round robin, as HAProxy's get_server_rch.
		h := &hashBalancer{kind: hashExpr}
		if err := h.setHashType(b.Hash); err != nil {
			return nil, err
		}
		h.init(servers, allBackups)
		return h, nil
	case "url_param":
		if b.Arg == "" || strings.ContainsAny(b.Arg, " &=") {
			return nil, fmt.Errorf("balance url_param requires an URL parameter name")
		}
		h := &hashBalancer{kind: hashParam, param: b.Arg}
		if err := h.setHashType(b.Hash); err != nil {
			return nil, err
		}
		h.init(servers, allBackups)
		return h, nil
	case "random":
		r := &random{draws: 2}
		if b.Arg != "" {
			n, err := strconv.Atoi(b.Arg)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("balance random: draws must be a positive integer, got '%s'", b.Arg)
			}
			r.draws = n
		}
		r.noSeq = true
		r.init(servers, allBackups)
		return r, nil
	case "hdr":
		h := &hashBalancer{kind: hashHdr}
		f := strings.Fields(b.Arg)
		if len(f) == 0 {
			return nil, fmt.Errorf("balance hdr requires a header name")
		}
		h.hdrName = f[0]
		for _, o := range f[1:] {
			if o != "use_domain_only" {
				return nil, fmt.Errorf("balance hdr: unknown option '%s'", o)
			}
			h.domainOnly = true
		}
		if err := h.setHashType(b.Hash); err != nil {
			return nil, err
		}
		h.init(servers, allBackups)
		return h, nil
	}
	return nil, fmt.Errorf("unknown load balancing algorithm '%s' (supported: %s)", b.Algo, strings.Join(Algorithms(), ", "))
}

func (h *hashBalancer) parseURIArgs(arg string) error {
	f := strings.Fields(arg)
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "whole":
			h.whole = true
		case "path-only":
			h.pathOnly = true
		case "len", "depth":
			if i+1 >= len(f) {
				return fmt.Errorf("balance uri: '%s' expects a positive integer", f[i])
			}
			n, err := strconv.Atoi(f[i+1])
			if err != nil || n < 0 {
				return fmt.Errorf("balance uri: '%s' expects a positive integer", f[i])
			}
			if f[i] == "len" {
				h.uriLen = n
			} else {
				h.uriDepth = n
			}
			i++
		default:
			return fmt.Errorf("balance uri: unknown option '%s'", f[i])
		}
	}
	return nil
}
