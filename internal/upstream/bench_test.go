package upstream

import (
	"fmt"
	"net/netip"
	"testing"
)

func benchSpecs(n int) []srvSpec {
	specs := make([]srvSpec, n)
	for i := range specs {
		specs[i] = srvSpec{name: fmt.Sprint("gw", i), weight: 1 + i%3}
	}
	return specs
}

func BenchmarkPick(b *testing.B) {
	key := Key{Src: netip.MustParseAddr("203.0.113.9"), URI: "/api/v1/items/42?full=1", Hdr: "alice@example.com"}
	for _, algo := range []string{"roundrobin", "static-rr", "leastconn", "first", "source", "uri", "hdr(x-user)"} {
		for _, n := range []int{3, 16} {
			b.Run(fmt.Sprintf("%s/%d", algo, n), func(b *testing.B) {
				f := mkFarm(b, algo, false, benchSpecs(n)...)
				b.ReportAllocs()
				for b.Loop() {
					s := f.Pick(key, nil)
					s.Release()
				}
			})
		}
	}
}

func BenchmarkPickParallel(b *testing.B) {
	for _, algo := range []string{"roundrobin", "leastconn", "source"} {
		b.Run(algo, func(b *testing.B) {
			f := mkFarm(b, algo, false, benchSpecs(4)...)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				k := Key{Src: netip.MustParseAddr("203.0.113.9")}
				for pb.Next() {
					s := f.Pick(k, nil)
					s.Release()
				}
			})
		})
	}
}

func BenchmarkPickMaxconn(b *testing.B) {
	// Three of four servers full: the walk skips them.
	f := mkFarm(b, "roundrobin", false, srvSpec{name: "a", weight: 1, maxconn: 1}, srvSpec{name: "b", weight: 1, maxconn: 1}, srvSpec{name: "c", weight: 1, maxconn: 1}, srvSpec{name: "d", weight: 1})
	for _, s := range f.Servers()[:3] {
		s.TryAcquire()
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Pick(Key{}, nil).Release()
	}
}

func BenchmarkPoolGetPut(b *testing.B) {
	p := newPeer(b)
	pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1, IdleTimeout: DefaultIdleTimeout}, nil)
	k := PoolKey{SNI: "gw.example", ALPN: "http/1.1"}
	c, _ := p.dial(b, k)
	pool.Put(c)
	b.ReportAllocs()
	for b.Loop() {
		c := pool.Get(k)
		pool.Put(c)
	}
}

func BenchmarkPoolGetPutParallel(b *testing.B) {
	p := newPeer(b)
	pool := NewPool(PoolOptions{MaxIdle: -1, MaxReuse: -1, IdleTimeout: DefaultIdleTimeout}, nil)
	k := PoolKey{SNI: "gw.example"}
	for range 64 {
		c, _ := p.dial(b, k)
		pool.Put(c)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if c := pool.Get(k); c != nil {
				pool.Put(c)
			}
		}
	})
}

func BenchmarkAlive(b *testing.B) {
	p := newPeer(b)
	c, _ := p.dial(b, PoolKey{})
	b.ReportAllocs()
	for b.Loop() {
		if !c.Alive() {
			b.Fatal("dead")
		}
	}
}
