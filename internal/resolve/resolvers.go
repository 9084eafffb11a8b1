package resolve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// nsCounters are a nameserver's counters as "show resolvers" prints them.
type nsCounters struct {
	sent, sndError, valid, update, cname, cnameError, anyErr atomic.Uint64
	nx, timeout, refused, other, invalid, tooBig, truncated  atomic.Uint64
	outdated                                                 atomic.Uint64
}

type nameserver struct {
	name string
	addr netip.AddrPort
	c    nsCounters
}

// Resolvers is the runtime of one "resolvers" section.
type Resolvers struct {
	Name string
	cfg  config.Resolvers
	ns   []*nameserver

	mu     sync.Mutex
	groups []*group

	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	started atomic.Bool
}

// New builds a section's runtime. resolvConf is read for
// "parse-resolv-conf" (normally /etc/resolv.conf).
func New(cfg *config.Resolvers, resolvConf string) (*Resolvers, error) {
	r := &Resolvers{Name: cfg.Name, cfg: *cfg, stop: make(chan struct{}), done: make(chan struct{})}
	for _, ns := range cfg.Nameservers {
		r.ns = append(r.ns, &nameserver{name: ns.Name, addr: ns.Addr})
	}
	if cfg.ParseResolvConf {
		addrs, err := readResolvConf(resolvConf)
		if err != nil {
			return nil, fmt.Errorf("resolvers '%s': parse-resolv-conf: %v", cfg.Name, err)
		}
		for _, a := range addrs {
			// HAProxy names them after the file and the line's position.
			r.ns = append(r.ns, &nameserver{name: a.String(), addr: netip.AddrPortFrom(a, 53)})
		}
	}
	if len(r.ns) == 0 {
		return nil, fmt.Errorf("resolvers '%s': no nameserver", cfg.Name)
	}
	return r, nil
}

func readResolvConf(path string) ([]netip.Addr, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []netip.Addr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if a, err := netip.ParseAddr(fields[1]); err == nil {
				out = append(out, a.Unmap())
			}
		}
	}
	return out, sc.Err()
}

// Add makes s follow its name with this section. Servers of one backend
// sharing a name (a server-template's slots) share one resolution, and
// the records are spread over them.
func (r *Resolvers) Add(backend string, s *upstream.Server) {
	cs := s.Cfg
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.groups {
		if g.backend == backend && g.host == canon(cs.Host) {
			g.servers = append(g.servers, newSlot(s))
			return
		}
	}
	g := &group{backend: backend, host: canon(cs.Host), srv: config.SRV(cs.Host),
		preferV4: cs.DNS.PreferIPv4}
	g.servers = append(g.servers, newSlot(s))
	r.groups = append(r.groups, g)
}

// Start resolves every name at once, then every "timeout resolve". A
// server that starts with an address (init-addr) keeps it through errors
// for their hold period from now, as after a valid answer.
func (r *Resolvers) Start() {
	now := time.Now()
	r.mu.Lock()
	for _, g := range r.groups {
		for _, sl := range g.servers {
			if !sl.s.HasAddr() || sl.s.ResolutionMaint() {
				continue
			}
			g.lastValid = now
			ap := sl.s.Addr()
			if !g.srv {
				if !slices.ContainsFunc(g.items, func(it item) bool { return it.addr == ap.Addr() }) {
					g.items = append(g.items, item{addr: ap.Addr(), lastSeen: now})
				}
			} else if h := sl.s.Hostname(); h != "" {
				// A slot a reload carried over keeps its record.
				sl.target, sl.port = h, ap.Port()
				g.items = append(g.items, item{addr: ap.Addr(), target: h, port: ap.Port(), weight: uint16(max(sl.s.Weight()-1, 0) * 256), lastSeen: now})
			}
		}
	}
	r.mu.Unlock()
	if r.started.CompareAndSwap(false, true) {
		go r.loop()
	}
}

// Stop ends the resolutions; it is idempotent and waits for the loop
// (there is none when the graph never went live, as with -c).
func (r *Resolvers) Stop() {
	r.once.Do(func() { close(r.stop) })
	if !r.started.Load() {
		return
	}
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
	}
}

func (r *Resolvers) loop() {
	defer close(r.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-r.stop
		cancel()
	}()
	t := time.NewTicker(r.cfg.Resolve)
	defer t.Stop()
	for {
		r.tick(ctx, time.Now())
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
	}
}

// tick runs the resolutions whose last answer is older than "hold valid"
// (all of them the first time), as HAProxy's resolvers task does on each
// "timeout resolve".
func (r *Resolvers) tick(ctx context.Context, now time.Time) {
	r.mu.Lock()
	groups := append([]*group(nil), r.groups...)
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, g := range groups {
		if !g.lastTry.IsZero() && now.Sub(g.lastTry) < r.cfg.Hold.Valid {
			continue
		}
		g.lastTry = now
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.resolve(ctx, g)
		}()
	}
	wg.Wait()
}

