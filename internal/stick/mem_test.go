package stick

import (
	"runtime"
	"testing"
	"time"
)

// The live heap of a full `type ip` table with three counters stays near
// HAProxy's resident memory for the same table (bench/stickmem.sh measured
// 208 bytes per entry for HAProxy 2.6; issue 19 allows Gatehouse twice
// that in resident memory, and Go's collector lets the heap grow to about
// twice what is live, so the live part has to stay under HAProxy's).
func TestLiveBytesPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 300,000 entries")
	}
	const n = 300000
	tb, err := New(Config{Name: "t", Type: KeyIP, Size: n, Expire: time.Hour, Store: []Store{
		{Type: ConnCur}, {Type: HTTPReqRate, Period: 10 * time.Second}, {Type: GPC0}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	vals := map[DataType]uint64{GPC0: 1}
	for i := 0; i < n; i++ {
		if err := tb.Set(string([]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), vals); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if tb.Len() != n {
		t.Fatalf("%d entries, want %d", tb.Len(), n)
	}
	per := (int64(m1.HeapAlloc) - int64(m0.HeapAlloc)) / n
	t.Logf("live heap: %d bytes per entry", per)
	if per > 208 {
		t.Errorf("live heap %d bytes per entry, more than HAProxy's 208 resident", per)
	}
	runtime.KeepAlive(tb)
}
