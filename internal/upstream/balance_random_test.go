package upstream

import (
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestRandomBalance: "balance random" picks in proportion to the weights,
// keeps the least loaded of its draws (2 by default), and skips servers
// at maxconn.
func TestRandomBalance(t *testing.T) {
	f := mkFarm(t, "random(1)", false, srvSpec{name: "a", weight: 1}, srvSpec{name: "b", weight: 3})
	got := pickN(f, 20000, nil)
	if share := float64(got["a"]) / 20000; share < 0.21 || share > 0.29 {
		t.Errorf("weights 1:3, one draw: a got %.3f of the picks, want about 0.25 (%v)", share, got)
	}

	// a holds 50 connections, b none: with two draws a is kept only when
	// both draws fall on it (1/4); with one draw, half the time.
	for _, tc := range []struct {
		algo     string
		min, max float64
	}{{"random", 0.20, 0.30}, {"random(1)", 0.45, 0.55}} {
		f := mkFarm(t, tc.algo, false, srvSpec{name: "a", weight: 1}, srvSpec{name: "b", weight: 1})
		srvs := f.Servers()
		for range 50 {
			if !srvs[0].TryAcquire() {
				t.Fatal("no slot on a")
			}
		}
		got := pickN(f, 20000, nil)
		if share := float64(got["a"]) / 20000; share < tc.min || share > tc.max {
			t.Errorf("%s: busy a got %.3f of the picks, want %.2f..%.2f (%v)", tc.algo, share, tc.min, tc.max, got)
		}
	}

	f = mkFarm(t, "random", false, srvSpec{name: "a", weight: 1, maxconn: 1}, srvSpec{name: "b", weight: 1})
	a := f.Servers()[0]
	if !a.TryAcquire() {
		t.Fatal("no slot on a")
	}
	if got := pickN(f, 1000, nil); got["a"] != 0 || got["b"] != 1000 {
		t.Errorf("a at maxconn: %v, want every pick on b", got)
	}
	if _, err := NewBalancer(config.Balance{Algo: "random", Arg: "0"}, mkServers(srvSpec{name: "a", weight: 1}), false); err == nil {
		t.Error("random(0) accepted")
	}
}

// TestDynamicMaxConn: HAProxy's srv_dynamic_maxconn. minconn 1, maxconn
// 10, fullconn 100: the limit is max(1, beconn*10/100), maxconn from
// fullconn on; maxconn alone is static; minconn alone is maxconn.
func TestDynamicMaxConn(t *testing.T) {
	var beconn atomic.Int64
	srvs := mkServers(srvSpec{name: "a", weight: 1, maxconn: 10}, srvSpec{name: "b", weight: 1, maxconn: 10}, srvSpec{name: "c", weight: 1})
	srvs[0].Cfg.MinConn = 1
	srvs[2].Cfg.MinConn = 4
	srvs = mkServersFrom(srvs)
	if _, err := NewFarm("be", srvs, config.Balance{}, FarmOptions{FullConn: 100, BackendConns: &beconn}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		be      int64
		a, b, c int64
	}{{0, 1, 10, 4}, {20, 2, 10, 4}, {55, 5, 10, 4}, {100, 10, 10, 4}, {500, 10, 10, 4}} {
		beconn.Store(tc.be)
		if a, b, c := srvs[0].limit(), srvs[1].limit(), srvs[2].limit(); a != tc.a || b != tc.b || c != tc.c {
			t.Errorf("beconn %d: limits %d %d %d, want %d %d %d", tc.be, a, b, c, tc.a, tc.b, tc.c)
		}
	}
	beconn.Store(20)
	if !srvs[0].TryAcquire() || !srvs[0].TryAcquire() || srvs[0].TryAcquire() {
		t.Error("beconn 20: a must take exactly 2 connections")
	}
}

// mkServersFrom rebuilds servers from their (edited) configurations.
func mkServersFrom(in []*Server) []*Server {
	out := make([]*Server, len(in))
	for i, s := range in {
		out[i] = NewServer(s.Cfg, s.ID, s.Addr())
	}
	return out
}
