package upstream

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestPoolLowConn: pool-low-conn keeps that many idle connections beyond
// the estimate, as HAProxy's srv_add_to_idle_list adds low_idle_conns to
// it: sequential first requests leave 1+N idle connections instead of 1.
func TestPoolLowConn(t *testing.T) {
	p := newPeer(t)
	k := PoolKey{SNI: "a.example"}
	for _, low := range []int{0, 2} {
		pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1, LowConn: low}, nil)
		for range 20 {
			c, _ := p.dialIn(t, pool, k)
			pool.Put(c)
		}
		if n := pool.Len(); n != 1+low {
			t.Errorf("pool-low-conn %d: %d idle after 20 sequential first requests, want %d", low, n, 1+low)
		}
		pool.Close()
	}
}

// TestPoolOptionsPurgeDelay: pool-purge-delay is the idle timeout and
// purge period; 0 keeps no idle connection; unset is HAProxy's 5s.
func TestPoolOptionsPurgeDelay(t *testing.T) {
	d, zero := 30*time.Second, time.Duration(0)
	for _, tc := range []struct {
		set     *time.Duration
		idle    time.Duration
		maxIdle int
	}{
		{nil, DefaultIdleTimeout, -1},
		{&d, d, -1},
		{&zero, 0, 0},
	} {
		o := PoolOptionsFor(&config.Server{PoolPurgeDelay: tc.set, PoolLowConn: 3})
		if o.IdleTimeout != tc.idle || o.MaxIdle != tc.maxIdle || o.LowConn != 3 {
			t.Errorf("pool-purge-delay %v: %+v, want idle %v, max idle %d, low 3", tc.set, o, tc.idle, tc.maxIdle)
		}
	}
}
