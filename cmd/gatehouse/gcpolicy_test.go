package main

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestGCPercentFollowsTableCapacity: only configurations whose stick
// tables could hold a heap of 64 MB or more collect earlier.
func TestGCPercentFollowsTableCapacity(t *testing.T) {
	cfg := func(sizes ...int) *config.Config {
		c := &config.Config{}
		for _, n := range sizes {
			c.Proxies = append(c.Proxies, &config.Proxy{StickTable: &config.StickTable{Size: n}})
		}
		c.Proxies = append(c.Proxies, &config.Proxy{})
		return c
	}
	for _, tc := range []struct {
		sizes []int
		want  int
	}{
		{nil, 100}, {[]int{100000}, 100}, {[]int{200000, 200000}, 50}, {[]int{1000000}, 50},
	} {
		if got := gcPercentFor(cfg(tc.sizes...)); got != tc.want {
			t.Errorf("tables %v: GC percent %d, want %d", tc.sizes, got, tc.want)
		}
	}
}
