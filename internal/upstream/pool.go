package upstream

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// PoolKey is everything that shapes an upstream connection besides the
// server's address: a connection made for one key never carries a request
// for another.
type PoolKey struct {
	SNI          string
	ALPN         string // the offered ALPN list, comma-separated ("h2,http/1.1")
	ClientCertID string // identifies the client certificate presented, "" for none
	// Client makes a connection private to one client address: a server
	// with send-proxy received that client's address in the PROXY header,
	// so the connection can never carry another client's request.
	Client netip.AddrPort
	// Dst is the address dialled instead of the server's: a server at
	// 0.0.0.0 connects to each request's destination. Invalid otherwise.
	Dst netip.AddrPort
	// Owner makes a connection private to one client session
	// ("http-reuse never"); 0 for shared connections.
	Owner uint64
}

// Conn is an upstream connection, idle in a pool or in use.
type Conn struct {
	net.Conn              // the TLS conn when the server has ssl, else Raw
	Raw      *net.TCPConn // the TCP connection underneath
	Wire     net.Conn     // Raw as the codec's bytes reach it (a sock.Conn, or Raw)
	Key      PoolKey
	Proto    string // negotiated ALPN protocol, "" when none
	// ClientRandom and ServerRandom are the TLS handshake's randoms
	// (ssl_bc_*_random).
	ClientRandom, ServerRandom []byte
	Reused                     int // times taken from the pool
	// Codec is the proxy's reader/writer state for this connection; the
	// pool keeps it as is (release big buffers before Put).
	Codec any

	rc       syscall.RawConn
	peekFn   func(fd uintptr) bool
	peekBuf  [1]byte
	peekLive bool
	peekData bool

	pool       *Pool
	inUse      atomic.Bool // counted in pool's used connections
	kprev      *Conn       // per-key LIFO list
	knext      *Conn
	older      *Conn // pool-wide age list
	newer      *Conn
	idleListed bool

	// ssl: the maxsslconn count this TLS connection holds until Close.
	ssl atomic.Pointer[ratelimit.SSLConns]

	// local, remote: Raw's addresses, read once (bc_src, bc_dst and the
	// log's %bi %bp ask for them on every request it carries).
	local, remote netip.AddrPort
}

// Addrs returns the TCP connection's local and remote addresses (IPv4
// unmapped); zero without one.
func (c *Conn) Addrs() (local, remote netip.AddrPort) { return c.local, c.remote }

func tcpAddrPort(a net.Addr) netip.AddrPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// NewConn wraps an established connection. nc is what requests are
// written to (a *tls.Conn over raw, or raw itself); raw may be nil for
// connections that are not TCP (no liveness check then).
func NewConn(nc net.Conn, raw *net.TCPConn, key PoolKey) *Conn {
	c := &Conn{Conn: nc, Raw: raw, Key: key}
	if nc == nil && raw != nil {
		c.Conn = raw
	}
	c.Wire = c.Conn
	if tc, ok := nc.(*tls.Conn); ok {
		c.Wire = tc.NetConn()
	}
	if raw != nil {
		c.local, c.remote = tcpAddrPort(raw.LocalAddr()), tcpAddrPort(raw.RemoteAddr())
		if rc, err := raw.SyscallConn(); err == nil {
			c.rc = rc
			c.peekFn = c.peek
		}
	}
	return c
}

// CloseWrite ends the direction towards the server and keeps the other
// open (a tunnel whose client finished sending): close_notify over TLS, a
// TCP FIN in clear text.
func (c *Conn) CloseWrite() error {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.CloseWrite()
	}
	if c.Raw == nil {
		return errors.New("upstream: no TCP connection to half-close")
	}
	return c.Raw.CloseWrite()
}

// Close closes the connection; one in use stops counting as used.
func (c *Conn) Close() error {
	if c.inUse.CompareAndSwap(true, false) {
		c.pool.used.Add(-1)
	}
	if s := c.ssl.Swap(nil); s != nil {
		s.Done()
	}
	return c.Conn.Close()
}

