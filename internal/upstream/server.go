// Package upstream holds the runtime side of backends: servers and their
// states, load-balancing algorithms, the backend queue, idle connection
// pools and the dialer.
//
// Semantics follow HAProxy's: weights 0..256, backup servers used only when
// no active server is usable (the first usable backup, or all of them with
// "option allbackups"), maxconn slots, "timeout queue", map-based hashing.
package upstream

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// MaxWeight is the highest server weight HAProxy accepts.
const MaxWeight = 256

// Server is the runtime object of one "server" line. It is safe for
// concurrent use; state changes notify the watchers registered with
// OnChange (the farm's balancer among them).
type Server struct {
	Name   string
	ID     int // 1-based declaration order (HAProxy's numeric id)
	Backup bool
	Cfg    *config.Server // the configuration it was built from
	// Socks4 is the SOCKS4 proxy its connections go through ("socks4");
	// invalid when none.
	Socks4 netip.AddrPort
	// TCPKeepAlive ("option srvtcpka" on the backend) turns SO_KEEPALIVE
	// on for its connections; set before the server is used.
	TCPKeepAlive bool
	// SSLConns is the runtime's maxsslconn count, which a TLS connection
	// to the server takes (dial.go); nil: not counted.
	SSLConns *ratelimit.SSLConns
	// Sock are its connections' socket options (dialsock.go); nil: none.
	// Set before the server is used.
	Sock *SockOpts

	lbIndex int // its position in the farm's servers (leastconn's stamps)

	addr       atomic.Pointer[netip.AddrPort] // changes when DNS moves the server (SetAddr)
	initWeight int
	maxConn    atomic.Int64 // 0: unlimited; an agent's "maxconn:N" changes it
	minConn    atomic.Int64 // below maxConn: the limit scales with the backend's load (fullconn)
	maxQueue   int64        // requests that may wait for this server in particular; 0: no limit
	queued     atomic.Int64
	rise, fall int32
	checked    bool

	weight      atomic.Int32           // user weight (config, then SetWeight)
	admin       atomic.Uint32          // AdminState set by the operator or the configuration
	rmaint      atomic.Bool            // MAINT (resolution): DNS gives the server no address
	hostname    atomic.Pointer[string] // the SRV target DNS bound the server to
	hostnameSet atomic.Bool            // hostname was set once
	op          atomic.Uint32          // OpState
	health      atomic.Int32           // check health counter, owned by the health package
	agentHealth atomic.Int32           // -1 without an agent check; else its health (0 or 1)
	sess        sessions               // streams to cut on-marked-down / on-marked-up
	tracked     *Server                // "track": the server whose state this one follows
	trackName   string                 // its "backend/server"
	imaint      atomic.Bool            // maintenance inherited from the tracked server
	idrain      atomic.Bool            // drain inherited from the tracked server

	lastChange atomic.Int64 // unix nanoseconds of the last state change
	downSince  atomic.Int64 // unix nanoseconds when it went down, 0 when not down
	downTotal  atomic.Int64 // accumulated downtime in nanoseconds
	chkDown    atomic.Uint64

	// Counters are the per-server statistics. CurSess is the connection
	// slot count that TryAcquire and Release maintain.
	Counters counters.Server

	pool *Pool
	farm atomic.Pointer[Farm]

	mu       sync.Mutex // guards watchers and serializes state transitions
	watchers []func(*Server)

	monitor Monitor // health checker; set while building, before traffic
	agent   any     // agent checker (health.Agent); set while building
}

// NewServer builds the runtime server for cs (default-server already
// applied) at the resolved address addr. id is its 1-based position in the
// backend. A "disabled" server starts in MAINT; every server starts
// operationally UP, with the check health at rise so the first failed
// check takes it down, as HAProxy does.
func NewServer(cs *config.Server, id int, addr netip.AddrPort) *Server {
	w := min(max(cs.Weight, 0), MaxWeight)
	rise, fall := cs.Rise, cs.Fall
	if rise <= 0 {
		rise = 2
	}
	if fall <= 0 {
		fall = 3
	}
	s := &Server{
		Name:       cs.Name,
		ID:         id,
		Backup:     cs.Backup,
		Cfg:        cs,
		initWeight: w,
		maxQueue:   int64(max(cs.MaxQueue, 0)),
		rise:       int32(rise),
		fall:       int32(fall),
		checked:    cs.Check,
	}
	// As HAProxy's configuration check: minconn alone (or above maxconn)
	// becomes maxconn; maxconn alone is a static limit.
	mx := int64(max(cs.MaxConn, 0))
	if mn := int64(max(cs.MinConn, 0)); mn > mx {
		mx = mn
		s.minConn.Store(mn)
	} else if mn > 0 {
		s.minConn.Store(mn)
	} else {
		s.minConn.Store(mx)
	}
	s.maxConn.Store(mx)
	s.addr.Store(&addr)
	s.weight.Store(int32(w))
	s.health.Store(int32(rise))
	s.agentHealth.Store(-1)
	if cs.Disabled {
		s.admin.Store(uint32(AdminMaint))
	}
	s.pool = NewPool(PoolOptionsFor(cs), &s.Counters)
	return s
}

