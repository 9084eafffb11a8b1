package upstream

import "testing"

func TestRedispatchTurn(t *testing.T) {
	for _, c := range []struct {
		retries, after int
		want           string // per retry 1..retries: R redispatched, - kept
	}{
		{3, -1, "--R"},
		{3, -2, "-R-"},
		{3, -3, "RRR"},
		{3, -4, "---"},
		{4, 2, "-R-R"},
		{3, 1, "RRR"},
		{3, 0, "---"},
		{1, -1, "R"},
	} {
		got := ""
		for n := 1; n <= c.retries; n++ {
			if RedispatchTurn(n, c.retries, c.after) {
				got += "R"
			} else {
				got += "-"
			}
		}
		if got != c.want {
			t.Errorf("retries %d, redispatch %d: %s, want %s", c.retries, c.after, got, c.want)
		}
	}
}
