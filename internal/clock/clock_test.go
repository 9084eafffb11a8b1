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

// Now's wall time is the system's to within the resync interval (here: to
// within the scheduling noise of two back-to-back readings), and its
// monotonic reading orders and subtracts exactly.
func TestNowFollowsWallClock(t *testing.T) {
	for range 3 {
		before := time.Now()
		got := Now()
		after := time.Now()
		if got.Before(before) || got.After(after) {
			t.Fatalf("Now() = %v, outside [%v, %v]", got, before, after)
		}
		if wall := got.Round(0); wall.Before(before.Add(-time.Millisecond)) || wall.After(after.Add(time.Millisecond)) {
			t.Fatalf("Now() wall time %v, outside [%v, %v]", wall, before, after)
		}
		if d := At(got) - At(before); d < 0 {
			t.Fatalf("Now() is %v before an earlier time.Now()", time.Duration(-d))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A wall reading older than resyncEvery is taken again: the anchor moves.
func TestNowResyncs(t *testing.T) {
	old := current.Load()
	current.Store(&anchor{wall: old.wall, mono: old.mono - int64(resyncEvery)})
	defer func() {
		if a := current.Load(); a.mono <= old.mono-int64(resyncEvery) {
			t.Fatal("Now kept an anchor older than resyncEvery")
		}
	}()
	_ = Now()
}