// ResolveServer resolves cs.Host and builds the server.
func ResolveServer(ctx context.Context, cs *config.Server, id int) (*Server, error) {
	ap, err := Resolve(ctx, cs.Host, cs.Port)
	if err != nil {
		return nil, fmt.Errorf("server '%s': %w", cs.Name, err)
	}
	return NewServer(cs, id, ap), nil
}

// Resolve turns host and port into an address. IP literals (with or
// without brackets) are parsed; names go to net.DefaultResolver and the
// first address returned is kept, like HAProxy's "init-addr libc".
func Resolve(ctx context.Context, host string, port int) (netip.AddrPort, error) {
	if port < 0 || port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("invalid port %d", port)
	}
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(h); err == nil {
		return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
	}
	if h == "" {
		return netip.AddrPort{}, fmt.Errorf("empty server address")
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("could not resolve address '%s': %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("could not resolve address '%s'", host)
	}
	return netip.AddrPortFrom(addrs[0].Unmap(), uint16(port)), nil
}

// Addr is the server's address. Port 0 means "the client's destination
// port" (the caller substitutes it).
func (s *Server) Addr() netip.AddrPort { return *s.addr.Load() }

// Pool is the server's idle connection pool.
func (s *Server) Pool() *Pool { return s.pool }

// Farm is the farm the server belongs to, nil before NewFarm.
func (s *Server) Farm() *Farm { return s.farm.Load() }

// MaxConn is the connection slot limit, 0 for unlimited.
func (s *Server) MaxConn() int { return int(s.maxConn.Load()) }

// SetMaxConn changes maxconn at run time as HAProxy's
// server_parse_maxconn_change_request: a static limit (minconn equal to
// maxconn) moves both, a dynamic one only its ceiling.
func (s *Server) SetMaxConn(n int) {
	s.mu.Lock()
	if s.minConn.Load() == s.maxConn.Load() {
		s.minConn.Store(int64(n))
	}
	s.maxConn.Store(int64(n))
	s.mu.Unlock()
	if f := s.farm.Load(); f != nil {
		f.queue.slotFreed()
	}
}

// Queued returns how many requests wait for this server in particular.
func (s *Server) Queued() int { return int(s.queued.Load()) }

// MaxQueue returns the server's maxqueue; 0: no limit.
func (s *Server) MaxQueue() int { return int(s.maxQueue) }

// Cur is the number of slots currently held.
func (s *Server) Cur() int { return int(s.Counters.CurSess.Load()) }

// Full reports whether every connection slot is taken.
func (s *Server) Full() bool {
	m := s.limit()
	return m > 0 && s.Counters.CurSess.Load() >= m
}

// limit is the connection limit now: maxconn, or with minconn below it,
// HAProxy's srv_dynamic_maxconn: max(minconn, beconn*maxconn/fullconn)
// until the backend holds fullconn connections.
func (s *Server) limit() int64 {
	mx, mn := s.maxConn.Load(), s.minConn.Load()
	if mn >= mx {
		return mx
	}
	f := s.farm.Load()
	if f == nil || f.opts.BackendConns == nil || f.opts.FullConn <= 0 {
		return mx
	}
	be := f.opts.BackendConns.Load()
	if be >= f.opts.FullConn {
		return mx
	}
	return max(mn, be*mx/f.opts.FullConn)
}

