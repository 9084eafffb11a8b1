package cfgparse

import (
	"strings"
	"testing"
)

// TestBindPortRangeAndFamily: a port range binds every port of it with the
// line's options, as HAProxy does; v6only wins over v4v6.
func TestBindPortRangeAndFamily(t *testing.T) {
	c, err := Parse("t.cfg", []byte("frontend f\n    mode tcp\n    timeout client 1s\n    bind :::20000-20002 v6only v4v6\n    bind *:80 v4v6\n    bind :81\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Proxies[0].Binds
	if len(b) != 5 {
		t.Fatalf("%d binds, want 5", len(b))
	}
	for i, port := range []int{20000, 20001, 20002} {
		if b[i].Host != "::" || b[i].Port != port || b[i].V6Only == nil || !*b[i].V6Only {
			t.Errorf("bind %d: %+v, want :::%d v6only", i, b[i], port)
		}
	}
	if b[3].V6Only == nil || *b[3].V6Only || b[4].V6Only != nil {
		t.Errorf("v4v6: %v, none: %v", b[3].V6Only, b[4].V6Only)
	}
	for _, bad := range []string{"127.0.0.1:9-7", "127.0.0.1:7-", "127.0.0.1:0-3"} {
		_, err := Parse("t.cfg", []byte("frontend f\n    bind "+bad+"\n"), Options{})
		if err == nil || !strings.Contains(err.Error(), "invalid port range") {
			t.Errorf("bind %s: %v, want HAProxy's refusal of the range", bad, err)
		}
	}
}
