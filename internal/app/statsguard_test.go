package app

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// TestStatsGuardedByRules: http-request rules run before the stats page
// answers, so the usual "deny unless from the admin network" guards it.
func TestStatsGuardedByRules(t *testing.T) {
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend stats
    bind 127.0.0.1:%d
    http-request deny if { path_beg /stats } !{ hdr(x-admin) yes }
    stats enable
    stats uri /stats
`, port))
	for _, tc := range []struct {
		admin  string
		status int
	}{{"", 403}, {"yes", 200}} {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/stats;csv", port), nil)
		if tc.admin != "" {
			req.Header.Set("X-Admin", tc.admin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("x-admin %q: status %d, want %d", tc.admin, resp.StatusCode, tc.status)
		}
	}
}
