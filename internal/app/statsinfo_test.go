package app

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStatsProcessInfo: "show info" and the stats page report the
// process's limits, build date and idle share, not zeros and dashes.
func TestStatsProcessInfo(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	start(t, fmt.Sprintf(`
global
    stats socket %s/admin.sock level admin
`, dir)+testDefaults+fmt.Sprintf(`
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, port))
	fds := fdLimit()
	if fds <= 0 {
		t.Fatalf("fdLimit() = %d", fds)
	}
	info := cli(t, filepath.Join(dir, "admin.sock"), "show info")
	for _, want := range []string{
		fmt.Sprintf("\nUlimit-n: %d\n", fds),
		fmt.Sprintf("\nMaxsock: %d\n", fds),
	} {
		if !strings.Contains(info, want) {
			t.Errorf("show info lacks %q:\n%s", want, info)
		}
	}
	if !regexp.MustCompile(`\nRelease_date: \d{4}/\d\d/\d\d\n`).MatchString(info) {
		t.Errorf("show info has no Release_date:\n%s", info)
	}

	page := func() string {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stats", port))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	p := page()
	for _, want := range []string{
		fmt.Sprintf("ulimit-n = %d<br>", fds),
		fmt.Sprintf("<b>maxsock = </b> %d;", fds),
	} {
		if !strings.Contains(p, want) {
			t.Errorf("stats page lacks %q", want)
		}
	}
	// The idle share is measured over about a second: a test process that
	// mostly waits shows a positive one once a measure is done.
	idleRE := regexp.MustCompile(`idle = (\d+) %`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := idleRE.FindStringSubmatch(p)
		if m == nil {
			t.Fatalf("stats page shows no idle share")
		}
		if n, _ := strconv.Atoi(m[1]); n > 0 && n <= 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle share still %q after 20s", m[0])
		}
		time.Sleep(100 * time.Millisecond)
		p = page()
	}
}

func TestIdleShare(t *testing.T) {
	tests := []struct {
		used, capacity time.Duration
		want           int
	}{
		{0, 2 * time.Second, 100},
		{500 * time.Millisecond, 2 * time.Second, 75},
		{2 * time.Second, 2 * time.Second, 0},
		{3 * time.Second, 2 * time.Second, 0}, // clock skew between the two readings
		{time.Second, 0, -1},
	}
	for _, tc := range tests {
		if got := idleShare(tc.used, tc.capacity); got != tc.want {
			t.Errorf("idleShare(%v, %v) = %d, want %d", tc.used, tc.capacity, got, tc.want)
		}
	}
}

// TestStatsPageCountsItself: as in HAProxy, a stats request is counted
// as intercepted before the page is made, so the first CSV shows 1.
func TestStatsPageCountsItself(t *testing.T) {
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, port))
	for want := 1; want <= 2; want++ {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stats;csv", port))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lines := strings.Split(string(b), "\n")
		cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
		idx := -1
		for i, c := range cols {
			if c == "intercepted" {
				idx = i
			}
		}
		if idx < 0 {
			t.Fatalf("no intercepted column: %s", lines[0])
		}
		for _, l := range lines[1:] {
			if f := strings.Split(l, ","); strings.HasPrefix(l, "stats,FRONTEND,") && idx < len(f) {
				if f[idx] != strconv.Itoa(want) {
					t.Errorf("request %d: intercepted = %s, want %d", want, f[idx], want)
				}
			}
		}
	}
}
