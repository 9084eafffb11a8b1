package integration

import (
	"encoding/csv"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestMaxRewriteLikeHAProxy: with tune.bufsize 4096 a request head may
// take bufsize - tune.maxrewrite (400 past it); a header a rule adds that
// makes the head outgrow the buffer fails the request with a 500, counted
// in wrew; a tune.maxrewrite above half the buffer counts as half. Side
// by side with HAProxy 2.6, away from the exact boundaries (HAProxy
// counts its internal block headers too).
func TestMaxRewriteLikeHAProxy(t *testing.T) {
	big := strings.Repeat("b", 1500)
	cases := []struct {
		maxrewrite string
		path       string
		pad        int
		want       string
	}{
		{"1024", "/big", 1000, "200"},
		{"1024", "/big", 2700, "500"},
		{"1024", "/small", 2700, "200"},
		{"1024", "/small", 3300, "400"},
		{"3000", "/small", 1800, "200"},
		{"3000", "/small", 2300, "400"},
	}
	got := map[string]string{}
	for _, proxy := range []string{"haproxy", "gatehouse"} {
		for _, mr := range []string{"1024", "3000"} {
			dir := t.TempDir()
			sock := filepath.Join(dir, "api.sock")
			port := testenv.FreePort(t)
			cfg := fmt.Sprintf(`global
    tune.bufsize 4096
    tune.maxrewrite %s
    stats socket %s level admin
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    http-request add-header X-Big %s if { path /big }
    http-request return status 200 content-type text/plain string ok
`, mr, sock, port, big)
			if proxy == "haproxy" {
				testenv.StartHAProxy(t, cfg)
			} else {
				testenv.StartGatehouse(t, cfg)
			}
			for _, c := range cases {
				if c.maxrewrite != mr {
					continue
				}
				req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: a\r\nX-Pad: %s\r\nConnection: close\r\n\r\n", c.path, strings.Repeat("p", c.pad))
				code := strings.SplitN(exchangeRaw(t, port, req), " ", 2)[0]
				if code == "431" {
					code = "400" // Gatehouse's answer to a head too large (HTTP/1 codec), HAProxy's 400
				}
				got[fmt.Sprintf("%s %s %s %d", proxy, mr, c.path, c.pad)] = code
			}
			rows, _ := csv.NewReader(strings.NewReader(strings.TrimPrefix(apiCLI(t, sock, "show stat"), "# "))).ReadAll()
			col := map[string]int{}
			for i, n := range rows[0] {
				col[n] = i
			}
			for _, r := range rows[1:] {
				if r[1] == "FRONTEND" {
					got[proxy+" "+mr+" wrew"] = r[col["wrew"]]
				}
			}
		}
	}
	for _, c := range cases {
		k := fmt.Sprintf("%s %s %d", c.maxrewrite, c.path, c.pad)
		if h, g := got["haproxy "+k], got["gatehouse "+k]; h != c.want || g != h {
			t.Errorf("maxrewrite %s, %s with a %d-byte header: haproxy %s, gatehouse %s, want %s", c.maxrewrite, c.path, c.pad, h, g, c.want)
		}
	}
	for _, mr := range []string{"1024", "3000"} {
		if h, g := got["haproxy "+mr+" wrew"], got["gatehouse "+mr+" wrew"]; h != g {
			t.Errorf("maxrewrite %s: wrew haproxy %s, gatehouse %s", mr, h, g)
		}
	}
}
