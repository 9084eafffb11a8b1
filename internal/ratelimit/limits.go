package ratelimit

import (
	"sync"
	"sync/atomic"
	"time"
)

// Process is the process-wide state of the global limits: HAProxy's
// global.conn_per_sec, sess_per_sec, ssl_per_sec and comp_bps_in/out with
// their limits. One exists per running configuration (a reload starts
// from zero, as a new HAProxy process does); the runtime API changes the
// limits at run time ("set rate-limit").
type Process struct {
	Conn    Counter // connections accepted
	Sess    Counter // sessions: connections past the tcp-request connection rules
	SSL     Counter // sessions on SSL binds
	CompIn  Counter // bytes fed to the compressor
	CompOut Counter // bytes the compressor produced

	connLim, sessLim, sslLim atomic.Uint64 // per second; 0: none
	compLim                  atomic.Uint64 // compression input, bytes per second; 0: none
	// minIdle is 100 - maxcompcpuusage: below this idle percentage new
	// responses are not compressed; 0: no limit.
	minIdle int

	// Accepted connections whose tcp-request connection rules have not
	// run yet: they count against the session limits until they do, so
	// that a burst is not all accepted before the first is counted
	// (HAProxy runs those rules inside its accept loop).
	pendSess, pendSSL atomic.Int64

	// SSL counts the live TLS connections against maxsslconn.
	SSLConns *SSLConns

	mu      sync.Mutex
	changed chan struct{} // closed when a limit changes (listeners waiting look again)
}

// Config is the configuration's global limits; zero means none.
type Config struct {
	ConnRate, SessRate, SSLRate int
	MaxSSLConn                  int // maxsslconn
	CompRate                    int // kB/s
	CompCPU                     int // percent; 100 (or unset) disables
	CompCPUSet                  bool
}

// NewProcess returns the state for cfg's limits.
func NewProcess(cfg Config) *Process {
	p := &Process{changed: make(chan struct{}), SSLConns: NewSSLConns(cfg.MaxSSLConn)}
	p.connLim.Store(uint64(cfg.ConnRate))
	p.sessLim.Store(uint64(cfg.SessRate))
	p.sslLim.Store(uint64(cfg.SSLRate))
	p.compLim.Store(uint64(cfg.CompRate) * 1024)
	if cfg.CompCPUSet && cfg.CompCPU < 100 {
		p.minIdle = 100 - cfg.CompCPU
	}
	return p
}

// Limit names a limit the runtime API sets ("set rate-limit <name> global").
type Limit uint8

const (
	ConnLimit Limit = iota // connections per second (maxconnrate)
	SessLimit              // sessions per second (maxsessrate)
	SSLLimit               // SSL sessions per second (maxsslrate)
	CompLimit              // compression input, bytes per second (maxcomprate * 1024)
)

func (p *Process) limit(l Limit) *atomic.Uint64 {
	switch l {
	case ConnLimit:
		return &p.connLim
	case SessLimit:
		return &p.sessLim
	case SSLLimit:
		return &p.sslLim
	}
	return &p.compLim
}

// Set changes a limit at run time (0: none) and wakes the listeners
// waiting on the old one.
func (p *Process) Set(l Limit, v uint64) {
	p.limit(l).Store(v)
	p.mu.Lock()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// Get returns a limit in force (0: none).
func (p *Process) Get(l Limit) uint64 { return p.limit(l).Load() }

// Changed returns a channel closed at the next Set.
func (p *Process) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// Compress reports whether a response may start being compressed at now:
// not while the compression input rate is above maxcomprate, nor while
// the process is busier than maxcompcpuusage allows (idle is the
// process's idle percentage, -1 when not measured yet). HAProxy decides
// this once per response, on its headers.
func (p *Process) Compress(now int64, idle func() int) bool {
	if lim := p.compLim.Load(); lim > 0 && p.CompIn.Read(now) > lim {
		return false
	}
	if p.minIdle > 0 {
		if pct := idle(); pct >= 0 && pct < p.minIdle {
			return false
		}
	}
	return true
}

// Compressed counts compressor input and output bytes.
func (p *Process) Compressed(now int64, in, out uint64) {
	if in > 0 {
		p.CompIn.Add(now, in)
	}
	if out > 0 {
		p.CompOut.Add(now, out)
	}
}

// Frontend is a frontend's "rate-limit sessions": its own session counter
// (HAProxy's fe_sess_per_sec) and limit.
type Frontend struct {
	Sess  Counter
	limit uint64
	pend  atomic.Int64
}

// NewFrontend returns the state of a frontend limited to perSec sessions
// per second; nil when perSec is 0 (no limit).
func NewFrontend(perSec int) *Frontend {
	if perSec <= 0 {
		return nil
	}
	return &Frontend{limit: uint64(perSec)}
}

// Limit is the configured rate (0 for a nil Frontend).
func (f *Frontend) Limit() uint64 {
	if f == nil {
		return 0
	}
	return f.limit
}

// Gate is what one listener checks before each accept: the process's
// limits, its frontend's, and whether it is an SSL bind.
type Gate struct {
	P   *Process
	FE  *Frontend // nil: the frontend has no rate-limit sessions
	SSL bool
	// AfterRules: tcp-request connection rules run on each connection
	// after the accept and report through Admitted; otherwise the session
	// counts at the accept.
	AfterRules bool
}

func pending(a *atomic.Int64) uint64 { return uint64(max(a.Load(), 0)) }

// Delay is how long the listener waits before it may accept at now: 0
// when every limit allows one more, else until the first moment all do
// (the longest of the limits' waits), as HAProxy's listener_accept puts a
// limited listener aside until then.
func (g *Gate) Delay(now int64) time.Duration {
	var d time.Duration
	p := g.P
	if lim := p.sessLim.Load(); lim > 0 {
		d = max(d, p.Sess.Delay(now, lim, pending(&p.pendSess)))
	}
	if lim := p.connLim.Load(); lim > 0 {
		d = max(d, p.Conn.Delay(now, lim, 0))
	}
	if lim := p.sslLim.Load(); lim > 0 && g.SSL {
		d = max(d, p.SSL.Delay(now, lim, pending(&p.pendSSL)))
	}
	if f := g.FE; f != nil {
		d = max(d, f.Sess.Delay(now, f.limit, pending(&f.pend)))
	}
	return d
}

// Accepted counts a connection the listener accepted at now; its session
// counts now too unless AfterRules (then Admitted counts it).
func (g *Gate) Accepted(now int64) {
	g.P.Conn.Add(now, 1)
	if !g.AfterRules {
		g.session(now)
		return
	}
	g.P.pendSess.Add(1)
	if g.SSL {
		g.P.pendSSL.Add(1)
	}
	if g.FE != nil {
		g.FE.pend.Add(1)
	}
}

// Admitted reports, once per connection accepted with AfterRules, the
// outcome of its tcp-request connection rules: a connection they accept
// is a session (counted at now), a rejected one never was.
func (g *Gate) Admitted(now int64, ok bool) {
	g.P.pendSess.Add(-1)
	if g.SSL {
		g.P.pendSSL.Add(-1)
	}
	if g.FE != nil {
		g.FE.pend.Add(-1)
	}
	if ok {
		g.session(now)
	}
}

func (g *Gate) session(now int64) {
	g.P.Sess.Add(now, 1)
	if g.SSL {
		g.P.SSL.Add(now, 1)
	}
	if g.FE != nil {
		g.FE.Sess.Add(now, 1)
	}
}
