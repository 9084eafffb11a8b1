package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// proxyIdentConfig exercises description, id, disabled and enabled. The
// disabled frontend's address is quoted so that the start helpers do not
// wait for it: it must never be bound.
func proxyIdentConfig(fe, feOff, dead, st int) string {
	return fmt.Sprintf(`defaults off
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    disabled

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    description the public side
    bind 127.0.0.1:%d
    use_backend be_off if { path /off }
    use_backend be_reenabled if { path /re }
    default_backend be_on

frontend fe_off
    disabled
    bind "127.0.0.1:%d"
    default_backend be_on

backend be_on
    id 3
    http-request return status 200 content-type text/plain string on

backend be_off
    disabled
    server s1 127.0.0.1:%d check

backend be_reenabled from off
    enabled
    http-request return status 200 content-type text/plain string re

backend be_auto

listen st
    description stats   here
    bind 127.0.0.1:%d
    stats enable
    stats uri /
`, fe, feOff, dead, st)
}

// TestProxyIdentMatchesHAProxy runs the same configuration in HAProxy 2.6
// and Gatehouse: a disabled frontend is not bound, a request routed to a
// disabled backend is answered 503, "enabled" undoes a defaults'
// "disabled", the stats list the same proxies with the same iids (explicit
// and assigned), and the descriptions are on the stats page.
func TestProxyIdentMatchesHAProxy(t *testing.T) {
	type side struct {
		name          string
		fe, feOff, st int
	}
	var sides []side
	for _, name := range []string{"haproxy", "gatehouse"} {
		s := side{name: name, fe: testenv.FreePort(t), feOff: testenv.FreePort(t), st: testenv.FreePort(t)}
		cfg := proxyIdentConfig(s.fe, s.feOff, testenv.FreePort(t), s.st)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		sides = append(sides, s)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	fetch := func(url string) (int, string) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		return resp.StatusCode, string(b)
	}
	results := map[string][]string{}
	for _, s := range sides {
		var got []string
		for _, path := range []string{"/x", "/off", "/re"} {
			code, body := fetch(fmt.Sprintf("http://127.0.0.1:%d%s", s.fe, path))
			if code != 200 {
				body = ""
			}
			got = append(got, fmt.Sprintf("%s %d %s", path, code, body))
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.feOff), 5*time.Second)
		if err == nil {
			c.Close()
			got = append(got, "disabled frontend accepts connections")
		}
		_, csv := fetch(fmt.Sprintf("http://127.0.0.1:%d/;csv", s.st))
		for _, line := range strings.Split(csv, "\n") {
			f := strings.Split(line, ",")
			if len(f) > 27 && !strings.HasPrefix(line, "#") {
				got = append(got, fmt.Sprintf("stats %s/%s iid=%s", f[0], f[1], f[27]))
			}
		}
		_, html := fetch(fmt.Sprintf("http://127.0.0.1:%d/", s.st))
		for _, d := range []string{"the public side", "stats here"} {
			got = append(got, fmt.Sprintf("page shows %q: %v", d, strings.Contains(html, d)))
		}
		results[s.name] = got
	}
	h, g := strings.Join(results["haproxy"], "\n"), strings.Join(results["gatehouse"], "\n")
	if h != g {
		t.Fatalf("haproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	for _, want := range []string{"/off 503", "/re 200 re", `page shows "the public side": true`, "stats be_on/BACKEND iid=3"} {
		if !strings.Contains(g, want) {
			t.Errorf("missing %q in:\n%s", want, g)
		}
	}
}
