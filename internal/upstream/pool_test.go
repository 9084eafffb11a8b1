package upstream

import (
	"net"
	"sync"
	"testing"
	"time"
)

// peer is a loopback server that keeps the conns it accepts.
type peer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newPeer(t testing.TB) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{ln: ln}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

func (p *peer) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
	}
}

// dialIn is dial for a connection the proxy uses from pool, as the
// proxy's dial does: counted as in use until it is put back or closed.
func (p *peer) dialIn(t testing.TB, pool *Pool, key PoolKey) (*Conn, net.Conn) {
	t.Helper()
	c, srv := p.dial(t, key)
	pool.Use(c)
	return c, srv
}

// dial returns a client Conn and the server's side of it.
func (p *peer) dial(t testing.TB, key PoolKey) (*Conn, net.Conn) {
	t.Helper()
	p.mu.Lock()
	n := len(p.conns)
	p.mu.Unlock()
	nc, err := net.Dial("tcp", p.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var srv net.Conn
	for srv == nil {
		p.mu.Lock()
		if len(p.conns) > n {
			srv = p.conns[n]
		}
		p.mu.Unlock()
		time.Sleep(100 * time.Microsecond)
	}
	return NewConn(nc, nc.(*net.TCPConn), key), srv
}

func TestPoolKeyIsolationAndLIFO(t *testing.T) {
	p := newPeer(t)
	pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1}, nil)
	ka, kb := PoolKey{SNI: "a.example"}, PoolKey{SNI: "b.example"}
	a1, _ := p.dialIn(t, pool, ka)
	a2, _ := p.dialIn(t, pool, ka)
	b1, _ := p.dialIn(t, pool, kb)
	pool.Put(a1)
	pool.Put(b1)
	pool.Put(a2)
	if n := pool.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	tests := []struct {
		key  PoolKey
		want *Conn
	}{
		{PoolKey{SNI: "c.example"}, nil},
		{PoolKey{SNI: "a.example", ALPN: "h2"}, nil},
		{PoolKey{SNI: "a.example", ClientCertID: "x"}, nil},
		{ka, a2}, // last in, first out
		{kb, b1},
		{ka, a1},
		{ka, nil},
		{kb, nil},
	}
	for i, tt := range tests {
		if got := pool.Get(tt.key); got != tt.want {
			t.Fatalf("step %d: Get(%+v) = %p, want %p", i, tt.key, got, tt.want)
		} else if got != nil && (got.Key != tt.key || got.Reused != 1) {
			t.Fatalf("step %d: got key %+v reused %d", i, got.Key, got.Reused)
		}
	}
}

func TestPoolDeadConnSkipped(t *testing.T) {
	tests := []struct {
		name string
		kill func(srv net.Conn)
	}{
		{"server closed", func(srv net.Conn) { srv.Close() }},
		{"server sent bytes", func(srv net.Conn) { srv.Write([]byte("HTTP/1.1 408 Request Timeout\r\n\r\n")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPeer(t)
			pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1}, nil)
			k := PoolKey{SNI: "x"}
			good, _ := p.dialIn(t, pool, k)
			bad, badSrv := p.dialIn(t, pool, k)
			pool.Put(good)
			pool.Put(bad) // most recent: tried first
			if !bad.Alive() {
				t.Fatal("fresh idle conn reported dead")
			}
			tt.kill(badSrv)
			waitFor(t, "peer's close/bytes to arrive", func() bool { return !bad.Alive() })
			if got := pool.Get(k); got != good {
				t.Fatalf("Get = %p, want the live conn %p", got, good)
			}
			if pool.Len() != 0 {
				t.Fatalf("dead conn left in pool")
			}
			if _, err := bad.Raw.Write([]byte("x")); err == nil {
				// a closed fd fails writes; the pool closed it.
				t.Error("dead conn was not closed")
			}
		})
	}
}

