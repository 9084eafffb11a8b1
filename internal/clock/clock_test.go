package clock

import (
	"testing"
	"time"
)

func TestMonoRoundTrip(t *testing.T) {
	now := time.Now()
	m := At(now)
	if got := Time(m); !got.Equal(now) || got.Sub(now) != 0 {
		t.Fatalf("Time(At(now)) = %v, want %v", got, now)
	}
	a := Mono()
	time.Sleep(2 * time.Millisecond)
	if d := Mono() - a; d < int64(2*time.Millisecond) {
		t.Fatalf("Mono advanced %v over a 2ms sleep", time.Duration(d))
	}
	if d := time.Until(Time(Mono() + int64(time.Second))); d < 900*time.Millisecond || d > time.Second {
		t.Fatalf("a deadline 1s ahead is %v away", d)
	}
}
