package counters

import (
	"sync"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	tests := []struct {
		name string
		obs  []time.Duration
		cum  map[int]uint64 // bucket index -> cumulative count
		sum  time.Duration
	}{
		{"empty", nil, map[int]uint64{0: 0, HistogramBuckets: 0}, 0},
		{"bound is inclusive", []time.Duration{time.Millisecond}, map[int]uint64{0: 1, 1: 1, HistogramBuckets: 1}, time.Millisecond},
		{"just above a bound", []time.Duration{time.Millisecond + 1}, map[int]uint64{0: 0, 1: 1}, time.Millisecond + 1},
		{"negative is zero", []time.Duration{-time.Second}, map[int]uint64{0: 1}, 0},
		{"overflow goes to +Inf", []time.Duration{time.Minute}, map[int]uint64{HistogramBuckets - 1: 0, HistogramBuckets: 1}, time.Minute},
		{"mixed", []time.Duration{3 * time.Millisecond, 3 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second},
			map[int]uint64{1: 0, 2: 2, 7: 3, 10: 4, HistogramBuckets: 4}, 2206 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			for _, d := range tc.obs {
				h.Observe(d)
			}
			s := h.Snapshot()
			if s.Count != uint64(len(tc.obs)) {
				t.Errorf("count = %d, want %d", s.Count, len(tc.obs))
			}
			if s.Cumulative[HistogramBuckets] != s.Count {
				t.Errorf("+Inf bucket %d != count %d", s.Cumulative[HistogramBuckets], s.Count)
			}
			for i, want := range tc.cum {
				if s.Cumulative[i] != want {
					t.Errorf("bucket %d (<= %v) = %d, want %d", i, bucketName(s, i), s.Cumulative[i], want)
				}
			}
			if s.Sum != tc.sum {
				t.Errorf("sum = %v, want %v", s.Sum, tc.sum)
			}
		})
	}
}

func bucketName(s HistogramSnapshot, i int) string {
	if i >= HistogramBuckets {
		return "+Inf"
	}
	return s.Bounds[i].String()
}

func TestHistogramBoundsAscending(t *testing.T) {
	b := HistogramBounds()
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			t.Fatalf("bounds not ascending at %d: %v <= %v", i, b[i], b[i-1])
		}
	}
}

func TestHistogramConcurrent(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				h.Observe(time.Duration(i) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if s := h.Snapshot(); s.Count != 8000 {
		t.Fatalf("count = %d, want 8000", s.Count)
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Observe(42 * time.Millisecond)
		}
	})
}
