package upstream

import (
	"fmt"
	"github.com/gatehouse/gatehouse/internal/hashfn"
	"maps"
	"net/netip"
	"testing"
)

func TestDistribution(t *testing.T) {
	tests := []struct {
		name  string
		algo  string
		specs []srvSpec
		n     int
		want  map[string]int
		tol   int
	}{
		{"roundrobin 3:1", "roundrobin", []srvSpec{{name: "a", weight: 3}, {name: "b", weight: 1}}, 400, map[string]int{"a": 300, "b": 100}, 1},
		{"roundrobin equal", "roundrobin", []srvSpec{{name: "a", weight: 1}, {name: "b", weight: 1}, {name: "c", weight: 1}}, 300, map[string]int{"a": 100, "b": 100, "c": 100}, 1},
		{"roundrobin weight 0 unused", "roundrobin", []srvSpec{{name: "a", weight: 2}, {name: "b", weight: 0}}, 10, map[string]int{"a": 10}, 0},
		{"static-rr 2:1:1", "static-rr", []srvSpec{{name: "a", weight: 2}, {name: "b", weight: 1}, {name: "c", weight: 1}}, 400, map[string]int{"a": 200, "b": 100, "c": 100}, 1},
		{"leastconn idle equal weights round-robins", "leastconn", []srvSpec{{name: "a", weight: 1}, {name: "b", weight: 5}}, 100, map[string]int{"a": 50, "b": 50}, 0},
		{"source weighted 3:1", "source", []srvSpec{{name: "a", weight: 3}, {name: "b", weight: 1}}, 4000, map[string]int{"a": 3000, "b": 1000}, 150},
		{"uri weighted 1:1", "uri", []srvSpec{{name: "a", weight: 1}, {name: "b", weight: 1}}, 4000, map[string]int{"a": 2000, "b": 2000}, 150},
		{"backups unused while actives up", "roundrobin", []srvSpec{{name: "a", weight: 1}, {name: "bk", weight: 1, backup: true}}, 10, map[string]int{"a": 10}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mkFarm(t, tt.algo, false, tt.specs...)
			var key func(int) Key
			switch tt.algo {
			case "source":
				key = srcKey
			case "uri":
				key = uriKey
			}
			got := pickN(f, tt.n, key)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for name, w := range tt.want {
				if d := got[name] - w; d > tt.tol || d < -tt.tol {
					t.Errorf("%s: got %d picks, want %d±%d (all: %v)", name, got[name], w, tt.tol, got)
				}
			}
		})
	}
}

func TestRoundRobinSmoothOrder(t *testing.T) {
	f := mkFarm(t, "roundrobin", false, srvSpec{name: "a", weight: 3}, srvSpec{name: "b", weight: 1})
	var seq string
	for range 8 {
		s := f.Pick(Key{}, nil)
		seq += s.Name
		s.Release()
	}
	// Interleaved, never "aaab".
	if seq != "aabaaaba" {
		t.Errorf("order %q is not a smooth interleave", seq)
	}
}

func TestBackupsAndStates(t *testing.T) {
	specs := []srvSpec{{name: "a", weight: 1}, {name: "b", weight: 1}, {name: "bk1", weight: 1, backup: true}, {name: "bk2", weight: 1, backup: true}}
	tests := []struct {
		name       string
		allBackups bool
		setup      func(f *Farm)
		want       map[string]int
	}{
		{"all up: actives only", false, func(*Farm) {}, map[string]int{"a": 5, "b": 5}},
		{"one active down", false, func(f *Farm) { f.Server("a").SetUp(false) }, map[string]int{"b": 10}},
		{"actives down: first backup", false, func(f *Farm) { f.Server("a").SetUp(false); f.Server("b").SetUp(false) }, map[string]int{"bk1": 10}},
		{"actives down, first backup down: second", false, func(f *Farm) {
			f.Server("a").SetUp(false)
			f.Server("b").SetAdmin(AdminMaint)
			f.Server("bk1").SetUp(false)
		}, map[string]int{"bk2": 10}},
		{"actives down, allbackups", true, func(f *Farm) { f.Server("a").SetUp(false); f.Server("b").SetUp(false) }, map[string]int{"bk1": 5, "bk2": 5}},
		{"all down: nil", false, func(f *Farm) {
			for _, s := range f.Servers() {
				s.SetUp(false)
			}
		}, map[string]int{"<nil>": 10}},
		{"drain excludes", false, func(f *Farm) { f.Server("a").SetAdmin(AdminDrain) }, map[string]int{"b": 10}},
		{"nolb excludes", false, func(f *Farm) { f.Server("a").SetOperational(OpNoLB) }, map[string]int{"b": 10}},
		{"maint excludes", false, func(f *Farm) { f.Server("a").SetAdmin(AdminMaint) }, map[string]int{"b": 10}},
		{"drained actives: backups", false, func(f *Farm) { f.Server("a").SetAdmin(AdminDrain); f.Server("b").SetWeight(0) }, map[string]int{"bk1": 10}},
		{"back up after down", false, func(f *Farm) { f.Server("a").SetUp(false); f.Server("a").SetUp(true) }, map[string]int{"a": 5, "b": 5}},
	}
	for _, algo := range []string{"roundrobin", "static-rr", "leastconn", "first", "source", "uri", "hdr(x-user)"} {
		for _, tt := range tests {
			t.Run(algo+"/"+tt.name, func(t *testing.T) {
				f := mkFarm(t, algo, tt.allBackups, specs...)
				tt.setup(f)
				got := pickN(f, 10, func(i int) Key { return Key{Src: srcKey(i).Src, URI: uriKey(i).URI, Hdr: fmt.Sprint("u", i)} })
				want := tt.want
				if len(want) == 2 && (algo == "first" || algo == "source" || algo == "uri" || algo == "hdr(x-user)") {
					// Only the set matters for these algorithms.
					if !maps.Equal(keysOf(got), keysOf(want)) && algo != "first" {
						t.Fatalf("got %v, want servers of %v", got, want)
					}
					if algo == "first" {
						for k := range got {
							if _, ok := want[k]; !ok {
								t.Fatalf("got %v, want servers of %v", got, want)
							}
						}
					}
					return
				}
				if !maps.Equal(got, want) {
					t.Fatalf("got %v, want %v", got, want)
				}
			})
		}
	}
}

