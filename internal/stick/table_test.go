package stick

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
)

type fakeClock struct{ ms int64 }

func (c *fakeClock) now() int64 { return c.ms }

func newTable(t *testing.T, cfg Config) (*Table, *fakeClock) {
	t.Helper()
	c := &fakeClock{ms: 1000}
	tb, err := New(cfg, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return tb, c
}

func ipKey(t *testing.T, tb *Table, s string) string {
	k, ok := tb.KeyIPAddr(netip.MustParseAddr(s))
	if !ok {
		t.Fatalf("no key for %s", s)
	}
	return k
}

// The rate over P is the current period's count plus the previous one's
// weighted by what remains of the period (HAProxy's freq_ctr).
func TestRateSlidesOverPeriods(t *testing.T) {
	d := make([]uint64, 3)
	const p = 10000
	for i := 0; i < 10; i++ {
		rateAdd(d, p, 1000, 1)
	}
	cases := []struct {
		now  int64
		want uint64
	}{
		{1000, 10}, {10999, 10}, {11000, 10}, {13500, 7}, {16000, 5}, {20999, 0}, {21000, 0}, {40000, 0},
	}
	for _, c := range cases {
		if got := rateRead(d, p, c.now); got != c.want {
			t.Errorf("rate at %d = %d, want %d", c.now, got, c.want)
		}
	}
	// Two more in the second period: 2 + 10*(P-elapsed)/P.
	rateAdd(d, p, 16000, 2)
	if got := rateRead(d, p, 16000); got != 2+5 {
		t.Errorf("after roll: %d, want 7", got)
	}
	// More than two periods later both counts are gone.
	rateAdd(d, p, 50000, 1)
	if got := rateRead(d, p, 50000); got != 1 {
		t.Errorf("after idle periods: %d, want 1", got)
	}
}

func TestTrackCountsAndRelease(t *testing.T) {
	tb, c := newTable(t, Config{Name: "t", Type: KeyIP, Size: 10, Expire: 30 * time.Second,
		Store: []Store{{Type: ConnCur}, {Type: ConnCnt}, {Type: HTTPReqRate, Period: 10 * time.Second}, {Type: GPC0}, {Type: GPT0}}})
	k := ipKey(t, tb, "192.0.2.1")
	var tr Tracker
	for i := 0; i < 3; i++ {
		if !tr.Track(0, tb, k, true) {
			t.Fatal("track refused")
		}
		if tr.Track(0, tb, k, true) {
			t.Fatal("second track of a busy slot accepted")
		}
		if v, _ := tr.Get(0, ConnCur); v != 1 {
			t.Fatalf("conn_cur while tracked = %d", v)
		}
		tr.Release()
		c.ms += 100
	}
	if v, ok := tb.Lookup(k, ConnCnt); !ok || v != 3 {
		t.Errorf("conn_cnt = %d %v, want 3", v, ok)
	}
	if v, _ := tb.Lookup(k, ConnCur); v != 0 {
		t.Errorf("conn_cur after release = %d", v)
	}
	if v, _ := tb.Lookup(k, HTTPReqRate); v != 3 {
		t.Errorf("http_req_rate = %d, want 3", v)
	}
	if _, ok := tr.Get(0, ConnCnt); ok {
		t.Error("released slot still answers")
	}
	tr.Track(1, tb, k, false)
	if v, ok := tr.IncGPC(1, 0); !ok || v != 1 {
		t.Errorf("inc gpc0 = %d %v", v, ok)
	}
	if _, ok := tr.IncGPC(1, 1); ok {
		t.Error("gpc1 not stored but incremented")
	}
	if !tr.SetGPT0(1, 42) {
		t.Error("set gpt0 refused")
	}
	if v, _ := tr.Get(1, GPT0); v != 42 {
		t.Errorf("gpt0 = %d", v)
	}
	tr.Response(429)
	tr.Release()
	if _, ok := tb.Lookup(k, HTTPErrCnt); ok {
		t.Error("http_err_cnt answered though not stored")
	}
}

func TestExpiryOnIdle(t *testing.T) {
	tb, c := newTable(t, Config{Name: "t", Type: KeyIP, Size: 10, Expire: 10 * time.Second, Store: []Store{{Type: ConnCnt}}})
	k := ipKey(t, tb, "192.0.2.1")
	var tr Tracker
	tr.Track(0, tb, k, false)
	c.ms += 60000 // tracked entries never expire
	if _, ok := tb.Lookup(k, ConnCnt); !ok {
		t.Fatal("tracked entry expired")
	}
	tr.Release() // expiry counts from the release
	c.ms += 9999
	if _, ok := tb.Lookup(k, ConnCnt); !ok {
		t.Fatal("entry expired before its idle time")
	}
	c.ms++
	if _, ok := tb.Lookup(k, ConnCnt); ok {
		t.Fatal("entry alive after its idle time")
	}
	if tb.Len() != 0 {
		t.Errorf("expired entry kept: %d", tb.Len())
	}
}

func TestSizeEvictsLeastRecentlyUsed(t *testing.T) {
	tb, c := newTable(t, Config{Name: "t", Type: KeyInteger, Size: 3, Store: []Store{{Type: ConnCnt}}})
	var tr Tracker
	for i := int64(1); i <= 3; i++ {
		tr.Track(0, tb, tb.KeyInt(i), false)
		tr.Release()
		c.ms++
	}
	tr.Track(0, tb, tb.KeyInt(1), false) // 1 is now the most recent; 2 the oldest
	tr.Release()
	tr.Track(0, tb, tb.KeyInt(4), false)
	tr.Release()
	if tb.Len() != 3 {
		t.Fatalf("size not held: %d", tb.Len())
	}
	if _, ok := tb.Lookup(tb.KeyInt(2), ConnCnt); ok {
		t.Error("least recently used entry kept")
	}
	for _, i := range []int64{1, 3, 4} {
		if _, ok := tb.Lookup(tb.KeyInt(i), ConnCnt); !ok {
			t.Errorf("entry %d evicted", i)
		}
	}
	// Tracked entries are never evicted: with all three held, a fourth is refused.
	var a, b, d, e Tracker
	a.Track(0, tb, tb.KeyInt(1), false)
	b.Track(0, tb, tb.KeyInt(3), false)
	d.Track(0, tb, tb.KeyInt(4), false)
	if e.Track(0, tb, tb.KeyInt(5), false) {
		t.Error("tracked entry evicted for a new one")
	}
}

func TestNoPurgeRefusesWhenFull(t *testing.T) {
	tb, _ := newTable(t, Config{Name: "t", Type: KeyString, KeyLen: 4, Size: 1, NoPurge: true, Store: []Store{{Type: ConnCnt}}})
	var tr Tracker
	tr.Track(0, tb, tb.KeyString("abcdef"), false)
	tr.Release()
	if tr.Track(0, tb, tb.KeyString("zz"), false) {
		t.Error("nopurge table evicted an entry")
	}
	if _, ok := tb.Lookup(tb.KeyString("abcdXX"), ConnCnt); !ok {
		t.Error("string key not cut at len")
	}
}

func TestKeys(t *testing.T) {
	ip, _ := newTable(t, Config{Name: "a", Type: KeyIP, Size: 1})
	if _, ok := ip.KeyIPAddr(netip.MustParseAddr("2001:db8::1")); ok {
		t.Error("ip table took an IPv6 address")
	}
	if a, b := ipKey(t, ip, "::ffff:192.0.2.1"), ipKey(t, ip, "192.0.2.1"); a != b {
		t.Error("IPv4-mapped address not the IPv4 key")
	}
	bin, _ := newTable(t, Config{Name: "b", Type: KeyBinary, KeyLen: 4, Size: 1})
	if k := bin.KeyString("ab"); k != "ab\x00\x00" {
		t.Errorf("binary key %q", k)
	}
}

func BenchmarkTrackAndRate(b *testing.B) {
	tb, err := New(Config{Name: "t", Type: KeyIP, Size: 100000, Expire: 10 * time.Second,
		Store: []Store{{Type: HTTPReqRate, Period: 10 * time.Second}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		var i uint32
		for pb.Next() {
			i++
			a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
			k, _ := tb.KeyIPAddr(a)
			var tr Tracker
			tr.Track(0, tb, k, true)
			tr.Get(0, HTTPReqRate)
			tr.Release()
		}
	})
}

// BenchmarkRateLimitRequest is the ratelimit scenario's stick work per
// request (bench/run.sh): one client address tracked, its rate read, the
// tracking released; "stream" with the stream's clock reading, taken once
// per request as the HTTP/1 transaction does.
func BenchmarkRateLimitRequest(b *testing.B) {
	for _, stream := range []bool{false, true} {
		b.Run(map[bool]string{false: "clock", true: "stream"}[stream], func(b *testing.B) {
			tb, err := New(Config{Name: "t", Type: KeyIP, Size: 100000, Expire: 30 * time.Second,
				Store: []Store{{Type: HTTPReqRate, Period: 10 * time.Second}, {Type: ConnCur}, {Type: GPC0}}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			a := netip.AddrFrom4([4]byte{127, 0, 0, 1})
			var tr Tracker
			var reading int64
			for b.Loop() {
				if stream {
					reading = clock.Mono()
					tr.Clock = &reading
				}
				var buf [16]byte
				k, _ := tb.AppendKeyIP(buf[:0], a)
				tr.TrackBytes(0, tb, k, true)
				tr.Get(0, HTTPReqRate)
				tr.AddBytes(100, 200)
				tr.Response(200)
				tr.Release()
			}
		})
	}
}

// TestTrackerUsesStreamClock: a tracker with the stream's clock reading
// dates its operations by it, and fills a spent (zero) one.
func TestTrackerUsesStreamClock(t *testing.T) {
	tb, err := New(Config{Name: "t", Type: KeyIP, Size: 10, Expire: 30 * time.Second,
		Store: []Store{{Type: HTTPReqRate, Period: 10 * time.Second}, {Type: ConnCur}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := tb.KeyIPAddr(netip.MustParseAddr("10.0.0.1"))
	// A reading a minute old: the entry's idle expiry has passed by the
	// real clock, which Lookup reads.
	reading := clock.Mono() - int64(time.Minute)
	tr := Tracker{Clock: &reading}
	if !tr.Track(0, tb, k, true) {
		t.Fatal("track failed")
	}
	tr.Release()
	if _, found := tb.Lookup(k, HTTPReqRate); found {
		t.Error("entry touched at the stream's minute-old reading is still live")
	}
	reading = 0 // spent: read once and kept
	tr.Track(0, tb, k, true)
	if reading == 0 {
		t.Fatal("a spent reading was not filled")
	}
	if v, ok := tr.Get(0, HTTPReqRate); !ok || v != 1 {
		t.Errorf("http_req_rate %d %v, want 1", v, ok)
	}
	tr.Release()
	if _, found := tb.Lookup(k, HTTPReqRate); !found {
		t.Error("entry touched now has expired")
	}
}
