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
	fresh, _ := p.dial(t, k)
	proven, _ := p.dial(t, k)
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
	priv, srv := p.dial(t, own)
	other, _ := p.dial(t, PoolKey{SNI: "a.example", Owner: 8})
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