func keysOf(m map[string]int) map[string]int {
	out := map[string]int{}
	for k := range m {
		out[k] = 1
	}
	return out
}

func TestMaxconnSkipAndFirst(t *testing.T) {
	for _, algo := range []string{"roundrobin", "static-rr", "leastconn", "first"} {
		t.Run(algo, func(t *testing.T) {
			f := mkFarm(t, algo, false, srvSpec{name: "s1", weight: 1, maxconn: 2}, srvSpec{name: "s2", weight: 1, maxconn: 3})
			var held []*Server
			for range 5 {
				s := f.Pick(Key{}, nil)
				if s == nil {
					t.Fatalf("nil pick with free slots (held %v)", held)
				}
				held = append(held, s)
			}
			if s := f.Pick(Key{}, nil); s != nil {
				t.Fatalf("picked %s with every slot taken", s)
			}
			if c1, c2 := f.Server("s1").Cur(), f.Server("s2").Cur(); c1 != 2 || c2 != 3 {
				t.Fatalf("cur s1=%d s2=%d, want 2 and 3", c1, c2)
			}
			if algo == "first" && (held[0].Name != "s1" || held[1].Name != "s1" || held[2].Name != "s2") {
				t.Errorf("first: order %v, want s1 filled before s2", held)
			}
			held[4].Release()
			if s := f.Pick(Key{}, nil); s != held[4] {
				t.Errorf("after release picked %v, want %s", s, held[4])
			}
		})
	}
}

func TestLeastconnPrefersIdle(t *testing.T) {
	f := mkFarm(t, "leastconn", false, srvSpec{name: "a", weight: 1}, srvSpec{name: "b", weight: 1}, srvSpec{name: "c", weight: 2})
	a := f.Server("a")
	for range 3 {
		a.TryAcquire()
	}
	b := f.Server("b")
	b.TryAcquire()
	// c is idle: it wins; with weight 2 its load (n+1)/2 stays below b's
	// (1+1)/1 = 2 until it holds 3; at a tie the server picked longest ago wins.
	want := []string{"c", "c", "c", "b"}
	for i, w := range want {
		s := f.Pick(Key{}, nil)
		if s.Name != w {
			t.Fatalf("pick %d = %s, want %s", i, s.Name, w)
		}
	}
}

func TestHashStable(t *testing.T) {
	specs := []srvSpec{{name: "a", weight: 1}, {name: "b", weight: 2}, {name: "c", weight: 1}}
	tests := []struct {
		algo string
		keys []Key
	}{
		{"source", []Key{{Src: netip.MustParseAddr("192.0.2.1")}, {Src: netip.MustParseAddr("2001:db8::7")}, {Src: netip.MustParseAddr("198.51.100.77")}}},
		{"uri", []Key{{URI: "/a/b?c=1"}, {URI: "/zz"}, {URI: "/"}}},
		{"hdr(x-user)", []Key{{Hdr: "alice"}, {Hdr: "bob"}, {Hdr: "carol"}}},
	}
	for _, tt := range tests {
		t.Run(tt.algo, func(t *testing.T) {
			f := mkFarm(t, tt.algo, false, specs...)
			g := mkFarm(t, tt.algo, false, specs...) // an identical farm maps identically
			for _, k := range tt.keys {
				s0 := f.Pick(k, nil)
				s0.Release()
				for range 20 {
					s := f.Pick(k, nil)
					s.Release()
					if s != s0 {
						t.Fatalf("key %+v moved from %s to %s", k, s0, s)
					}
				}
				if s := g.Pick(k, nil); s.Name != s0.Name {
					t.Fatalf("key %+v: %s in one farm, %s in its twin", k, s0, s)
				}
			}
		})
	}
}

