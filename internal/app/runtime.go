package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/runtimeapi"
	"github.com/gatehouse/gatehouse/internal/sock"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// DefaultHardStopAfter bounds a graceful stop when hard-stop-after is unset.
const DefaultHardStopAfter = 30 * time.Second

// Runtime owns the listening sockets and the current Graph. Listeners
// survive reloads; graphs are swapped under them.
type Runtime struct {
	mu        sync.Mutex
	graph     *Graph
	listeners map[string]*listener
	quic      map[string]*quicListener      // QUIC binds by address (quic.go)
	apis      map[string]*runtimeapi.Server // runtime API sockets by path
	conns     sync.WaitGroup                // every accepted connection, across graphs
	log       *slog.Logger
	slots     chan struct{} // global maxconn
}

// NewRuntime returns an empty runtime; Start installs the first graph.
func NewRuntime(log *slog.Logger) *Runtime {
	return &Runtime{listeners: map[string]*listener{}, apis: map[string]*runtimeapi.Server{}, log: log}
}

// Graph returns the graph currently serving.
func (r *Runtime) Graph() *Graph {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.graph
}

// Apply binds what g needs, points every listener at g, closes listeners
// g no longer has, and retires the previous graph. If a bind fails, the
// previous graph keeps serving and nothing changes.
func (r *Runtime) Apply(g *Graph) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	// cfgparse refuses such a configuration; a graph built another way
	// must not close every listener either.
	if len(g.Binds) == 0 && len(g.QUICBinds) == 0 && len(g.Cfg.Global.StatsSockets) == 0 && len(g.Cfg.LogForwards) == 0 {
		return errors.New("No enabled listener found (check for 'bind' directives) !")
	}
	// Group binds by address: two frontends on one address is a config error.
	want := map[string]*BindSpec{}
	for _, b := range g.Binds {
		if prev, dup := want[b.Addr]; dup {
			return fmt.Errorf("parsing [%s] : address %s is already bound by frontend '%s' (%s)",
				b.Pos, b.Addr, prev.Frontend, prev.Pos)
		}
		want[b.Addr] = b
	}
	// Open new sockets first, so a failure leaves everything as it was.
	opened := map[string]net.Listener{}
	for addr, b := range want {
		l, ok := r.listeners[addr]
		if ok && sameSocket(l.opts, b.Sock) {
			continue
		}
		if ok && b.Sock.NoReusePort {
			// Without SO_REUSEPORT the new socket cannot bind beside the
			// running one; refused, so everything stays as it was.
			for _, l := range opened {
				l.Close()
			}
			return fmt.Errorf("parsing [%s] : the socket options of %s changed and 'noreuseport' is set: the new socket cannot be bound beside the running one; restart the process to apply them", b.Pos, addr)
		}
		// New, or made otherwise (v6only): SO_REUSEPORT lets the new
		// socket bind beside the old one, which closes below.
		ln, err := listen(context.Background(), addr, b.Sock)
		if err != nil {
			for _, l := range opened {
				l.Close()
			}
			return fmt.Errorf("parsing [%s] : cannot bind socket (%v) for %s", b.Pos, err, addr)
		}
		opened[addr] = ln
	}
	openedAPIs, err := r.openSockets(g)
	if err != nil {
		for _, l := range opened {
			l.Close()
		}
		return err
	}
	openedQUIC, err := r.openQUIC(g)
	if err != nil {
		for _, l := range opened {
			l.Close()
		}
		for _, s := range openedAPIs {
			s.Close()
		}
		return err
	}
	if mc := g.Cfg.Global.MaxConn; mc > 0 {
		if r.slots == nil || cap(r.slots) != mc {
			r.slots = make(chan struct{}, mc)
		}
	} else {
		r.slots = nil
	}
	sock.SetMaxPipes(maxPipes(g.Cfg))
	sock.SetPipeSize(g.Cfg.Global.TunePipeSize)
	logURI := -1 // tune.http.logurilen
	if n := g.Cfg.Global.TuneLogURILen; n != nil {
		logURI = *n
	}
	logging.SetRequestLineMax(logURI)
	capture := 0 // tune.ssl.capture-buffer-size
	if n := g.Cfg.Global.TuneSSLCaptureSize; n != nil {
		capture = *n
	}
	tlsconf.SetCaptureSize(capture)
	tlsconf.SetKeyLog(g.Cfg.Global.TuneSSLKeyLog)
	inheritDNS(g, r.graph) // resolvers.go: before the new graph takes traffic
	inheritIdentity(g, r.graph)
	inheritPeers(g, r.graph) // peers.go: before the new sections start
	inheritPrograms(g, r.graph)
	for addr, b := range want {
		box := newHandlerBox(b.Handler, b.L7, newSlotSet(b.BindSlots, b.Slots, r.slots))
		box.keepAlive = b.KeepAlive
		box.gate = b.Gate
		box.noLinger = b.NoLinger
		box.maxAccept = maxAccept(g.Cfg)
		box.sndBuf, box.rcvBuf = g.Cfg.Global.SockBuf.ClientSnd, g.Cfg.Global.SockBuf.ClientRcv
		if l, ok := r.listeners[addr]; ok {
			if _, remade := opened[addr]; !remade {
				// Before the old runtime retires (below), so its connections
				// find where to go as soon as they see it retired.
				l.swap(box)
				continue
			}
			l.close()
		}
		l := &listener{addr: addr, opts: b.Sock, yield: runtime.Gosched, ln: opened[addr], stop: make(chan struct{}), done: make(chan struct{}), wg: &r.conns, log: r.log}
		l.swap(box)
		r.listeners[addr] = l
		go l.acceptLoop()
	}
	for addr, l := range r.listeners {
		if _, ok := want[addr]; !ok {
			l.close()
			delete(r.listeners, addr)
		}
	}
	r.commitQUIC(g, openedQUIC)
	r.applySockets(g, openedAPIs)
	old := r.graph
	r.graph = g
	g.start()
	if old != nil {
		// Connections of the old graph move to the new one between
		// requests; in-flight requests finish on the old graph.
		old.Proc.Retire()
		go retire(old)
	}
	return nil
}

