package l4

import "testing"

// TestStrtoul: the cookie's numbers are read as C's strtoul reads them
// (HAProxy's tcp_persist_rdp_cookie), odd forms included.
func TestStrtoul(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		rest string
	}{
		{"16777343.15629.0000", 16777343, ".15629.0000"},
		{"  +12.x", 12, ".x"},
		{"-1.", 1<<64 - 1, "."},
		{"99999999999999999999999.", 1<<64 - 1, "."},
		{".5.", 0, ".5."},
		{"x.", 0, "x."},
		{"", 0, ""},
	} {
		v, rest := strtoul([]byte(tc.in))
		if v != tc.want || string(rest) != tc.rest {
			t.Errorf("strtoul(%q) = %d, %q; want %d, %q", tc.in, v, rest, tc.want, tc.rest)
		}
	}
}
