package upstream

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// FarmOptions are the backend settings the farm needs beyond its servers.
type FarmOptions struct {
	// AllBackups is "option allbackups": use every usable backup server
	// when no active one is usable, not only the first.
	AllBackups bool
	// QueueTimeout is "timeout queue" (HAProxy uses "timeout connect" when
	// it is unset; see FarmOptionsFor). <= 0 waits for the context alone.
	QueueTimeout time.Duration
	// FullConn and BackendConns drive the dynamic limit of servers with a
	// minconn below their maxconn: BackendConns counts the backend's
	// current connections (HAProxy's beconn, queued ones included).
	FullConn     int64
	BackendConns *atomic.Int64
}

// FarmOptionsFor derives the options from a backend's configuration
// ("option allbackups", the queue timeout).
func FarmOptionsFor(px *config.Proxy) FarmOptions {
	qt := px.Timeouts.Queue
	if qt == 0 {
		qt = px.Timeouts.Connect
	}
	return FarmOptions{AllBackups: px.Sock.AllBackups, QueueTimeout: qt}
}

// Farm is a backend's server set: its servers, balancer and queue.
type Farm struct {
	Name    string
	servers []*Server
	byName  map[string]*Server
	bal     balancer
	algo    string
	hdrName string
	queue   Queue
	opts    FarmOptions
}

// NewFarm builds the farm of a backend from its servers in declaration
// order. Each server may belong to one farm only.
func NewFarm(name string, servers []*Server, b config.Balance, opts FarmOptions) (*Farm, error) {
	f := &Farm{Name: name, servers: servers, byName: make(map[string]*Server, len(servers)), opts: opts}
	for _, s := range servers {
		if _, dup := f.byName[s.Name]; dup {
			return nil, fmt.Errorf("backend '%s': duplicate server '%s'", name, s.Name)
		}
		f.byName[s.Name] = s
	}
	bal, err := newBalancer(b, servers, opts.AllBackups)
	if err != nil {
		return nil, fmt.Errorf("backend '%s': %w", name, err)
	}
	f.bal = bal
	f.algo = b.Algo
	if f.algo == "" {
		f.algo = "roundrobin"
	}
	if h, ok := bal.(*hashBalancer); ok {
		f.hdrName = h.hdrName
	}
	f.queue.pick = bal.Pick
	f.queue.sticky = bal.sticky()
	for _, s := range servers {
		if !s.farm.CompareAndSwap(nil, f) {
			return nil, fmt.Errorf("backend '%s': server '%s' already belongs to backend '%s'", name, s.Name, s.farm.Load().Name)
		}
	}
	for _, s := range servers {
		s.OnChange(f.serverChanged)
	}
	return f, nil
}

func (f *Farm) serverChanged(*Server) {
	f.bal.rebuild()
	f.queue.Dispatch()
}

// Pick is the balancer's Pick (see Balancer).
func (f *Farm) Pick(key Key, exclude *Server) *Server { return f.bal.Pick(key, exclude) }

// Balancer returns the farm's balancer.
func (f *Farm) Balancer() Balancer { return f.bal }

// Algo is the balance algorithm name.
func (f *Farm) Algo() string { return f.algo }

// HashHeader is the header "balance hdr(NAME)" needs in Key.Hdr, "" when
// the algorithm is not hdr.
func (f *Farm) HashHeader() string { return f.hdrName }

// Queue is the farm's queue.
func (f *Farm) Queue() *Queue { return &f.queue }

// Servers are all servers in declaration order.
func (f *Farm) Servers() []*Server { return f.servers }

// Server finds a server by name.
func (f *Farm) Server(name string) *Server { return f.byName[name] }

// Live is how many servers new traffic may use now (the usable actives, or
// the backups in use when none is); 0 means the backend is down.
func (f *Farm) Live() int { return f.bal.live() }

// UsingBackups reports whether traffic goes to backup servers.
func (f *Farm) UsingBackups() bool {
	set := f.bal.load()
	return set.backup && len(set.live) > 0
}

// TryAssign is Assign without the wait: a server with a free slot when
// nobody is queued, else nil. Callers time only the wait that follows.
func (f *Farm) TryAssign(key Key, exclude *Server) *Server {
	if f.queue.n.Load() != 0 {
		return nil
	}
	return f.bal.Pick(key, exclude)
}

// Assign picks a server for a request, queueing it when every candidate
// is at maxconn (or others already wait, to keep arrival order). It returns
// ErrNoServer when no server is usable, ErrQueueTimeout when "timeout
// queue" expires, or ctx's error. The server's slot is taken: Release it.
func (f *Farm) Assign(ctx context.Context, key Key, exclude *Server) (*Server, error) {
	if s := f.TryAssign(key, exclude); s != nil {
		return s, nil
	}
	if f.bal.live() == 0 {
		return nil, ErrNoServer
	}
	// A hashed request waits for its own server: that server's maxqueue
	// bounds how many may, as HAProxy's server queue does.
	if h, ok := f.bal.(*hashBalancer); ok {
		if s := h.target(key); s != nil && s != exclude && s.maxQueue > 0 {
			if s.queued.Add(1) > s.maxQueue {
				s.queued.Add(-1)
				return nil, ErrQueueFull
			}
			defer s.queued.Add(-1)
		}
	}
	return f.queue.Wait(ctx, key, exclude, f.opts.QueueTimeout)
}

// AssignTo takes a slot on s, a server persistence chose (a cookie, a
// use-server rule), whatever its weight or drain state: at once when it
// has one, else waiting in the queue for s alone, up to "timeout queue"
// (ErrQueueTimeout). A server whose maxqueue requests already wait gives
// ErrQueueFull, as HAProxy's server queue. The slot is taken: Release it.
func (f *Farm) AssignTo(ctx context.Context, s *Server) (*Server, error) {
	// Only those waiting for s itself go first (HAProxy's srv->nbpend),
	// not the backend's queue.
	if s.queued.Load() == 0 && s.TryAcquire() {
		return s, nil
	}
	if n := s.queued.Add(1); s.maxQueue > 0 && n > s.maxQueue {
		s.queued.Add(-1)
		return nil, ErrQueueFull
	}
	defer s.queued.Add(-1)
	return f.queue.wait(ctx, &waiter{target: s, ch: make(chan *Server, 1)}, f.opts.QueueTimeout)
}