// openSockets binds the runtime API sockets g has and the runtime has not
// yet; on failure it closes what it opened and nothing changes.
func (r *Runtime) openSockets(g *Graph) (map[string]*runtimeapi.Server, error) {
	opened := map[string]*runtimeapi.Server{}
	for _, s := range g.Sockets {
		if _, ok := r.apis[s.Path]; ok {
			continue
		}
		if _, dup := opened[s.Path]; dup {
			continue // the second line for one path updates the same socket
		}
		srv, err := listenAPI(s)
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			return nil, err
		}
		opened[s.Path] = srv
	}
	return opened, nil
}

// listenAPI binds one runtime API socket, with HAProxy's message on failure.
func listenAPI(s *APISocket) (*runtimeapi.Server, error) {
	if s.Net != "" {
		srv, err := runtimeapi.ListenTCP(s.Net, s.Path, s.Target, s.Opts)
		if err != nil {
			return nil, fmt.Errorf("Starting frontend GLOBAL: cannot bind socket (%v) [%s]", err, s.Path)
		}
		return srv, nil
	}
	srv, err := runtimeapi.Listen(s.Path, s.Target, s.Opts)
	if err != nil {
		return nil, fmt.Errorf("Starting frontend GLOBAL: cannot bind UNIX socket (%v) [%s]", err, s.Path)
	}
	return srv, nil
}

// applySockets points every kept socket at g, adds the opened ones and
// closes those g no longer has. A kept socket never stops accepting, and
// its open sessions run their next command on g.
func (r *Runtime) applySockets(g *Graph, opened map[string]*runtimeapi.Server) {
	want := map[string]bool{}
	for _, s := range g.Sockets {
		want[s.Path] = true
		if srv, ok := opened[s.Path]; ok {
			r.apis[s.Path] = srv
			continue
		}
		if err := r.apis[s.Path].Update(s.Target, s.Opts); err != nil {
			r.log.Warn("runtime API socket: cannot apply its mode", "path", s.Path, "err", err)
		}
	}
	for path, srv := range r.apis {
		if !want[path] {
			srv.Close()
			delete(r.apis, path)
		}
	}
}

// retire releases an old graph's resources once its connections are gone.
func retire(g *Graph) {
	for _, f := range g.retirers {
		f()
	}
	deadline := time.Now().Add(hardStop(g.Cfg))
	for g.Proc.ActConn.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	g.Close()
}

func hardStop(cfg *config.Config) time.Duration {
	if cfg.Global.HardStopAfter > 0 {
		return cfg.Global.HardStopAfter
	}
	return DefaultHardStopAfter
}

// Shutdown stops accepting, waits for in-flight connections up to
// hard-stop-after, and releases the graph. It reports whether every
// connection finished in time.
func (r *Runtime) Shutdown() error {
	r.mu.Lock()
	for _, l := range r.listeners {
		l.close()
	}
	r.listeners = map[string]*listener{}
	r.stopQUIC()
	for path, s := range r.apis {
		s.Close()
		delete(r.apis, path)
	}
	g := r.graph
	r.mu.Unlock()
	if g == nil {
		return nil
	}
	g.Proc.Stop()
	done := make(chan struct{})
	go func() { r.conns.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-time.After(hardStop(g.Cfg)):
		err = errors.New("hard-stop-after reached with connections still open")
	}
	g.Close()
	return err
}

// Addrs returns the bound addresses (for tests and the demo).
func (r *Runtime) Addrs() map[string]net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]net.Addr{}
	for k, l := range r.listeners {
		out[k] = l.ln.Addr()
	}
	return out
}
