package integration

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func statsOptsConfig(dir string, st, api int) string {
	return fmt.Sprintf(`global
    node n1-edge
    description EU edge
    stats timeout 1s
    stats maxconn 1
    stats socket %s/user.sock level user mode 640
    stats socket ipv4@127.0.0.1:%d

defaults
    mode http
    # The harness's readiness probe is an empty connection, counted as a
    # <BADREQ> (ereq, hrsp_4xx) whenever each proxy gets to its close:
    # not by the time the counters are read, under load.
    option http-ignore-probes
    timeout connect 1s
    timeout client 5s
    timeout server 5s

listen st
    bind 127.0.0.1:%d
    stats enable
    stats uri /
    stats show-node
    stats show-desc
    stats show-modules
    stats scope .
    stats scope be1
    stats http-request deny if { req.hdr(x-deny) yes }
    stats http-request auth realm Ops if { req.hdr(x-auth) yes }
    stats http-request allow

backend be1
    server s1 127.0.0.1:1

backend be2
    server s1 127.0.0.1:1
`, dir, api, st)
}

var (
	h2Re     = regexp.MustCompile(`<h2>Statistics Report for pid \d+(.*)</h2>`)
	anchorRe = regexp.MustCompile(`<a name="([^"/]+)"></a>`)
	h2TipRe  = regexp.MustCompile(`<u>h2<div class=tips><table class=det>(.*?)</table></div></u>`)
	thRe     = regexp.MustCompile(`<th>([^<]*)</th>`)
)

// TestStatsOptionsMatchHAProxy runs the same configuration in HAProxy 2.6
// and Gatehouse: the page shows the same node name and description and
// the same proxies under "stats scope", "stats http-request" answers the
// same, the runtime API refuses the same command at level user, "stats
// timeout" closes an idle session, and "stats maxconn" keeps a second
// session waiting while one is open.
func TestStatsOptionsMatchHAProxy(t *testing.T) {
	type result struct {
		h2       string
		anchors  []string
		modules  bool     // the "Extra modules" group
		h2Fields []string // the h2 module's fields in the first tooltip
		deny     int
		auth     int
		realm    string
		denied   string
		counters string // the stats listen's dreq and intercepted afterwards
		mode     os.FileMode
		idleShut bool
		waited   bool
	}
	var results []result
	for _, name := range []string{"haproxy", "gatehouse"} {
		dir := t.TempDir()
		st, api := testenv.FreePort(t), testenv.FreePort(t)
		cfg := statsOptsConfig(dir, st, api)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		sock := filepath.Join(dir, "user.sock")
		testenv.Eventually(t, 20*time.Second, func() bool { _, err := os.Stat(sock); return err == nil }, "%s: no %s", name, sock)
		var r result
		get := func(hdr string) *http.Response {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", st), nil)
			if hdr != "" {
				req.Header.Set(hdr, "yes")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return resp
		}
		resp := get("")
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(b)
		if m := h2Re.FindStringSubmatch(page); m != nil {
			r.h2 = m[1]
		}
		for _, m := range anchorRe.FindAllStringSubmatch(page, -1) {
			r.anchors = append(r.anchors, m[1])
		}
		slices.Sort(r.anchors)
		r.modules = strings.Contains(page, "Extra modules</th>") && strings.Contains(page, "<th>h2</th>")
		if m := h2TipRe.FindStringSubmatch(page); m != nil {
			for _, f := range thRe.FindAllStringSubmatch(m[1], -1) {
				r.h2Fields = append(r.h2Fields, f[1])
			}
		}
		resp = get("X-Deny")
		r.deny = resp.StatusCode
		resp.Body.Close()
		resp = get("X-Auth")
		r.auth, r.realm = resp.StatusCode, resp.Header.Get("WWW-Authenticate")
		resp.Body.Close()
		resp = get("")
		resp.Body.Close()
		r.counters = statsCounters(t, fmt.Sprintf("http://127.0.0.1:%d/;csv", st), "st", "FRONTEND", "dreq", "intercepted", "hrsp_4xx", "req_tot", "ereq")
		if fi, err := os.Stat(sock); err == nil {
			r.mode = fi.Mode().Perm()
		}
		r.denied = apiExchange(t, "unix", sock, "show sess\n")

		// stats maxconn 1: an open session on the TCP socket, idle (the
		// backlog hands it over before the next one). Not in prompt mode:
		// HAProxy 2.6 keeps an idle interactive session open past stats
		// timeout.
		c1, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", api), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c1.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(c1)
		opened := time.Now()
		c2, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", api), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c2, "show info\n")
		c2.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		var one [1]byte
		n, err := c2.Read(one[:])
		r.waited = n == 0 && errors.Is(err, os.ErrDeadlineExceeded)
		// stats timeout 1s closes the idle one, then the second is served.
		rest, err := io.ReadAll(br)
		r.idleShut = err == nil && strings.TrimSpace(string(rest)) == "" && time.Since(opened) >= 800*time.Millisecond
		c1.Close()
		c2.SetReadDeadline(time.Now().Add(20 * time.Second))
		if b, err := io.ReadAll(c2); err != nil || !strings.Contains(string(b), "Name: ") {
			t.Errorf("%s: the waiting session was not served: %q %v", name, b, err)
		}
		c2.Close()
		results = append(results, r)
	}
	ha, gh := results[0], results[1]
	t.Logf("haproxy:   %+v", ha)
	t.Logf("gatehouse: %+v", gh)
	if ha.h2 != " on n1-edge: EU edge" {
		t.Errorf("haproxy's title %q: the test's premise changed", ha.h2)
	}
	if !ha.modules || len(ha.h2Fields) == 0 {
		t.Errorf("haproxy's page has no h2 module: the test's premise changed")
	}
	if gh.h2 != ha.h2 || !slices.Equal(gh.anchors, ha.anchors) || gh.modules != ha.modules || !slices.Equal(gh.h2Fields, ha.h2Fields) || gh.deny != ha.deny || gh.auth != ha.auth || gh.realm != ha.realm ||
		gh.denied != ha.denied || gh.counters != ha.counters || gh.mode != ha.mode || gh.idleShut != ha.idleShut || gh.waited != ha.waited {
		t.Errorf("differ:\nhaproxy   %+v\ngatehouse %+v", ha, gh)
	}
}

// apiExchange sends req on a new connection and reads to EOF.
func apiExchange(t *testing.T, network, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, req)
	b, _ := io.ReadAll(c)
	return string(b)
}

// statsCounters reads the named columns of one CSV row.
func statsCounters(t *testing.T, url, px, sv string, cols ...string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	lines := strings.Split(string(b), "\n")
	head := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) < 2 || f[0] != px || f[1] != sv {
			continue
		}
		var out []string
		for _, c := range cols {
			if i := slices.Index(head, c); i >= 0 && i < len(f) {
				out = append(out, c+"="+f[i])
			}
		}
		return strings.Join(out, " ")
	}
	return ""
}
