package app

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// HTTP/3 listeners. A QUIC bind's UDP socket outlives reloads as a TCP
// listening socket does: one quic.Transport per address, its listener
// asking the current configuration for the TLS and QUIC settings of each
// new connection. A connection stays on its socket for life (QUIC routes
// by connection ID on it): a reload hands it over stream by stream as an
// HTTP/2 connection (proxy.ServeQUIC), and a bind the new configuration
// drops stops taking connections while its socket stays open until the
// ones it has end (each gets a GOAWAY).

// QUICBindSpec is one quic4@/quic6@ address and the listener serving it.
type QUICBindSpec struct {
	Addr     string
	Pos      config.Pos
	Frontend string
	L7       *proxy.Listener
	Slots    chan struct{} // the frontend's maxconn; nil: unlimited
	// BindSlots: this socket's own maxconn ("bind ... maxconn"); nil: none.
	BindSlots chan struct{}
	Gate      *ratelimit.Gate // the rate limits (rates.go); nil: none
}

// quicBox is what a configuration tells the listener of one address.
type quicBox struct {
	l7         *proxy.Listener
	tls        *tls.Config // l7's, offering h3 only, TLS 1.3
	conf       *quic.Config
	forceRetry bool
	slots      slotSet // the bind's, the frontend's and the global maxconn
	gate       *ratelimit.Gate
}

type quicListener struct {
	addr  string
	tr    *quic.Transport
	ln    *quic.EarlyListener
	cur   atomic.Pointer[quicBox]
	sock  proxy.Socket
	conns sync.WaitGroup // this socket's connections: it closes after them
	all   *sync.WaitGroup
	done  chan struct{}
	log   *slog.Logger
}

var errQUICNotReady = errors.New("quic listener not serving yet")

// quicSecret derives a key from cluster-secret (nil: none set).
func quicSecret(secret, use string) *[32]byte {
	if secret == "" {
		return nil
	}
	k := sha256.Sum256([]byte("gatehouse quic " + use + "\x00" + secret))
	return &k
}

func openQUIC(addr string, secret string, all *sync.WaitGroup, log *slog.Logger) (*quicListener, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	ql := &quicListener{addr: addr, all: all, done: make(chan struct{}), log: log}
	tr := &quic.Transport{
		Conn: pc,
		// quic-force-retry: a Retry before any handshake work.
		VerifySourceAddress: func(net.Addr) bool {
			b := ql.cur.Load()
			return b != nil && b.forceRetry
		},
	}
	// Without cluster-secret, Retry tokens use a random key of this
	// process and stateless resets are off (as HAProxy disables them).
	if k := quicSecret(secret, "token"); k != nil {
		tk := quic.TokenGeneratorKey(*k)
		tr.TokenGeneratorKey = &tk
	}
	if k := quicSecret(secret, "reset"); k != nil {
		rk := quic.StatelessResetKey(*k)
		tr.StatelessResetKey = &rk
	}
	tlsConf := &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			b := ql.cur.Load()
			if b == nil {
				return nil, errQUICNotReady
			}
			return b.tlsFor(hello)
		},
	}
	qconf := &quic.Config{
		GetConfigForClient: func(*quic.ClientInfo) (*quic.Config, error) {
			b := ql.cur.Load()
			if b == nil {
				return nil, errQUICNotReady // refused until a configuration serves it
			}
			return b.conf, nil
		},
	}
	ln, err := tr.ListenEarly(tlsConf, qconf)
	if err != nil {
		pc.Close()
		return nil, err
	}
	ql.tr, ql.ln = tr, ln
	return ql, nil
}

// tlsFor is the bind's TLS configuration for this client (its crt-list
// line or SNI certificate), offering h3 only.
func (b *quicBox) tlsFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if b.tls.GetConfigForClient == nil {
		return b.tls, nil
	}
	c, err := b.tls.GetConfigForClient(hello)
	if err != nil || c == nil {
		return b.tls, err
	}
	c = c.Clone()
	c.NextProtos = []string{http3.NextProtoH3}
	c.MinVersion = tls.VersionTLS13
	return c, nil
}

func newQUICBox(g *Graph, spec *QUICBindSpec, slots chan struct{}) *quicBox {
	l := spec.L7
	tc := l.TLS.Clone()
	tc.NextProtos = []string{http3.NextProtoH3}
	tc.MinVersion = tls.VersionTLS13
	if inner := l.TLS.GetConfigForClient; inner != nil {
		tc.GetConfigForClient = inner
	}
	t := g.Cfg.Global.QUIC
	return &quicBox{
		l7:  l,
		tls: tc,
		conf: &quic.Config{
			Allow0RTT:          l.Bind.Allow0RTT,
			MaxIdleTimeout:     t.MaxIdleTimeout,
			MaxIncomingStreams: int64(t.MaxStreamsBidi),
		},
		forceRetry: l.Bind.QUICForceRetry,
		slots:      newSlotSet(spec.BindSlots, spec.Slots, slots),
		gate:       spec.Gate,
	}
}

func (ql *quicListener) swap(b *quicBox) {
	ql.sock.Serve(b.l7)
	ql.cur.Store(b)
}

