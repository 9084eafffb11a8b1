package counters

import (
	"sync/atomic"
	"time"
)

// HistogramBuckets is the number of finite buckets of a Histogram.
const HistogramBuckets = 14

// HistogramBounds returns the upper bounds of a Histogram's finite
// buckets, ascending: 1ms to 10s, the range of a proxied request, with a
// last implicit +Inf bucket. The bounds are fixed so that histograms of
// every server and backend aggregate in Prometheus.
func HistogramBounds() [HistogramBuckets]time.Duration {
	return [HistogramBuckets]time.Duration{
		1 * time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
		10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
		100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
		1 * time.Second, 2500 * time.Millisecond, 5 * time.Second,
		10 * time.Second, 30 * time.Second,
	}
}

// Histogram counts durations in fixed buckets. Observe is lock-free (two
// atomic adds) and safe from any goroutine; the zero value is ready.
type Histogram struct {
	buckets [HistogramBuckets + 1]atomic.Uint64 // per bucket, not cumulative; last is +Inf
	sum     atomic.Int64                        // nanoseconds
}

// Observe records one duration (negative durations count as 0).
func (h *Histogram) Observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	bounds := HistogramBounds()
	i := 0
	for i < HistogramBuckets && d > bounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sum.Add(int64(d))
}

// HistogramSnapshot is a consistent-enough copy of a Histogram: Cumulative
// is derived from the buckets read once, so Cumulative[last] == Count as
// Prometheus requires; Sum may lag by the observations in flight.
type HistogramSnapshot struct {
	Bounds     [HistogramBuckets]time.Duration
	Cumulative [HistogramBuckets + 1]uint64 // observations <= Bounds[i]; last: all
	Count      uint64
	Sum        time.Duration
}

// Snapshot copies the histogram.
func (h *Histogram) Snapshot() HistogramSnapshot {
	s := HistogramSnapshot{Bounds: HistogramBounds(), Sum: time.Duration(h.sum.Load())}
	var acc uint64
	for i := range h.buckets {
		acc += h.buckets[i].Load()
		s.Cumulative[i] = acc
	}
	s.Count = acc
	return s
}
