package integration

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestCacheHitRulesMatchHAProxy: HAProxy's cache answers a hit as an
// applet in the server's place, so the hit goes through the http-response
// rules (the backend's when the cache is used there, then the
// frontend's) and http-after-response, and res.cache_hit/res.cache_name
// say where it came from. A deny on a hit replaces it.
func TestCacheHitRulesMatchHAProxy(t *testing.T) {
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		origin := startCacheOrigin(t)
		feCache, beCache := testenv.FreePort(t), testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

cache fecache
    total-max-size 1
    max-age 60

cache becache
    total-max-size 1
    max-age 60

frontend withcache
    bind 127.0.0.1:%d
    http-request set-var(txn.path) path
    http-request cache-use fecache
    http-response cache-store fecache
    http-response set-header X-Fe "%%[res.cache_hit]-%%[res.cache_name]"
    http-response deny deny_status 403 if { res.cache_hit } { var(txn.path) -m beg /deny }
    http-after-response set-header X-After %%[res.cache_hit]
    default_backend app

frontend plain
    bind 127.0.0.1:%d
    http-response set-header X-Fe "%%[res.cache_hit]-%%[res.cache_name]"
    default_backend cached

backend app
    http-response set-header X-Be stored
    server s1 %s

backend cached
    http-request cache-use becache
    http-response cache-store becache
    http-response set-header X-Be "%%[res.cache_hit]-%%[res.cache_name]"
    server s1 %s
`, feCache, beCache, origin.addr, origin.addr)
		stop := testenv.StartSide(t, name, cfg)
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		var out []string
		for _, probe := range []struct {
			port int
			path string
		}{
			{feCache, "/fe"}, {feCache, "/fe"},
			{feCache, "/deny"}, {feCache, "/deny"},
			{beCache, "/be"}, {beCache, "/be"},
		} {
			resp, err := client.Get(fmt.Sprintf("http://%s%s?cc=max-age=60", testenv.LocalAddr(probe.port), probe.path))
			if err != nil {
				t.Fatalf("%s: %s: %v", name, probe.path, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			h := resp.Header
			out = append(out, fmt.Sprintf("%s %d fe=%q be=%q after=%q age=%v origin=%d", probe.path, resp.StatusCode,
				h.Get("X-Fe"), h.Get("X-Be"), h.Get("X-After"), h.Get("Age") != "", origin.count(probe.path)))
		}
		stop()
		results[name] = out
	}
	want := []string{
		`/fe 200 fe="0-" be="stored" after="0" age=false origin=1`,
		`/fe 200 fe="1-fecache" be="stored" after="1" age=true origin=1`,
		`/deny 200 fe="0-" be="stored" after="0" age=false origin=1`,
		`/deny 403 fe="" be="" after="1" age=false origin=1`,
		`/be 200 fe="0-" be="0-" after="" age=false origin=1`,
		`/be 200 fe="1-becache" be="1-becache" after="" age=true origin=1`,
	}
	for name, got := range results {
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n got %s\nwant %s", name, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
		}
	}
}
