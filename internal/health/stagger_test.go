package health

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestStaggerMaxSpread: the first checks are spread over the smallest
// interval, and max-spread-checks bounds that window (HAProxy's
// start_checks).
func TestStaggerMaxSpread(t *testing.T) {
	mk := func() []*Checker {
		var cs []*Checker
		for range 4 {
			s := newServer(t, &config.Server{Name: "s", Rise: 2, Fall: 3}, netip.MustParseAddrPort("127.0.0.1:1"))
			cs = append(cs, New(Options{Server: s, Timing: Timing{Inter: 20 * time.Second}}))
		}
		return cs
	}
	cs := mk()
	Stagger(cs, 0)
	if cs[3].firstDelay != 15*time.Second {
		t.Errorf("without max-spread-checks the last first check waits %v, want 15s (3/4 of inter 20s)", cs[3].firstDelay)
	}
	cs = mk()
	Stagger(cs, 4*time.Second)
	for i, want := range []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second} {
		if cs[i].firstDelay != want {
			t.Errorf("max-spread-checks 4s: checker %d waits %v, want %v", i, cs[i].firstDelay, want)
		}
	}
	cs = mk()
	Stagger(cs, time.Minute)
	if cs[3].firstDelay != 15*time.Second {
		t.Errorf("a bound above the interval changed the spread: %v", cs[3].firstDelay)
	}
}
