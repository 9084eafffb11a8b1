package proxy

import (
	"math/rand/v2"
	"sync"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// retrySafe: a retry-on that covers these lets HAProxy send a session's
// first request over an idle connection whatever http-reuse says, since a
// connection the server closed meanwhile is retried on a new one.
const retrySafe = RetryConnFailure | RetryEmptyResponse | RetryResponseTimeout

// takeIdle takes the idle connection of key that http-reuse lets this
// request use, or returns nil: HAProxy 2.6's connect_server. A request is
// a session's first when it is the first of an HTTP/1 client connection
// (HAProxy marks every HTTP/2 stream as not first).
func (t *Txn) takeIdle(p *upstream.Pool, key upstream.PoolKey, probe bool) *upstream.Conn {
	mode := t.be.Reuse
	// never: key.Owner limits the search to the session's own connections.
	if mode == config.ReuseNever || t.down != nil || t.acl.NotFirst || t.be.RetryOn&retrySafe == retrySafe {
		return p.Take(key, probe)
	}
	switch mode {
	case config.ReuseAggressive:
		return p.TakeProven(key, probe)
	case config.ReuseAlways:
		if c := p.TakeProven(key, probe); c != nil {
			return c
		}
		return p.Take(key, probe)
	}
	return nil // safe: the first request goes over a connection of its own
}

// maxPrivateConns is how many idle private connections a session keeps,
// HAProxy's default "max-session-srv-conns"; one more is closed after use.
const maxPrivateConns = 5

// privateConns are the pool keys under which a session's private server
// connections ("http-reuse never") idle; they are closed when it ends.
// HTTP/2 streams of one client connection share it, hence the lock.
type privateConns struct {
	mu     sync.Mutex
	owner  uint64
	held   []privateKey
	closed bool
}

type privateKey struct {
	srv *Server
	key upstream.PoolKey
}

// id is the session's owner mark for pool keys: random, so no other
// session (nor a later user of this pooled struct) can ever match it.
func (pc *privateConns) id() uint64 {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for pc.owner == 0 {
		pc.owner = rand.Uint64()
	}
	return pc.owner
}

// add records that a private connection of key goes idle in srv's pool;
// false when the session already holds its share or has ended.
func (pc *privateConns) add(srv *Server, key upstream.PoolKey) bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.closed {
		return false
	}
	k := privateKey{srv, key}
	for _, h := range pc.held {
		if h == k {
			return true
		}
	}
	if len(pc.held) >= maxPrivateConns {
		return false
	}
	pc.held = append(pc.held, k)
	return true
}

// empty reports a session without private connections; read by the
// session's own goroutine between HTTP/1 requests.
func (pc *privateConns) empty() bool { return len(pc.held) == 0 }

// release closes the session's idle private connections.
func (pc *privateConns) release() {
	pc.mu.Lock()
	held := pc.held
	pc.held, pc.closed = nil, true
	pc.mu.Unlock()
	for _, h := range held {
		h.srv.Pool().CloseKey(h.key)
	}
}

// last is option prefer-last-server's choice (HAProxy's assign_server):
// the first usable server of be the session holds an idle private
// connection to, or nil.
func (pc *privateConns) last(be *Backend) *Server {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, h := range pc.held {
		if be.server(h.srv.Server) == h.srv && h.srv.Usable() && h.srv.Pool().Has(h.key) {
			return h.srv
		}
	}
	return nil
}
