package stick

import (
	"reflect"
	"testing"
	"time"
)

// A local change reaches the hook with the entry's key; what a peer sends
// is stored without reaching it (no echo), and reads back in the same
// words, the rate's period start made relative to each table's clock.
func TestPeerHookAndRoundTrip(t *testing.T) {
	cfg := Config{Name: "t", Type: KeyIP, Size: 10, Expire: time.Minute,
		Store: []Store{{Type: GPC0}, {Type: HTTPReqRate, Period: 10 * time.Second}, {Type: ConnCur}}}
	a, ca := newTable(t, cfg)
	var changed []string
	a.SetOnChange(func(k string, _ bool) { changed = append(changed, k) })
	key := ipKey(t, a, "10.0.0.1")
	var k Tracker
	if !k.Track(0, a, key, true) {
		t.Fatal("track failed")
	}
	k.IncGPC(0, 0)
	k.Release()
	if len(changed) == 0 {
		t.Fatal("no change reported for a tracked entry")
	}
	for _, c := range changed {
		if c != key {
			t.Fatalf("hook got key %q, want %q", c, key)
		}
	}
	ca.ms += 2500 // the rate's period started 2.5 s ago
	var got []PeerValue
	exp, ok := a.ReadPeer(key, func(d DataType, w []uint64) {
		got = append(got, PeerValue{d, append([]uint64(nil), w...)})
	})
	if !ok || exp != 60000-2500 {
		t.Fatalf("ReadPeer: ok=%v expire=%d", ok, exp)
	}
	want := []PeerValue{{GPC0, []uint64{1}}, {ConnCur, []uint64{0}}, {HTTPReqRate, []uint64{2500, 1, 0}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadPeer = %v, want %v", got, want)
	}

	b, cb := newTable(t, cfg)
	cb.ms = 500000 // another process, another clock
	var bchanged int
	b.SetOnChange(func(string, bool) { bchanged++ })
	if err := b.WritePeer(key, 30000, got); err != nil {
		t.Fatal(err)
	}
	if bchanged != 0 {
		t.Fatalf("WritePeer reached the change hook %d times", bchanged)
	}
	if v, _ := b.Lookup(key, GPC0); v != 1 {
		t.Errorf("gpc0 = %d, want 1", v)
	}
	if v, _ := b.Lookup(key, HTTPReqRate); v != 1 {
		t.Errorf("http_req_rate = %d, want 1", v)
	}
	p, _ := b.PeekKey(key)
	if p.Expire != 30000 {
		t.Errorf("expire = %d, want 30000", p.Expire)
	}
	// 8 s later the period that started 2.5 s before the write is over.
	cb.ms += 8000
	if v, _ := b.Lookup(key, HTTPReqRate); v != 0 {
		t.Errorf("http_req_rate after the period = %d, want 1*(10000-500)/10000, rounded down: 0", v)
	}
	if err := b.WritePeer(key, 1, []PeerValue{{GPC0, []uint64{1, 2}}}); err == nil {
		t.Error("a counter with two words was accepted")
	}
	if keys := b.Keys(); len(keys) != 1 || keys[0] != key {
		t.Errorf("Keys = %q", keys)
	}
}

// WritePeerUnless keeps a live entry whose local change the sender has
// not seen (pending, asked with the table locked), and stores the update
// otherwise; an absent key is made whatever pending says.
func TestWritePeerUnlessPending(t *testing.T) {
	cfg := Config{Name: "t", Type: KeyIP, Size: 10, Expire: time.Minute, Store: []Store{{Type: GPC0}}}
	tb, _ := newTable(t, cfg)
	key := ipKey(t, tb, "10.0.0.2")
	var asked int
	pending := func(k string) bool {
		asked++
		if k != key {
			t.Errorf("pending asked about %q", k)
		}
		return true
	}
	if ok, err := tb.WritePeerUnless(key, 1000, []PeerValue{{GPC0, []uint64{3}}}, pending); !ok || err != nil {
		t.Fatalf("an absent entry was not made: %v %v", ok, err)
	}
	if asked != 0 {
		t.Errorf("pending asked %d times for an absent entry", asked)
	}
	var k Tracker
	k.Track(0, tb, key, false)
	k.IncGPC(0, 0) // the local change: 4
	k.Release()
	if ok, err := tb.WritePeerUnless(key, 1000, []PeerValue{{GPC0, []uint64{3}}}, pending); ok || err != nil {
		t.Fatalf("a pending entry was overwritten: %v %v", ok, err)
	}
	if v, _ := tb.Lookup(key, GPC0); v != 4 {
		t.Errorf("gpc0 = %d, want the local 4", v)
	}
	if ok, _ := tb.WritePeerUnless(key, 1000, []PeerValue{{GPC0, []uint64{9}}}, func(string) bool { return false }); !ok {
		t.Fatal("an update with nothing pending was not stored")
	}
	if v, _ := tb.Lookup(key, GPC0); v != 9 {
		t.Errorf("gpc0 = %d, want 9", v)
	}
}
