package resolve

import (
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// item is a record the resolution knows, with when it was last seen: a
// record missing from an answer is kept for "hold obsolete".
type item struct {
	addr     netip.Addr // A/AAAA; for SRV, the target's address
	target   string     // SRV only
	port     uint16     // SRV only
	weight   uint16     // SRV only
	lastSeen time.Time
}

// slot is a server following the group's name; for SRV, the target it
// took (HAProxy's srv->hostname set from the record).
type slot struct {
	s      *upstream.Server
	target string
	port   uint16
}

func (sl *slot) setTarget(t string, port uint16) {
	sl.target, sl.port = t, port
	sl.s.SetHostname(t)
}

func newSlot(s *upstream.Server) *slot { return &slot{s: s} }

// group is one resolution: a name and the servers of one backend following
// it. Only the resolvers loop touches it (one resolution at a time).
type group struct {
	backend  string
	host     string
	srv      bool
	preferV4 bool
	servers  []*slot

	lastTry   time.Time
	lastValid time.Time
	items     []item
}

// apply updates the group's records from a and moves its servers.
func (g *group) apply(a answer, now time.Time, hold *config.Hold) {
	if a.st == stValid {
		g.lastValid = now
		g.merge(a, now, hold.Obsolete)
	} else if !g.lastValid.IsZero() || len(g.items) > 0 {
		// An error keeps the last valid answer for its hold period.
		h := map[status]time.Duration{stNX: hold.NX, stRefused: hold.Refused, stTimeout: hold.Timeout}[a.st]
		if _, ok := map[status]bool{stNX: true, stRefused: true, stTimeout: true}[a.st]; !ok {
			h = hold.Other
		}
		if now.Sub(g.lastValid) <= h {
			return
		}
		g.items = nil
	}
	changed := false
	if g.srv {
		changed = g.assignSRV()
	} else {
		changed = g.assignAddrs()
	}
	if changed && a.ns != nil {
		a.ns.c.update.Add(1)
	}
}

// merge refreshes the items from a valid answer and drops those not seen
// for longer than obsolete.
func (g *group) merge(a answer, now time.Time, obsolete time.Duration) {
	seen := func(it item) bool {
		for i := range g.items {
			o := &g.items[i]
			if o.addr == it.addr && o.target == it.target && o.port == it.port {
				o.weight, o.lastSeen = it.weight, now
				return true
			}
		}
		return false
	}
	var fresh []item
	if g.srv {
		for _, r := range a.srv {
			it := item{target: r.Target, port: r.Port, weight: r.Weight, lastSeen: now}
			if addrs := a.extra[r.Target]; len(addrs) > 0 {
				it.addr = Pick(addrs, g.preferV4, nil)
			}
			if !seenTarget(g.items, it, now) {
				fresh = append(fresh, it)
			}
		}
	} else {
		for _, ad := range a.addrs {
			it := item{addr: ad, lastSeen: now}
			if !seen(it) {
				fresh = append(fresh, it)
			}
		}
	}
	kept := g.items[:0]
	for _, it := range g.items {
		if now.Sub(it.lastSeen) <= obsolete {
			kept = append(kept, it)
		}
	}
	g.items = append(kept, fresh...)
}

// seenTarget refreshes the SRV item for the same target and port (its
// address and weight may have changed).
func seenTarget(items []item, it item, now time.Time) bool {
	for i := range items {
		o := &items[i]
		if o.target == it.target && o.port == it.port {
			o.weight, o.lastSeen = it.weight, now
			if it.addr.IsValid() {
				o.addr = it.addr
			}
			return true
		}
	}
	return false
}

// Pick is the first address of the preferred family (the other family
// when it has none), addresses in the preferred networks first.
func Pick(addrs []netip.Addr, preferV4 bool, nets []netip.Prefix) netip.Addr {
	best, bestScore := netip.Addr{}, -1
	for _, a := range addrs {
		if sc := score(a, preferV4, nets, netip.Addr{}); sc > bestScore {
			best, bestScore = a, sc
		}
	}
	return best
}

// score is HAProxy's resolv_get_ip_from_response ranking: 8 for the
// preferred family, 4 for a preferred network, 1 for the current address
// (the 2 for "not used by another server" is the caller's filter).
func score(a netip.Addr, preferV4 bool, nets []netip.Prefix, cur netip.Addr) int {
	sc := 0
	if a.Is4() == preferV4 {
		sc += 8
	}
	for _, n := range nets {
		if n.Contains(a) {
			sc += 4
			break
		}
	}
	if a == cur {
		sc++
	}
	return sc
}

// assignAddrs gives each server an address of the answer. A server whose
// address is still there keeps it; the others take the best address no
// other server of the backend uses (unless allow-dup-ip); a server left
// without one goes to MAINT (resolution), as HAProxy's "No IP for server".
func (g *group) assignAddrs() bool {
	used := map[netip.Addr]int{}
	keep := make([]bool, len(g.servers))
	present := func(a netip.Addr) bool {
		for _, it := range g.items {
			if it.addr == a {
				return true
			}
		}
		return false
	}
	for i, sl := range g.servers {
		cur := sl.s.Addr().Addr()
		if sl.s.HasAddr() && !sl.s.ResolutionMaint() && present(cur) && (sl.s.Cfg.DNS.AllowDupIP || used[cur] == 0) {
			keep[i] = true
			used[cur]++
		}
	}
	changed := false
	for i, sl := range g.servers {
		if keep[i] {
			changed = sl.s.SetResolutionMaint(false) || changed
			continue
		}
		d := &sl.s.Cfg.DNS
		best, bestScore := netip.Addr{}, -1
		for _, it := range g.items {
			if !d.AllowDupIP && used[it.addr] > 0 {
				continue
			}
			if sc := score(it.addr, d.PreferIPv4, d.Nets, netip.Addr{}); sc > bestScore {
				best, bestScore = it.addr, sc
			}
		}
		if !best.IsValid() {
			// HAProxy drops the address and keeps the port.
			changed = sl.s.SetResolutionMaint(true) || changed
			changed = sl.s.SetAddr(netip.AddrPortFrom(netip.Addr{}, uint16(sl.s.Cfg.Port))) || changed
			continue
		}
		used[best]++
		changed = sl.s.SetAddr(netip.AddrPortFrom(best, uint16(sl.s.Cfg.Port))) || changed
		changed = sl.s.SetResolutionMaint(false) || changed
	}
	return changed
}

// assignSRV binds each SRV record to a server: a server keeps the target
// and port it has while the record lasts; new records take the servers
// that had none in declaration order; then a server whose record is gone
// loses it (address, port and target) and goes to MAINT (resolution), its
// slot free for the next answer, in HAProxy 2.6's order. The record's port
// is the server's, and its weight (0..65535) becomes weight/256+1 unless
// "resolve-opts ignore-weight", as HAProxy scales it.
func (g *group) assignSRV() bool {
	changed := false
	taken := map[int]bool{} // item index -> bound
	var gone []*slot
	for _, sl := range g.servers {
		if sl.target == "" {
			continue
		}
		idx := -1
		for i, it := range g.items {
			if !taken[i] && it.target == sl.target && it.port == sl.port {
				idx = i
				break
			}
		}
		if idx < 0 {
			gone = append(gone, sl)
			continue
		}
		taken[idx] = true
		changed = g.bind(sl, g.items[idx]) || changed
	}
	for i, it := range g.items {
		if taken[i] {
			continue
		}
		for _, sl := range g.servers {
			if sl.target == "" {
				sl.setTarget(it.target, it.port)
				taken[i] = true
				changed = g.bind(sl, it) || changed
				break
			}
		}
	}
	for _, sl := range gone {
		sl.setTarget("", 0)
		changed = sl.s.SetResolutionMaint(true) || changed
		changed = sl.s.SetAddr(netip.AddrPort{}) || changed
	}
	for _, sl := range g.servers {
		if sl.target == "" {
			changed = sl.s.SetResolutionMaint(true) || changed
		}
	}
	return changed
}

// bind applies an SRV item to its server.
func (g *group) bind(sl *slot, it item) bool {
	changed := false
	if !sl.s.Cfg.DNS.IgnoreWeight {
		w := int(it.weight)/256 + 1
		if sl.s.Weight() != w {
			changed = sl.s.SetWeight(w) == nil || changed
		}
	}
	if !it.addr.IsValid() {
		// The target has no address (yet): no traffic until it has one.
		return sl.s.SetResolutionMaint(true) || changed
	}
	changed = sl.s.SetAddr(netip.AddrPortFrom(it.addr, it.port)) || changed
	return sl.s.SetResolutionMaint(false) || changed
}