// Alive checks, without blocking, that an idle connection is still usable:
// any readable byte or EOF means the server closed it or sent something
// unexpected. Connections without a raw TCP conn are assumed alive.
//
// On a TLS connection readable bytes may be TLS 1.3 post-handshake
// messages (session tickets) a server sent after the last response; those
// are read through the TLS layer, which consumes them, and the connection
// is alive unless application data, an alert or EOF shows up.
func (c *Conn) Alive() bool {
	if c.rc == nil {
		return true
	}
	c.peekLive, c.peekData = false, false
	// A read deadline that expired while the connection sat idle would
	// fail the raw read before it looks; the caller re-arms its own.
	_ = c.Raw.SetReadDeadline(time.Time{})
	if err := c.rc.Read(c.peekFn); err != nil {
		return false
	}
	if c.peekLive {
		return true
	}
	if tc, ok := c.Conn.(*tls.Conn); ok && c.peekData {
		return drainTLS(tc, c.peekBuf[:])
	}
	return false
}

// drainTLS reads pending records with a short deadline: a timeout means
// only handshake-level messages were pending.
func drainTLS(tc *tls.Conn, buf []byte) bool {
	if tc.SetReadDeadline(time.Now().Add(time.Millisecond)) != nil {
		return false
	}
	_, err := tc.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return false // application data, alert or EOF
	}
	return tc.SetReadDeadline(time.Time{}) == nil
}

// PoolOptions bound a server's idle connections.
type PoolOptions struct {
	// MaxIdle is "pool-max-conn": < 0 unlimited, 0 keeps none.
	MaxIdle int
	// MaxReuse is "max-reuse": how many times a connection may be taken
	// from the pool; < 0 unlimited.
	MaxReuse int
	// IdleTimeout is the purge period (pool-purge-delay): while idle
	// connections exist, every period closes half of those beyond what
	// was needed lately. As in HAProxy, an idle connection has no age
	// limit of its own: one kept for the peak a burst needed is there for
	// the next burst instead of being dialed again (bench/profile.md, the
	// fixed-rate tail after a stall); one the server closed is found by
	// the liveness probe or the retry. 0 means no purge.
	IdleTimeout time.Duration
	// LowConn is "pool-low-conn": idle connections kept beyond the
	// estimate of what is needed (srv_add_to_idle_list's low_idle_conns).
	LowConn int
}

// DefaultIdleTimeout is the purge period by default (HAProxy's
// pool-purge-delay default).
const DefaultIdleTimeout = 5 * time.Second

// PoolOptionsFor reads pool-max-conn, max-reuse, pool-purge-delay and
// pool-low-conn from cs. The model cannot tell "unset" from 0 for the
// first two, so 0 reads as unset (unlimited, HAProxy's default) and
// negative values as unlimited. pool-purge-delay is the purge period
// (DefaultIdleTimeout when unset); 0 keeps no idle connection, as
// HAProxy's srv_add_to_idle_list keeps none then.
func PoolOptionsFor(cs *config.Server) PoolOptions {
	o := PoolOptions{MaxIdle: -1, MaxReuse: -1, IdleTimeout: DefaultIdleTimeout, LowConn: cs.PoolLowConn}
	if cs.PoolMaxConn > 0 {
		o.MaxIdle = cs.PoolMaxConn
	}
	if cs.MaxReuse > 0 {
		o.MaxReuse = cs.MaxReuse
	}
	if d := cs.PoolPurgeDelay; d != nil {
		o.IdleTimeout = *d
		if *d == 0 {
			o.MaxIdle = 0
		}
	}
	return o
}

// Pool keeps a server's idle connections by key, most recently used
// first. One timer (time.AfterFunc, no resident goroutine) closes those
// idle past IdleTimeout.
type Pool struct {
	opts     PoolOptions
	counters *counters.Server

	// The connections in use, the most of them since the last purge, and
	// the estimate of how many are needed: HAProxy's curr_used_conns,
	// max_used_conns and est_need_conns, which decide how many idle
	// connections are worth keeping (approximate under concurrency, as
	// HAProxy's are).
	used, maxUsed, estNeed atomic.Int64

	mu     sync.Mutex
	byKey  map[PoolKey]*Conn // head (most recent) of each key's list
	oldest *Conn
	newest *Conn
	n      int
	safe   int // idle connections that have been reused
	timer  *time.Timer
	armed  bool
	closed bool

	// plain is the zero key's head, kept out of byKey: a server without
	// TLS, source address or owner has only that key, and hashing it
	// (three strings, two addresses) twice per take and twice per put
	// cost 2.6% of plain's CPU per request (bench/profile.md).
	plain *Conn
}

// NewPool makes a pool; c may be nil (no reuse counting).
func NewPool(o PoolOptions, c *counters.Server) *Pool {
	return &Pool{opts: o, counters: c, byKey: make(map[PoolKey]*Conn)}
}