func (ql *quicListener) acceptLoop() {
	defer close(ql.done)
	for {
		qc, err := ql.ln.Accept(context.Background())
		if err != nil {
			return
		}
		b := ql.cur.Load()
		if !b.tryAcquire() {
			// maxconn reached: a UDP listener cannot stop accepting as a
			// TCP one pauses, so the connection is refused at once.
			_ = qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeExcessiveLoad), "maxconn")
			continue
		}
		if g := b.gate; g != nil {
			// A rate limit reached: refused at once too (quic-go has
			// done the handshake already, no backlog holds it).
			now := nowMillis()
			if g.Delay(now) > 0 {
				b.release()
				_ = qc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeExcessiveLoad), "rate limit")
				continue
			}
			g.Accepted(now)
		}
		ql.conns.Add(1)
		ql.all.Add(1)
		go func() {
			b.l7.ServeQUIC(qc, func() {
				b.release()
				ql.all.Done()
				ql.conns.Done()
			})
		}()
	}
}

func (b *quicBox) tryAcquire() bool { return b.slots.tryAcquire() }

func (b *quicBox) release() { b.slots.release() }

// stop ends accepting; the socket closes once the connections it carries
// have ended (closing it earlier would cut them).
func (ql *quicListener) stop() {
	ql.sock.Serve(nil)
	_ = ql.ln.Close()
	<-ql.done
	go func() {
		ql.conns.Wait()
		_ = ql.tr.Close()
		_ = ql.tr.Conn.Close()
	}()
}

// applyQUIC opens the QUIC sockets g has and the runtime has not; on
// failure nothing changes. commit then points them at g and stops the
// ones g dropped.
func (r *Runtime) openQUIC(g *Graph) (map[string]*quicListener, error) {
	opened := map[string]*quicListener{}
	seen := map[string]*QUICBindSpec{}
	for _, b := range g.QUICBinds {
		if prev, dup := seen[b.Addr]; dup {
			closeQUIC(opened)
			return nil, fmt.Errorf("parsing [%s] : address quic@%s is already bound by frontend '%s' (%s)", b.Pos, b.Addr, prev.Frontend, prev.Pos)
		}
		seen[b.Addr] = b
		if _, ok := r.quic[b.Addr]; ok {
			continue
		}
		ql, err := openQUIC(b.Addr, g.Cfg.Global.ClusterSecret, &r.conns, r.log)
		if err != nil {
			closeQUIC(opened)
			return nil, fmt.Errorf("parsing [%s] : cannot bind UDP socket (%v) for quic@%s", b.Pos, err, b.Addr)
		}
		opened[b.Addr] = ql
	}
	return opened, nil
}

func closeQUIC(m map[string]*quicListener) {
	for _, ql := range m {
		_ = ql.ln.Close()
		_ = ql.tr.Close()
		_ = ql.tr.Conn.Close()
	}
}

func (r *Runtime) commitQUIC(g *Graph, opened map[string]*quicListener) {
	if r.quic == nil {
		r.quic = map[string]*quicListener{}
	}
	want := map[string]bool{}
	for _, b := range g.QUICBinds {
		want[b.Addr] = true
		box := newQUICBox(g, b, r.slots)
		if ql, ok := opened[b.Addr]; ok {
			ql.swap(box)
			r.quic[b.Addr] = ql
			go ql.acceptLoop()
			continue
		}
		r.quic[b.Addr].swap(box)
	}
	for addr, ql := range r.quic {
		if !want[addr] {
			ql.stop()
			delete(r.quic, addr)
		}
	}
}

// stopQUIC stops every QUIC listener (Shutdown).
func (r *Runtime) stopQUIC() {
	for addr, ql := range r.quic {
		ql.stop()
		delete(r.quic, addr)
	}
}

// QUICAddrs returns the bound UDP addresses of the QUIC listeners.
func (r *Runtime) QUICAddrs() map[string]net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]net.Addr{}
	for k, ql := range r.quic {
		out[k] = ql.ln.Addr()
	}
	return out
}

// quicBind adds a QUIC bind of an http frontend to g.
func quicBind(g *Graph, bind *config.Bind, l *proxy.Listener, fe string, slots chan struct{}, gate *ratelimit.Gate) error {
	if l.TLS == nil {
		return config.Errorf(bind.Pos, "'bind %s' : QUIC needs 'ssl' and a certificate", bind.Addr)
	}
	if l.TLS.MaxVersion != 0 && l.TLS.MaxVersion < tls.VersionTLS13 {
		return config.Errorf(bind.Pos, "'bind %s' : QUIC needs TLS 1.3, which 'ssl-max-ver' excludes", bind.Addr)
	}
	if bind.Allow0RTT && (bind.Verify == "optional" || bind.Verify == "required") {
		// Early data would be served before the client's certificate
		// arrives (it comes with the client's Finished).
		return config.Errorf(bind.Pos, "'bind %s' : 'allow-0rtt' cannot be combined with 'verify %s'", bind.Addr, bind.Verify)
	}
	g.QUICBinds = append(g.QUICBinds, &QUICBindSpec{Addr: bindAddr(bind), Pos: bind.Pos, Frontend: fe, L7: l, Slots: slots, BindSlots: bindSlots(bind), Gate: gate})
	return nil
}
