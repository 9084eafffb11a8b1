package peers

import (
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// What sharing costs a request: one track-sc0 and its release on a table
// alone, and on a table shared with two peers (the change hook records
// the key for each).
func benchTrack(b *testing.B, shared bool) {
	tb, err := stick.New(stick.Config{Name: "rl", Type: stick.KeyIP, Size: 1 << 16,
		Store: []stick.Store{{Type: stick.HTTPReqRate, Period: 10e9}, {Type: stick.HTTPReqCnt}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if shared {
		s, err := New(Config{Name: "mesh", Local: "a", Tables: []TableConfig{{Table: tb, WireName: "rl"}},
			Peers: []PeerConfig{{Name: "a"}, {Name: "b", Addr: "127.0.0.1:1"}, {Name: "c", Addr: "127.0.0.1:1"}}})
		if err != nil {
			b.Fatal(err)
		}
		// The hooks only: no connection is made.
		for i, sh := range s.tables {
			i := i
			sh.t.SetOnChange(func(k string, data bool) { s.changed(i, k, data) })
		}
	}
	keys := make([][]byte, 256)
	for i := range keys {
		keys[i], _ = tb.AppendKeyIP(nil, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var tr stick.Tracker
		tr.TrackBytes(0, tb, keys[i&255], true)
		tr.Release()
	}
}

func BenchmarkTrackAlone(b *testing.B)  { benchTrack(b, false) }
func BenchmarkTrackShared(b *testing.B) { benchTrack(b, true) }
