package upstream

import (
	"testing"
	"time"
)

// TestPoolProvenAndPrivate: TakeProvenAt only takes connections already
// reused (http-reuse aggressive's first requests), IdleCounts splits the
// shared idle ones as HAProxy's idle_conn_cur and safe_conn_cur and leaves
// private ones out, CloseKey closes a session's private connections.
func TestPoolProvenAndPrivate(t *testing.T) {
	p := newPeer(t)
	pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1}, nil)
	k := PoolKey{SNI: "a.example"}
	fresh, _ := p.dialIn(t, pool, k)
	proven, _ := p.dialIn(t, pool, k)
	proven.Reused = 1
	pool.Put(proven)
	pool.Put(fresh) // the most recent
	if u, s := pool.IdleCounts(); u != 1 || s != 1 {
		t.Fatalf("IdleCounts = %d unsafe, %d safe; want 1, 1", u, s)
	}
	if got := pool.TakeProvenAt(k, true, time.Now().UnixNano()); got != proven {
		t.Fatalf("TakeProvenAt took %p, want the reused one %p (fresh %p)", got, proven, fresh)
	}
	if got := pool.TakeProvenAt(k, true, time.Now().UnixNano()); got != nil {
		t.Fatalf("TakeProvenAt took %p, a connection never reused", got)
	}
	if got := pool.Get(k); got != fresh {
		t.Fatalf("Get = %p, want %p", got, fresh)
	}

	own := PoolKey{SNI: "a.example", Owner: 7}
	priv, srv := p.dialIn(t, pool, own)
	other, _ := p.dialIn(t, pool, PoolKey{SNI: "a.example", Owner: 8})
	pool.Put(priv)
	pool.Put(other)
	if u, s := pool.IdleCounts(); u != 0 || s != 0 {
		t.Fatalf("IdleCounts = %d, %d with only private connections idle", u, s)
	}
	if got := pool.Get(k); got != nil {
		t.Fatalf("a shared request took a private connection %p", got)
	}
	pool.CloseKey(own)
	if pool.Len() != 1 {
		t.Fatalf("Len = %d after CloseKey, want the other session's 1", pool.Len())
	}
	_ = srv.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := srv.Read(make([]byte, 1)); err == nil {
		t.Fatal("the server read data instead of the close of the private connection")
	}
}

// TestPoolKeepsWhatWasNeeded: as HAProxy's srv_add_to_idle_list, a
// connection coming back idle is kept when the connections in use and
// idle stay within the peak of those in use (est_need_conns), and closed
// otherwise. Each client connection's first request under "http-reuse
// safe" opens a new server connection; one after the other they must not
// pile up idle connections.
func TestPoolKeepsWhatWasNeeded(t *testing.T) {
	p := newPeer(t)
	k := PoolKey{SNI: "a.example"}

	t.Run("one at a time leaves one", func(t *testing.T) {
		pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1}, nil)
		for range 20 {
			c, _ := p.dialIn(t, pool, k)
			pool.Put(c)
		}
		if n := pool.Len(); n != 1 {
			t.Fatalf("%d idle connections after 20 sequential first requests, want 1", n)
		}
		if u := pool.UsedConns(); u != 0 {
			t.Fatalf("used_conn_cur = %d with every connection back, want 0", u)
		}
	})

	t.Run("concurrent ones are kept", func(t *testing.T) {
		pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1}, nil)
		var cs []*Conn
		for range 10 {
			c, _ := p.dialIn(t, pool, k)
			cs = append(cs, c)
		}
		if u, e := pool.UsedConns(), pool.NeedConnEst(); u != 10 || e != 10 {
			t.Fatalf("used %d, estimate %d with 10 in use, want 10 and 10", u, e)
		}
		for _, c := range cs {
			pool.Put(c)
		}
		if n := pool.Len(); n != 10 {
			t.Fatalf("%d idle after 10 concurrent connections came back, want 10", n)
		}
	})

	t.Run("closed in use stops counting", func(t *testing.T) {
		pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1}, nil)
		c, _ := p.dialIn(t, pool, k)
		c.Close()
		c.Close()
		if u := pool.UsedConns(); u != 0 {
			t.Fatalf("used_conn_cur = %d after the connection closed, want 0", u)
		}
	})

	t.Run("purge halves the excess", func(t *testing.T) {
		pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1}, nil)
		var cs []*Conn
		for range 8 {
			c, _ := p.dialIn(t, pool, k)
			cs = append(cs, c)
		}
		for _, c := range cs {
			pool.Put(c)
		}
		// A quiet period: the estimate falls halfway to the period's
		// peak (none in use), and half of what exceeds it closes.
		pool.mu.Lock()
		pool.maxUsed.Store(0)
		closed := pool.purge(nil)
		pool.mu.Unlock()
		for _, c := range closed {
			c.Close()
		}
		if len(closed) != 0 || pool.NeedConnEst() != 4 {
			t.Fatalf("first purge closed %d, estimate %d; want 0 (within the old estimate 8) and 4", len(closed), pool.NeedConnEst())
		}
		pool.mu.Lock()
		closed = pool.purge(nil)
		pool.mu.Unlock()
		for _, c := range closed {
			c.Close()
		}
		if len(closed) != 2 || pool.Len() != 6 {
			t.Fatalf("second purge closed %d (idle now %d); want 2 of the 4 beyond the estimate", len(closed), pool.Len())
		}
	})
}
