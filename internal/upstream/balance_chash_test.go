package upstream

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

func mkHashFarm(t *testing.T, algo string, ht config.HashType, specs ...srvSpec) *Farm {
	t.Helper()
	f, err := NewFarm("be", mkServers(specs...), config.Balance{Algo: algo, Hash: ht}, FarmOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func placement(f *Farm, n int) []string {
	out := make([]string, n)
	for i := range n {
		s := f.Pick(uriKey(i), nil)
		if s == nil {
			out[i] = "<nil>"
			continue
		}
		out[i] = s.Name
		s.Release()
	}
	return out
}

// TestConsistentMovesOnlyTheLeavingServersKeys: with hash-type consistent,
// a server leaving moves its own keys and no other; its weight halved
// moves only part of its keys, never another server's. Map-based hashing
// remaps most keys for the same change.
func TestConsistentMovesOnlyTheLeavingServersKeys(t *testing.T) {
	specs := []srvSpec{{name: "a", weight: 1}, {name: "b", weight: 2}, {name: "c", weight: 1}, {name: "d", weight: 1}}
	const n = 4000
	f := mkHashFarm(t, "uri", config.HashType{Consistent: true}, specs...)
	before := placement(f, n)
	f.Server("b").SetWeight(1)
	half := placement(f, n)
	f.Server("b").SetAdmin(AdminMaint)
	after := placement(f, n)
	onB, movedHalf, moved := 0, 0, 0
	for i := range n {
		if before[i] == "b" {
			onB++
		}
		if half[i] != before[i] {
			movedHalf++
			if before[i] != "b" {
				t.Fatalf("key %d moved from %s to %s when b's weight changed", i, before[i], half[i])
			}
		}
		if after[i] != before[i] {
			moved++
			if before[i] != "b" {
				t.Fatalf("key %d moved from %s to %s when b left", i, before[i], after[i])
			}
		}
		if after[i] == "b" {
			t.Fatalf("key %d still on b in maintenance", i)
		}
	}
	if moved != onB || onB < n/4 || onB > n*3/5 {
		t.Errorf("b held %d of %d keys (weight 2 of 5), %d moved when it left", onB, n, moved)
	}
	if movedHalf == 0 || movedHalf >= onB {
		t.Errorf("halving b's weight moved %d of its %d keys, want some but not all", movedHalf, onB)
	}
	m := mkHashFarm(t, "uri", config.HashType{}, specs...)
	mb := placement(m, n)
	m.Server("b").SetAdmin(AdminMaint)
	ma := placement(m, n)
	mapMoved := 0
	for i := range n {
		if ma[i] != mb[i] {
			mapMoved++
		}
	}
	if mapMoved <= moved {
		t.Errorf("map-based moved %d keys, consistent %d: the ring should move fewer", mapMoved, moved)
	}
}

// TestHashBalanceFactorBoundsLoad: requests for one key held open pile on
// its server without a factor; with hash-balance-factor 125 no server holds
// more than its share of 1.25 times the average, the rest go on along the
// ring.
func TestHashBalanceFactorBoundsLoad(t *testing.T) {
	specs := []srvSpec{{name: "a", weight: 1}, {name: "b", weight: 1}, {name: "c", weight: 1}, {name: "d", weight: 1}}
	for _, factor := range []int{0, 125} {
		f := mkHashFarm(t, "uri", config.HashType{Consistent: true, BalanceFactor: factor}, specs...)
		held := map[string]int{}
		for range 40 {
			s := f.Pick(Key{URI: "/hot"}, nil)
			if s == nil {
				t.Fatalf("factor %d: no server", factor)
			}
			held[s.Name]++
		}
		if factor == 0 {
			if len(held) != 1 {
				t.Errorf("no factor: one key spread over %v", held)
			}
			continue
		}
		// 40 held: each may take ceil(40*1.25)/4 = 12 or 13.
		for name, c := range held {
			if c > 13 {
				t.Errorf("factor %d: %s holds %d of 40 (%v)", factor, name, c, held)
			}
		}
		if len(held) < 4 {
			t.Errorf("factor %d: load on %v, want all four servers", factor, held)
		}
	}
}

// TestQueryParam: balance url_param's lookup, as HAProxy's get_server_ph.
func TestQueryParam(t *testing.T) {
	for _, tc := range []struct {
		uri, name, want string
		ok              bool
	}{
		{"/p?user=bob&x=1", "user", "bob", true},
		{"/p?x=1&user=bob", "user", "bob", true},
		{"/p?superuser=eve&user=bob", "user", "bob", true},
		{"/p?user=", "user", "", true},
		{"/p?user", "user", "", false},
		{"/p?users=1", "user", "", false},
		{"/p/user=bob", "user", "", false},
		{"/p?a=1&&user=x%20y", "user", "x%20y", true},
	} {
		got, ok := queryParam(tc.uri, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("queryParam(%q, %q) = %q %v, want %q %v", tc.uri, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