// TryAcquire takes a connection slot unless the server is at maxconn.
// Balancers call it on the server they return; whoever holds a slot calls
// Release exactly once.
func (s *Server) TryAcquire() bool {
	c := &s.Counters.CurSess
	m := s.limit()
	if m <= 0 {
		s.Counters.NoteCur(c.Add(1))
		return true
	}
	for {
		cur := c.Load()
		if cur >= m {
			return false
		}
		if c.CompareAndSwap(cur, cur+1) {
			s.Counters.NoteCur(cur + 1)
			return true
		}
	}
}

// Acquire is TryAcquire (the name HAProxy users look for).
func (s *Server) Acquire() bool { return s.TryAcquire() }

// Release gives a slot back and lets the farm's queue use it.
func (s *Server) Release() {
	s.Counters.CurSess.Add(-1)
	if f := s.farm.Load(); f != nil {
		f.queue.slotFreed()
	}
}

// Weight is the user weight: the configured one until SetWeight.
func (s *Server) Weight() int { return int(s.weight.Load()) }

// InitialWeight is the configured weight.
func (s *Server) InitialWeight() int { return s.initWeight }

// EffectiveWeight is the weight new load-balanced traffic sees: 0 when the
// server is not usable.
func (s *Server) EffectiveWeight() int {
	if !s.Usable() {
		return 0
	}
	return int(s.weight.Load())
}

// Usable reports whether the server takes new load-balanced traffic:
// operationally UP (not DOWN, not NOLB), admin READY (not DRAIN, not MAINT)
// and a weight above zero.
func (s *Server) Usable() bool {
	return OpState(s.op.Load()) == OpUp && s.Admin() == AdminReady && s.weight.Load() > 0
}

// Reachable reports whether the server may carry traffic that is already
// bound to it (persistence, established sessions): not DOWN and not MAINT.
// DRAIN and NOLB servers are reachable but not Usable.
func (s *Server) Reachable() bool {
	return OpState(s.op.Load()) != OpDown && s.Admin() != AdminMaint
}

// SetWeight changes the user weight at runtime (HAProxy "set weight").
// Dynamic algorithms (roundrobin, leastconn) follow it at once; static ones
// (static-rr, first and the map-based hashes) only see 0 or non-zero.
func (s *Server) SetWeight(w int) error {
	if w < 0 || w > MaxWeight {
		return fmt.Errorf("weight %d out of range 0..%d", w, MaxWeight)
	}
	s.mu.Lock()
	old := s.weight.Swap(int32(w))
	s.mu.Unlock()
	if old != int32(w) {
		s.changed()
	}
	return nil
}

// OnChange registers fn to run after every change of state or weight. fn
// runs synchronously in the goroutine that made the change, so it must be
// quick. Register watchers while building the runtime graph.
func (s *Server) OnChange(fn func(*Server)) {
	s.mu.Lock()
	s.watchers = append(s.watchers, fn)
	s.mu.Unlock()
}

func (s *Server) changed() {
	s.mu.Lock()
	ws := s.watchers
	s.mu.Unlock()
	for _, fn := range ws {
		fn(s)
	}
}

func (s *Server) String() string { return s.Name }

// Outcome is what the proxy saw of one exchange with a server, for passive
// health checks ("observe layer4|layer7").
type Outcome uint8

const (
	OutcomeL4OK        Outcome = iota + 1 // connection established
	OutcomeL4Err                          // connection failed or timed out
	OutcomeHTTP                           // a response arrived; status carries its code
	OutcomeHTTPInvalid                    // the response could not be parsed
	OutcomeReadTimeout                    // no response within timeout server
	OutcomeReadError                      // read error while waiting for the response
	OutcomeBrokenPipe                     // the server closed before responding
)

// Monitor is the health checker attached to a server (internal/health).
type Monitor interface {
	Observe(o Outcome, status int)
}

// SetMonitor attaches the server's health checker; call it while building
// the runtime graph, before the server takes traffic.
func (s *Server) SetMonitor(m Monitor) { s.monitor = m }

// SetAgent attaches the server's agent checker, for the stats to read;
// call it while building the runtime graph.
func (s *Server) SetAgent(a any) { s.agent = a }

// Agent returns the attached agent checker, nil without "agent-check".
func (s *Server) Agent() any { return s.agent }

// Monitor returns the attached health checker, nil without "check".
func (s *Server) Monitor() Monitor { return s.monitor }

// Observe reports an exchange outcome to the server's health checker. It
// is cheap: a nil check without a checker, a few atomics with one.
func (s *Server) Observe(o Outcome, status int) {
	if m := s.monitor; m != nil {
		m.Observe(o, status)
	}
}
