package counters

import "testing"

func TestSlidingAvg(t *testing.T) {
	tests := []struct {
		name    string
		samples func(add func(uint64))
		want    uint64
	}{
		{"empty", func(func(uint64)) {}, 0},
		{"one sample is not diluted", func(add func(uint64)) { add(40) }, 40},
		{"partial window", func(add func(uint64)) { add(10); add(20); add(30) }, 20},
		{"full window of a constant", func(add func(uint64)) {
			for range 3 * TimeSamples {
				add(7)
			}
		}, 7},
		{"old values fade", func(add func(uint64)) {
			for range TimeSamples {
				add(1000)
			}
			for range 8 * TimeSamples {
				add(10)
			}
		}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a SlidingAvg
			tt.samples(a.Add)
			if got := a.Avg(); got < tt.want || got > tt.want+1 {
				t.Errorf("Avg = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestServerMax(t *testing.T) {
	var s Server
	for _, cur := range []int64{3, 1, 5, 4} {
		s.NoteCur(cur)
	}
	if s.MaxSess.Load() != 5 {
		t.Errorf("MaxSess = %d", s.MaxSess.Load())
	}
	s.CountStatus(503)
	s.CountStatus(99)
	if s.HRsp[4].Load() != 1 || s.HRsp[5].Load() != 1 {
		t.Error("status classes")
	}
}
