package sock

import (
	"errors"
	"testing"
)

// TestMaxPipes: no more than maxpipes pipes are open, in use or free; past
// it GetPipe says so and the caller copies instead.
func TestMaxPipes(t *testing.T) {
	_, used0, free0 := PipeCounts()
	base := used0 + free0 // pipes other tests left open
	SetMaxPipes(int(base) + 2)
	defer SetMaxPipes(-1)
	a, err := GetPipe()
	if err != nil {
		t.Fatal(err)
	}
	b, err := GetPipe()
	if err != nil {
		t.Fatal(err)
	}
	if lim, inUse, _ := PipeCounts(); lim != base+2 || inUse != used0+2 {
		t.Errorf("PipeCounts = %d, %d in use; want %d, %d", lim, inUse, base+2, used0+2)
	}
	// A third may come from the pool only if one was free; with none
	// free, the limit holds.
	if free0 == 0 {
		if p, err := GetPipe(); !errors.Is(err, ErrNoPipe) {
			if p != nil {
				PutPipe(p)
			}
			t.Errorf("third GetPipe: %v, want ErrNoPipe", err)
		}
	}
	PutPipe(a)
	PutPipe(b)
	if _, inUse, _ := PipeCounts(); inUse != used0 {
		t.Errorf("%d in use after PutPipe, want %d", inUse, used0)
	}
}