func TestHashHAProxyCompat(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
	}{
		{"", 0},
		{"a", 97},
		{"ab", 97*65599 + 98},
	}
	for _, tt := range tests {
		if got := hashfn.SDBM(tt.in); got != tt.want {
			t.Errorf("sdbm(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
	// 10.0.0.1 over two equal servers: 0x0a000001 % 2 = 1 -> the second.
	f := mkFarm(t, "source", false, srvSpec{name: "a", weight: 1}, srvSpec{name: "b", weight: 1})
	if s := f.Pick(Key{Src: netip.MustParseAddr("10.0.0.1")}, nil); s.Name != "b" {
		t.Errorf("source 10.0.0.1 -> %s, want b", s)
	}
}

func TestURIParts(t *testing.T) {
	tests := []struct {
		arg, uri, want string
	}{
		{"", "/a/b?x=1", "/a/b"},
		{"whole", "/a/b?x=1", "/a/b?x=1"},
		{"len 3", "/abcdef", "/ab"},
		{"depth 2", "/a/b/c/d", "/a/b"}, // as HAProxy 2.6 (TestHashTypeMatchesHAProxy)
		{"depth 3", "/a/b/c/d", "/a/b/c"},
		{"", "https://h.example/p?q", "https://h.example/p"},
		{"path-only", "https://h.example/p?q", "/p"},
		{"path-only whole", "https://h.example/p?q", "/p?q"},
		{"path-only whole", "/p?u=http://x/a", "/p?u=http://x/a"},
		{"path-only", "/p?u=http://x/a", "/p"},
	}
	for _, tt := range tests {
		b, err := newBalancer(configBalance("uri", tt.arg), mkServers(srvSpec{name: "a", weight: 1}), false)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.(*hashBalancer).uriPart(tt.uri); got != tt.want {
			t.Errorf("uri %q %q: got %q, want %q", tt.arg, tt.uri, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{{"haproxy.1wt.eu", "1wt"}, {"example.com", "example"}, {"localhost", "localhost"}} {
		if got := mainDomain(tt.in); got != tt.want {
			t.Errorf("mainDomain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHdrFallbackRoundRobin(t *testing.T) {
	f := mkFarm(t, "hdr(x-user)", false, srvSpec{name: "a", weight: 1}, srvSpec{name: "b", weight: 1})
	if f.HashHeader() != "x-user" {
		t.Fatalf("HashHeader = %q", f.HashHeader())
	}
	got := pickN(f, 10, nil) // no header: round-robin
	if got["a"] != 5 || got["b"] != 5 {
		t.Errorf("absent header: got %v, want an even round-robin", got)
	}
}

func TestRuntimeWeight(t *testing.T) {
	f := mkFarm(t, "roundrobin", false, srvSpec{name: "a", weight: 1}, srvSpec{name: "b", weight: 1})
	if err := f.Server("a").SetWeight(3); err != nil {
		t.Fatal(err)
	}
	got := pickN(f, 400, nil)
	if got["a"] < 299 || got["a"] > 301 {
		t.Errorf("after set weight 3: %v, want a:300 b:100", got)
	}
	if err := f.Server("a").SetWeight(257); err == nil {
		t.Error("weight 257 accepted")
	}
	f.Server("a").SetWeight(0)
	if got := pickN(f, 10, nil); got["b"] != 10 {
		t.Errorf("after set weight 0: %v", got)
	}
	// static-rr ignores the value, only zero / non-zero counts.
	s := mkFarm(t, "static-rr", false, srvSpec{name: "a", weight: 1}, srvSpec{name: "b", weight: 1})
	s.Server("a").SetWeight(100)
	if got := pickN(s, 100, nil); got["a"] != 50 {
		t.Errorf("static-rr after set weight: %v, want unchanged 50/50", got)
	}
}

func TestExcludeRedispatch(t *testing.T) {
	for _, algo := range []string{"roundrobin", "static-rr", "leastconn", "first", "source", "uri", "hdr(x-user)"} {
		t.Run(algo, func(t *testing.T) {
			f := mkFarm(t, algo, false, srvSpec{name: "a", weight: 1}, srvSpec{name: "b", weight: 1}, srvSpec{name: "c", weight: 1})
			for i := range 30 {
				k := Key{Src: srcKey(i).Src, URI: uriKey(i).URI, Hdr: fmt.Sprint("u", i)}
				s := f.Pick(k, nil)
				s.Release()
				r := f.Pick(k, s)
				if r == nil || r == s {
					t.Fatalf("redispatch from %s got %v", s, r)
				}
				r.Release()
			}
			// The excluded server is still used when it is the only one.
			f.Server("b").SetUp(false)
			f.Server("c").SetUp(false)
			if s := f.Pick(Key{Hdr: "x"}, f.Server("a")); s == nil || s.Name != "a" {
				t.Errorf("only server excluded: got %v, want a", s)
			}
		})
	}
}

func TestUnknownAlgorithm(t *testing.T) {
	for _, b := range []struct{ algo, arg string }{{"random", "0"}, {"hdr", ""}, {"uri", "len"}, {"uri", "bogus"}} {
		if _, err := newBalancer(configBalance(b.algo, b.arg), mkServers(srvSpec{name: "a", weight: 1}), false); err == nil {
			t.Errorf("balance %s %s accepted", b.algo, b.arg)
		}
	}
}
