package upstream

import (
	"testing"
	"time"
)

// TestPoolProvenAndPrivate: TakeProven only takes connections already
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
	if got := pool.TakeProven(k, true); got != proven {
		t.Fatalf("TakeProven took %p, want the reused one %p (fresh %p)", got, proven, fresh)
	}
	if got := pool.TakeProven(k, true); got != nil {
		t.Fatalf("TakeProven took %p, a connection never reused", got)
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

// TestPoolIdleHasNoAgeLimit: as in HAProxy (srv_cleanup_idle_conns, and no
// idle timeout on a server-side H1 connection), an idle connection is not
// closed for its age: the purge every pool-purge-delay closes half of what
// exceeds the recent need, so the connections a burst needed are there for
// the next burst, and a pool nobody uses drains over a few periods.
func TestPoolIdleHasNoAgeLimit(t *testing.T) {
	p := newPeer(t)
	k := PoolKey{SNI: "a.example"}
	// The timer never fires here: each sweep is one purge period.
	pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1, IdleTimeout: time.Hour}, nil)
	var cs []*Conn
	for range 4 {
		c, _ := p.dialIn(t, pool, k)
		cs = append(cs, c)
	}
	for _, c := range cs {
		pool.Put(c)
	}
	// Period 1: the peak was 4, nothing exceeds it. Period 2: the
	// estimate is still 4 (halfway from 4 to the peak of 4).
	for period := 1; period <= 2; period++ {
		pool.sweep()
		if n := pool.Len(); n != 4 {
			t.Fatalf("after purge period %d: %d idle, want all 4 (needed lately, whatever their age)", period, n)
		}
	}
	if c := pool.Take(k, true); c == nil {
		t.Fatal("an idle connection older than pool-purge-delay was not reused")
	} else {
		pool.Put(c)
	}
	// Unused from now on: the estimate halves each period and half of
	// the excess closes, down to none.
	last := pool.Len()
	for period := 3; pool.Len() > 0; period++ {
		if period > 20 {
			t.Fatalf("%d idle connections left after %d unused periods", pool.Len(), period)
		}
		pool.sweep()
		if n := pool.Len(); n > last {
			t.Fatalf("period %d: idle grew from %d to %d", period, last, n)
		}
		last = pool.Len()
	}
}

// TestPoolReusesPastPurgeDelay: a connection idle for longer than
// pool-purge-delay is reused while it was needed lately; a pool that
// closed idle connections by age would have none left. Draining 16
// needed connections takes about eight periods (400 ms here), so a
// slow machine oversleeping the 60 ms wait cannot empty the pool.
func TestPoolReusesPastPurgeDelay(t *testing.T) {
	p := newPeer(t)
	k := PoolKey{SNI: "a.example"}
	pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1, IdleTimeout: 50 * time.Millisecond}, nil)
	var cs []*Conn
	for range 16 {
		c, _ := p.dialIn(t, pool, k)
		cs = append(cs, c)
	}
	for _, c := range cs {
		pool.Put(c)
	}
	time.Sleep(60 * time.Millisecond) // older than the purge delay
	if c := pool.Take(k, true); c == nil {
		t.Fatalf("no idle connection reused after the purge delay (%d idle)", pool.Len())
	}
}