// Use counts c, freshly connected, as one of the server's connections in
// use until it is put back or closed.
func (p *Pool) Use(c *Conn) {
	c.pool = p
	if c.inUse.CompareAndSwap(false, true) {
		p.noteUsed()
	}
}

// noteUsed counts one more connection in use and raises the peak and the
// estimate with it (HAProxy's srv_use_conn).
func (p *Pool) noteUsed() {
	cur := p.used.Add(1)
	if p.maxUsed.Load() < cur {
		p.maxUsed.Store(cur)
	}
	if p.estNeed.Load() < cur {
		p.estNeed.Store(cur)
	}
}

// UsedConns and NeedConnEst are the stats' used_conn_cur and need_conn_est.
func (p *Pool) UsedConns() int64   { return max(p.used.Load(), 0) }
func (p *Pool) NeedConnEst() int64 { return p.estNeed.Load() }

// Options returns the pool's options.
func (p *Pool) Options() PoolOptions { return p.opts }

// Len is the number of idle connections.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// IdleCounts counts the shared idle connections as HAProxy's stats do:
// unsafe ones have carried a single request, safe ones have been reused.
// A session's private connections (http-reuse never) are not counted.
func (p *Pool) IdleCounts() (unsafe, safe int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := p.oldest; c != nil; c = c.newer {
		switch {
		case c.Key.Owner != 0:
		case c.Reused > 0:
			safe++
		default:
			unsafe++
		}
	}
	return unsafe, safe
}

// Get returns the most recently used live idle connection for key, or nil.
// Dead connections met on the way are closed.
func (p *Pool) Get(key PoolKey) *Conn { return p.Take(key, true) }

// Take is Get with the liveness probe optional: a caller that can replay
// its request on a fresh connection when a reused one turns out closed
// (idempotent requests) skips the probe's syscall, as HAProxy does.
func (p *Pool) Take(key PoolKey, probe bool) *Conn { return p.take(key, probe, false) }

// TakeProven is Take limited to connections that have already been
// reused (carried more than one request): HAProxy's "safe" idle list, the
// only one "http-reuse aggressive" lets a session's first request take.
func (p *Pool) TakeProven(key PoolKey, probe bool) *Conn { return p.take(key, probe, true) }

func (p *Pool) take(key PoolKey, probe bool, provenOnly bool) *Conn {
	for {
		p.mu.Lock()
		c := p.head(key)
		for provenOnly && c != nil && c.Reused == 0 {
			c = c.knext
		}
		if c == nil {
			p.mu.Unlock()
			return nil
		}
		p.unlink(c)
		p.mu.Unlock()
		if probe && !c.Alive() {
			c.Close()
			continue
		}
		c.Reused++
		if c.inUse.CompareAndSwap(false, true) {
			p.noteUsed()
		}
		if p.counters != nil {
			p.counters.Reuse.Add(1)
		}
		return c
	}
}

// Has reports an idle connection of key.
func (p *Pool) Has(key PoolKey) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.head(key) != nil
}

// CloseKey closes the idle connections of key: a session's private ones
// when it ends.
func (p *Pool) CloseKey(key PoolKey) {
	var list []*Conn
	p.mu.Lock()
	for c := p.head(key); c != nil; c = p.head(key) {
		p.unlink(c)
		list = append(list, c)
	}
	p.mu.Unlock()
	for _, c := range list {
		c.Close()
	}
}

// Put returns a connection after a complete exchange. It is closed
// instead when reuse is exhausted, the pool keeps none or is closed; when
// the pool is full the oldest idle connection makes room.
func (p *Pool) Put(c *Conn) {
	if c == nil {
		return
	}
	if p.opts.MaxIdle == 0 || (p.opts.MaxReuse >= 0 && c.Reused >= p.opts.MaxReuse) {
		c.Close()
		return
	}
	var victim *Conn
	p.mu.Lock()
	if p.closed || c.idleListed || !p.wanted(c) {
		p.mu.Unlock()
		if !c.idleListed {
			c.Close()
		}
		return
	}
	if c.inUse.CompareAndSwap(true, false) {
		p.used.Add(-1)
	}
	if p.opts.MaxIdle > 0 && p.n >= p.opts.MaxIdle {
		victim = p.oldest
		p.unlink(victim)
	}
	p.link(c)
	if p.opts.IdleTimeout > 0 && !p.armed {
		p.armed = true
		if p.timer == nil {
			p.timer = time.AfterFunc(p.opts.IdleTimeout, p.sweep)
		} else {
			p.timer.Reset(p.opts.IdleTimeout)
		}
	}
	p.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
}