// resolve runs one resolution of g and applies it to its servers.
func (r *Resolvers) resolve(ctx context.Context, g *group) {
	var a answer
	if g.srv {
		a = r.query(ctx, g.host, dnsmessage.TypeSRV)
		if a.st == stValid {
			r.srvTargets(ctx, g, &a)
		}
	} else {
		first, second := dnsmessage.TypeAAAA, dnsmessage.TypeA
		if g.preferV4 {
			first, second = second, first
		}
		a = r.query(ctx, g.host, first)
		// As HAProxy: any answer but a valid one (NXDOMAIN, REFUSED,
		// SERVFAIL, no record of the type) asks the other family at once;
		// silence does not (query already retried). The outcome is the
		// fallback's, unless it stayed silent.
		if a.st != stValid && a.st != stTimeout {
			if b := r.query(ctx, g.host, second); b.st != stTimeout {
				a = b
			}
		}
	}
	if ctx.Err() != nil {
		return
	}
	g.apply(a, time.Now(), &r.cfg.Hold)
}

// srvTargets finds the address of each SRV target: from the additional
// records when the nameserver sent them, else with an A/AAAA query.
func (r *Resolvers) srvTargets(ctx context.Context, g *group, a *answer) {
	if a.extra == nil {
		a.extra = map[string][]netip.Addr{}
	}
	for _, rec := range a.srv {
		if len(a.extra[rec.Target]) > 0 {
			continue
		}
		first, second := dnsmessage.TypeAAAA, dnsmessage.TypeA
		if g.preferV4 {
			first, second = second, first
		}
		b := r.query(ctx, rec.Target, first)
		if b.st != stValid {
			b = r.query(ctx, rec.Target, second)
		}
		if b.st == stValid {
			a.extra[rec.Target] = b.addrs
		}
	}
}

type nsResult struct {
	ns *nameserver
	a  answer
}

// query asks every nameserver at once and takes the first valid answer;
// without one within "timeout retry" it asks again, "resolve_retries"
// times in all. When every nameserver answered with an error, that error
// is the outcome (NXDOMAIN first).
func (r *Resolvers) query(ctx context.Context, name string, qt dnsmessage.Type) answer {
	best := answer{st: stTimeout}
	for try := 0; try < r.cfg.Retries && ctx.Err() == nil; try++ {
		ch := make(chan nsResult, len(r.ns))
		for _, ns := range r.ns {
			go func() {
				ch <- nsResult{ns, exchange(ctx, ns.addr, name, qt, r.cfg.PayloadSize, r.cfg.Retry, &ns.c)}
			}()
		}
		got := 0
		for ; got < len(r.ns); got++ {
			res := <-ch
			count(res.ns, res.a)
			res.a.ns = res.ns
			if res.a.st == stValid {
				got++
				go drainOutdated(ch, len(r.ns)-got)
				return res.a
			}
			if res.a.st != stTimeout && (best.st == stTimeout || res.a.st < best.st) {
				best = res.a
			}
		}
		if best.st != stTimeout {
			return best
		}
	}
	return best
}

// drainOutdated counts the answers that came after another nameserver's
// valid one.
func drainOutdated(ch chan nsResult, n int) {
	for range n {
		res := <-ch
		if res.a.st == stValid {
			res.ns.c.outdated.Add(1)
		} else {
			count(res.ns, res.a)
		}
	}
}

func count(ns *nameserver, a answer) {
	c := &ns.c
	switch a.st {
	case stValid:
		c.valid.Add(1)
		if a.cname {
			c.cname.Add(1)
		}
	case stNX:
		c.nx.Add(1)
	case stRefused:
		c.refused.Add(1)
	case stTimeout:
		c.timeout.Add(1)
	case stEmpty:
		c.anyErr.Add(1)
	case stOther:
		c.other.Add(1)
	case stInvalid:
		if !a.tooBig {
			c.invalid.Add(1)
		}
	}
}

// WriteShow writes "show resolvers" for this section in HAProxy 2.6's
// layout (sections follow each other without a blank line).
func (r *Resolvers) WriteShow(w io.Writer) {
	fmt.Fprintf(w, "Resolvers section %s\n", r.Name)
	for _, ns := range r.ns {
		c := &ns.c
		fmt.Fprintf(w, " nameserver %s:\n", ns.name)
		for _, f := range []struct {
			k string
			v *atomic.Uint64
		}{{"sent:       ", &c.sent}, {"snd_error:  ", &c.sndError}, {"valid:      ", &c.valid},
			{"update:     ", &c.update}, {"cname:      ", &c.cname}, {"cname_error:", &c.cnameError},
			{"any_err:    ", &c.anyErr}, {"nx:         ", &c.nx}, {"timeout:    ", &c.timeout},
			{"refused:    ", &c.refused}, {"other:      ", &c.other}, {"invalid:    ", &c.invalid},
			{"too_big:    ", &c.tooBig}, {"truncated:  ", &c.truncated}, {"outdated:   ", &c.outdated}} {
			fmt.Fprintf(w, "  %s %d\n", f.k, f.v.Load())
		}
	}
}
