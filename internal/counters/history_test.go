package counters

import (
	"sync"
	"testing"
	"time"
)

func TestRateHistory(t *testing.T) {
	var h RateHistory
	t0 := time.Unix(1_700_000_000, 0)
	at := func(s int, ms int) time.Time {
		return t0.Add(time.Duration(s)*time.Second + time.Duration(ms)*time.Millisecond)
	}
	if got := h.Snapshot(t0); got != [HistorySeconds]uint64{} {
		t.Fatalf("zero history: %v", got)
	}
	for range 3 {
		h.Tick(at(0, 100))
	}
	h.Tick(at(1, 999))
	h.Tick(at(5, 0))
	h.Tick(at(5, 500))

	// During second 5 the last complete second is 4.
	s := h.Snapshot(at(5, 700))
	want := map[int]uint64{HistorySeconds - 5: 3, HistorySeconds - 4: 1}
	for i, v := range s {
		if v != want[i] {
			t.Errorf("snapshot at 5s: [%d] = %d, want %d (%v)", i, v, want[i], s)
		}
	}
	// At second 6, second 5 is complete.
	s = h.Snapshot(at(6, 0))
	if s[HistorySeconds-1] != 2 || s[HistorySeconds-6] != 3 {
		t.Errorf("snapshot at 6s: %v", s)
	}
	// At 60s the window is seconds 0..59; then the first seconds leave it.
	s = h.Snapshot(at(60, 0))
	if s[0] != 3 || s[1] != 1 || s[5] != 2 {
		t.Errorf("snapshot at 60s: %v", s)
	}
	if s = h.Snapshot(at(61, 0)); s[0] != 1 || s[4] != 2 {
		t.Errorf("snapshot at 61s: %v", s)
	}
	if s = h.Snapshot(at(62, 0)); s[0] != 0 {
		t.Errorf("snapshot at 62s kept second 1: %v", s)
	}

	// A slot is reused a ring later: second 64 takes second 0's slot.
	h.Tick(at(64, 0))
	s = h.Snapshot(at(65, 0))
	if s[HistorySeconds-1] != 1 || s[HistorySeconds-6] != 0 {
		t.Errorf("reused slot: %v", s)
	}
	// A stale reading (a ring older) does not erase the newer second.
	h.Tick(at(0, 0))
	if s = h.Snapshot(at(65, 0)); s[HistorySeconds-1] != 1 {
		t.Errorf("stale tick erased a newer count: %v", s)
	}
}

func TestRateHistoryConcurrent(t *testing.T) {
	var h RateHistory
	t0 := time.Unix(1_700_000_000, 0)
	var wg sync.WaitGroup
	const workers, per = 8, 1000
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				// Spread over 3 seconds, every worker crossing each boundary.
				h.Tick(t0.Add(time.Duration((i*3/per)*int(time.Second) + w)))
			}
		})
	}
	wg.Wait()
	s := h.Snapshot(t0.Add(3 * time.Second))
	var sum uint64
	for _, v := range s {
		sum += v
	}
	if sum != workers*per {
		t.Errorf("counted %d events, want %d (%v)", sum, workers*per, s[HistorySeconds-3:])
	}
}

func TestRateHistoryTickAllocs(t *testing.T) {
	var h RateHistory
	now := time.Now()
	if n := testing.AllocsPerRun(1000, func() { h.Tick(now) }); n != 0 {
		t.Errorf("Tick allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = h.Snapshot(now) }); n != 0 {
		t.Errorf("Snapshot allocates %v times", n)
	}
}

func BenchmarkRateHistoryTick(b *testing.B) {
	var h RateHistory
	now := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Tick(now)
		}
	})
}