// wanted is HAProxy's srv_add_to_idle_list test for a connection coming
// back idle: kept when there is no idle connection it would compete with,
// or when the connections in use and idle together stay within what was
// needed lately (est_need_conns) plus pool-low-conn. Without it every client connection's
// first request, which "http-reuse safe" sends over a new server
// connection, would leave one more idle connection behind until the
// purge. Called with p.mu held; c still counts as used.
func (p *Pool) wanted(c *Conn) bool {
	if c.Key.Owner != 0 || c.Key.Client.IsValid() {
		return true // private to a session or a client: bounded by them
	}
	if p.safe == 0 && (c.Reused > 0 || p.n == 0) {
		return true
	}
	used := p.used.Load()
	if !c.inUse.Load() {
		used++ // not counted (a caller that did not Use it): count it now
	}
	return used+int64(p.n) <= max(used, p.estNeed.Load())+int64(p.opts.LowConn)
}

// purge is HAProxy's periodic idle-connection cleanup, every
// pool-purge-delay while there are idle connections: the estimate moves
// halfway to the last period's peak (never below it), and half of the
// connections beyond what was needed are closed, oldest first. Called
// with p.mu held; returns the connections to close.
func (p *Pool) purge(list []*Conn) []*Conn {
	used, peak := p.used.Load(), p.maxUsed.Load()
	exceed := used + int64(p.n) - max(peak, p.estNeed.Load())
	if exceed > 0 {
		exceed = exceed/2 + exceed&1 // half, rounded up
	}
	est := (p.estNeed.Load() + peak) / 2
	p.estNeed.Store(max(est, peak))
	p.maxUsed.Store(used)
	for ; exceed > 0 && p.oldest != nil; exceed-- {
		c := p.oldest
		p.unlink(c)
		list = append(list, c)
	}
	return list
}

// CloseIdle closes every idle connection (reload, shutdown).
func (p *Pool) CloseIdle() {
	p.mu.Lock()
	var list []*Conn
	for c := p.oldest; c != nil; c = p.oldest {
		p.unlink(c)
		list = append(list, c)
	}
	p.mu.Unlock()
	for _, c := range list {
		c.Close()
	}
}

// Close closes the idle connections and makes later Puts close theirs.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
		p.armed = false
	}
	p.mu.Unlock()
	p.CloseIdle()
}

// sweep is HAProxy's srv_cleanup_idle_conns for this server: a purge every
// IdleTimeout for as long as idle connections remain.
func (p *Pool) sweep() {
	var list []*Conn
	p.mu.Lock()
	list = p.purge(list)
	if p.oldest != nil && !p.closed {
		p.timer.Reset(p.opts.IdleTimeout)
	} else {
		p.armed = false
	}
	p.mu.Unlock()
	for _, c := range list {
		c.Close()
	}
}

// link adds c as the most recent connection of its key and of the pool.
func (p *Pool) link(c *Conn) {
	c.pool = p
	c.idleListed = true
	head := p.head(c.Key)
	c.kprev, c.knext = nil, head
	if head != nil {
		head.kprev = c
	}
	p.setHead(c.Key, c)
	c.older, c.newer = p.newest, nil
	if p.newest != nil {
		p.newest.newer = c
	} else {
		p.oldest = c
	}
	p.newest = c
	p.n++
	if c.Reused > 0 {
		p.safe++
	}
}

// head is the most recent idle connection of key (p.mu held).
func (p *Pool) head(key PoolKey) *Conn {
	if key == (PoolKey{}) {
		return p.plain
	}
	return p.byKey[key]
}

// setHead makes c (nil: none) the head of key's list (p.mu held).
func (p *Pool) setHead(key PoolKey, c *Conn) {
	switch {
	case key == (PoolKey{}):
		p.plain = c
	case c == nil:
		delete(p.byKey, key)
	default:
		p.byKey[key] = c
	}
}

func (p *Pool) unlink(c *Conn) {
	if c.kprev != nil {
		c.kprev.knext = c.knext
	} else {
		p.setHead(c.Key, c.knext)
	}
	if c.knext != nil {
		c.knext.kprev = c.kprev
	}
	if c.older != nil {
		c.older.newer = c.newer
	} else {
		p.oldest = c.newer
	}
	if c.newer != nil {
		c.newer.older = c.older
	} else {
		p.newest = c.older
	}
	c.kprev, c.knext, c.older, c.newer = nil, nil, nil, nil
	c.idleListed = false
	p.n--
	if c.Reused > 0 {
		p.safe--
	}
}
