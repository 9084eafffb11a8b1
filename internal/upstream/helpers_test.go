package upstream

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// srvSpec describes a test server: "name" with weight w, backup flag and maxconn.
type srvSpec struct {
	name    string
	weight  int
	backup  bool
	maxconn int
}

func mkServers(specs ...srvSpec) []*Server {
	out := make([]*Server, len(specs))
	for i, sp := range specs {
		cs := &config.Server{Name: sp.name, Host: "127.0.0.1", Port: 8000 + i, Weight: sp.weight, Backup: sp.backup, MaxConn: sp.maxconn}
		out[i] = NewServer(cs, i+1, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(8000+i)))
	}
	return out
}

func mkFarm(t testing.TB, algo string, allBackups bool, specs ...srvSpec) *Farm {
	t.Helper()
	a, arg := algo, ""
	if n := len(algo); n > 4 && algo[:4] == "hdr(" && algo[n-1] == ')' {
		a, arg = "hdr", algo[4:n-1]
	}
	if n := len(algo); n > 7 && algo[:7] == "random(" && algo[n-1] == ')' {
		a, arg = "random", algo[7:n-1]
	}
	if len(algo) > 4 && algo[:4] == "uri " {
		a, arg = "uri", algo[4:]
	}
	f, err := NewFarm("be", mkServers(specs...), config.Balance{Algo: a, Arg: arg}, FarmOptions{AllBackups: allBackups})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// pickN picks n times, releasing each slot at once, and counts picks per server.
func pickN(f *Farm, n int, key func(i int) Key) map[string]int {
	got := map[string]int{}
	for i := range n {
		var k Key
		if key != nil {
			k = key(i)
		}
		s := f.Pick(k, nil)
		if s == nil {
			got["<nil>"]++
			continue
		}
		got[s.Name]++
		s.Release()
	}
	return got
}

func srcKey(i int) Key {
	return Key{Src: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}
}

func uriKey(i int) Key { return Key{URI: fmt.Sprintf("/obj/%d?x=%d", i, i)} }

func configBalance(algo, arg string) config.Balance { return config.Balance{Algo: algo, Arg: arg} }