func TestPoolLimits(t *testing.T) {
	p := newPeer(t)
	k := PoolKey{}
	t.Run("max idle evicts oldest", func(t *testing.T) {
		pool := NewPool(PoolOptions{MaxIdle: 2, MaxReuse: -1}, nil)
		c1, _ := p.dialIn(t, pool, k)
		c2, _ := p.dialIn(t, pool, k)
		c3, _ := p.dialIn(t, pool, k)
		pool.Put(c1)
		pool.Put(c2)
		pool.Put(c3)
		if pool.Len() != 2 {
			t.Fatalf("Len = %d, want 2", pool.Len())
		}
		if got := pool.Get(k); got != c3 {
			t.Fatal("newest not first")
		}
		if got := pool.Get(k); got != c2 {
			t.Fatal("c2 not kept")
		}
		if got := pool.Get(k); got != nil {
			t.Fatal("oldest not evicted")
		}
	})
	t.Run("max idle 0 keeps none", func(t *testing.T) {
		pool := NewPool(PoolOptions{MaxIdle: 0, MaxReuse: -1}, nil)
		c, _ := p.dialIn(t, pool, k)
		pool.Put(c)
		if pool.Len() != 0 {
			t.Fatal("kept a conn")
		}
	})
	t.Run("max reuse", func(t *testing.T) {
		pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: 2}, nil)
		c, _ := p.dialIn(t, pool, k)
		for i := range 3 {
			pool.Put(c)
			got := pool.Get(k)
			if i < 2 && got != c {
				t.Fatalf("reuse %d refused", i+1)
			}
			if i == 2 && got != nil {
				t.Fatal("reused past max-reuse")
			}
		}
	})
	t.Run("purge timer drains an unused pool", func(t *testing.T) {
		pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1, IdleTimeout: 10 * time.Millisecond}, nil)
		// Both in use at once, so the pool wants both back idle.
		c1, _ := p.dialIn(t, pool, k)
		c2, _ := p.dialIn(t, pool, PoolKey{SNI: "other"})
		pool.Put(c1)
		pool.Put(c2)
		waitFor(t, "pool drained by the purge", func() bool { return pool.Len() == 0 })
		// The timer re-arms for later connections.
		c3, _ := p.dialIn(t, pool, k)
		pool.Put(c3)
		waitFor(t, "c3 purged", func() bool { return pool.Len() == 0 })
	})
	t.Run("close idle and close", func(t *testing.T) {
		pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1}, nil)
		c1, _ := p.dialIn(t, pool, k)
		c2, _ := p.dialIn(t, pool, PoolKey{SNI: "z"})
		pool.Put(c1)
		pool.Put(c2)
		pool.CloseIdle()
		if pool.Len() != 0 || pool.Get(k) != nil {
			t.Fatal("CloseIdle left conns")
		}
		pool.Close()
		c3, _ := p.dialIn(t, pool, k)
		pool.Put(c3)
		if pool.Len() != 0 {
			t.Fatal("closed pool kept a conn")
		}
	})
}

func TestPoolRace(t *testing.T) {
	p := newPeer(t)
	pool := NewPool(PoolOptions{MaxIdle: 8, MaxReuse: 50, IdleTimeout: 5 * time.Millisecond}, nil)
	keys := []PoolKey{{SNI: "a"}, {SNI: "b"}, {SNI: "c", ALPN: "h2"}}
	var conns []*Conn
	for i := range 12 {
		c, _ := p.dialIn(t, pool, keys[i%len(keys)])
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			mine := conns[g*3 : g*3+3]
			for i := range 2000 {
				for _, c := range mine {
					if c != nil {
						pool.Put(c)
					}
				}
				for j := range mine {
					k := keys[(g+i+j)%len(keys)]
					c := pool.Get(k)
					if c != nil && c.Key != k {
						t.Errorf("Get(%v) returned a conn for %v", k, c.Key)
					}
					mine[j] = c
				}
			}
		})
	}
	wg.Wait()
	pool.Close()
}
