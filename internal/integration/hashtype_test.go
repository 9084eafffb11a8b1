package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// hashListen is one listen section of TestHashTypeMatchesHAProxy: how it
// balances, and the key a request carries (URI, header or source).
type hashListen struct {
	name    string
	balance string // balance and hash-type lines
	weights [4]int
	key     string // "uri", "hdr" or "src"
}

var hashListens = []hashListen{
	{"uri_map", "balance uri\n    hash-type map-based", [4]int{1, 2, 1, 3}, "uri"},
	{"uri_djb2_aval", "balance uri\n    hash-type map-based djb2 avalanche", [4]int{3, 1, 2, 1}, "uri"},
	{"uri_crc32", "balance uri\n    hash-type map-based crc32", [4]int{1, 1, 1, 1}, "uri"},
	{"hdr_wt6", "balance hdr(X-Key)\n    hash-type map-based wt6", [4]int{2, 1, 1, 2}, "hdr"},
	{"hdr_sdbm", "balance hdr(X-Key)\n    hash-type map-based sdbm", [4]int{1, 1, 1, 1}, "hdr"},
	{"src_map", "balance source", [4]int{1, 2, 3, 4}, "src"},
	{"uri_cons", "balance uri\n    hash-type consistent", [4]int{1, 1, 1, 1}, "uri"},
	{"uri_cons_w", "balance uri\n    hash-type consistent djb2", [4]int{1, 3, 2, 1}, "uri"},
	{"hdr_cons", "balance hdr(X-Key)\n    hash-type consistent crc32 avalanche", [4]int{1, 1, 1, 1}, "hdr"},
	{"src_cons", "balance source\n    hash-type consistent", [4]int{2, 1, 1, 1}, "src"},
	{"uri_depth", "balance uri depth 2", [4]int{1, 1, 1, 1}, "uri"},
	{"uri_len_whole", "balance uri len 13 whole\n    hash-type consistent", [4]int{1, 1, 1, 1}, "uri"},
	{"uri_whole", "balance uri whole", [4]int{1, 1, 1, 1}, "uri"},
	{"host_domain", "balance hdr(Host) use_domain_only", [4]int{1, 1, 1, 1}, "host"},
	{"param_map", "balance url_param user", [4]int{2, 1, 1, 1}, "param"},
	{"param_cons", "balance url_param user\n    hash-type consistent wt6", [4]int{1, 1, 1, 1}, "param"},
	{"hash_str", "balance hash req.hdr(X-Key)", [4]int{1, 2, 1, 1}, "hdr"},
	{"hash_int_cons", "balance hash req.hdr(X-Key),crc32\n    hash-type consistent djb2 avalanche", [4]int{1, 1, 1, 1}, "hdr"},
	{"hash_src", "balance hash src", [4]int{1, 1, 1, 1}, "src"},
}

// hashKeys is how many keys each listen is asked for (source keys are
// loopback addresses 127.0.x.y, fewer since each needs a connection).
const (
	hashKeys    = 300
	hashSrcKeys = 120
)

func hashKey(kind string, i int) string {
	switch kind {
	case "src":
		return fmt.Sprintf("127.0.%d.%d", 1+i/200, 1+i%200)
	case "host":
		return fmt.Sprintf("www.site%d.com", i)
	case "param":
		// The parameter first, last, alone, after a longer name that ends
		// like it, and empty.
		switch i % 5 {
		case 0:
			return fmt.Sprintf("/q?user=u%d&x=1", i)
		case 1:
			return fmt.Sprintf("/q?a=1&b=%d&user=u%d", i, i)
		case 2:
			return fmt.Sprintf("/q/%d?user=u%d", i, i*31)
		case 3:
			return fmt.Sprintf("/q?superuser=x%d&user=v%d", i, i)
		}
		return fmt.Sprintf("/q?z=%d&user=", i)
	case "hdr":
		// Bytes above 0x7f too: HAProxy hashes them as unsigned chars.
		return fmt.Sprintf("user-%d-\xc3\xa9-%x", i, i*7919)
	}
	return fmt.Sprintf("/obj/%d/%d/item.js?v=%d", i%13, i, i)
}

// hashPlacement asks the proxy at port for every key of l and returns the
// name of the server that answered each.
func hashPlacement(t *testing.T, port int, l hashListen) []string {
	t.Helper()
	n := hashKeys
	if l.key == "src" {
		n = hashSrcKeys
	}
	out := make([]string, n)
	for i := range n {
		k := hashKey(l.key, i)
		dialer := &net.Dialer{Timeout: 10 * time.Second}
		if l.key == "src" {
			dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(k)}
		}
		tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		}}
		c := &http.Client{Timeout: 20 * time.Second, Transport: tr}
		uri := "/"
		if l.key == "uri" || l.key == "param" {
			uri = k
		}
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s%s", testenv.LocalAddr(port), uri), nil)
		if l.key == "hdr" {
			req.Header.Set("X-Key", k)
		}
		if l.key == "host" {
			req.Host = k
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s key %q: %v", l.name, k, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s key %q: status %d", l.name, k, resp.StatusCode)
		}
		out[i] = string(b)
	}
	return out
}

// TestHashTypeMatchesHAProxy runs the same listens in HAProxy 2.6 and
// Gatehouse, each over four servers that answer their own name, and asks
// both for the same keys: with every hash-type (map-based and consistent,
// each function, avalanche or not, weighted), each key must reach the same
// server in both. Then one server of each listen is disabled through the
// runtime API: the keys must again land alike, and with consistent
// hashing only the disabled server's keys move (about 1/4), where
// map-based hashing remaps most of them.
func TestHashTypeMatchesHAProxy(t *testing.T) {
	var servers [4]string
	for i := range servers {
		name := fmt.Sprintf("s%d", i+1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
		t.Cleanup(srv.Close)
		servers[i] = srv.Listener.Addr().String()
	}
	type run struct {
		sock   string
		ports  map[string]int
		before map[string][]string
		after  map[string][]string
	}
	runs := map[string]*run{}
	for _, proxy := range []string{"haproxy", "gatehouse"} {
		r := &run{sock: t.TempDir() + "/admin.sock", ports: map[string]int{}, before: map[string][]string{}, after: map[string][]string{}}
		var cfg strings.Builder
		fmt.Fprintf(&cfg, "global\n    stats socket %s level admin\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n", r.sock)
		for _, l := range hashListens {
			r.ports[l.name] = testenv.FreePort(t)
			fmt.Fprintf(&cfg, "\nlisten %s\n    bind 127.0.0.1:%d\n    %s\n", l.name, r.ports[l.name], l.balance)
			for i, a := range servers {
				fmt.Fprintf(&cfg, "    server s%d %s weight %d\n", i+1, a, l.weights[i])
			}
		}
		if proxy == "haproxy" {
			testenv.StartHAProxy(t, cfg.String())
		} else {
			testenv.StartGatehouse(t, cfg.String())
		}
		runs[proxy] = r
		for _, l := range hashListens {
			r.before[l.name] = hashPlacement(t, r.ports[l.name], l)
		}
		for _, l := range hashListens {
			runtimeCmd(t, r.sock, fmt.Sprintf("disable server %s/s2", l.name))
		}
		for _, l := range hashListens {
			r.after[l.name] = hashPlacement(t, r.ports[l.name], l)
		}
	}
	h, g := runs["haproxy"], runs["gatehouse"]
	for _, l := range hashListens {
		for phase, pair := range map[string][2][]string{"all up": {h.before[l.name], g.before[l.name]}, "s2 disabled": {h.after[l.name], g.after[l.name]}} {
			diff := 0
			for i := range pair[0] {
				if pair[0][i] != pair[1][i] {
					if diff < 5 {
						t.Errorf("%s (%s): key %q: haproxy chose %s, gatehouse %s", l.name, phase, hashKey(l.key, i), pair[0][i], pair[1][i])
					}
					diff++
				}
			}
			if diff > 0 {
				t.Errorf("%s (%s): %d of %d keys on another server than HAProxy's", l.name, phase, diff, len(pair[0]))
			}
		}
		moved, onS2 := 0, 0
		for i, s := range g.before[l.name] {
			if s == "s2" {
				onS2++
			}
			if g.after[l.name][i] != s {
				moved++
				if strings.Contains(l.balance, "consistent") && s != "s2" {
					t.Errorf("%s: key %q moved from %s to %s though only s2 left", l.name, hashKey(l.key, i), s, g.after[l.name][i])
				}
			}
		}
		t.Logf("%s: %d of %d keys moved when s2 left (%d were on s2)", l.name, moved, len(g.before[l.name]), onS2)
		if l.name == "uri_cons" && (moved < len(g.before[l.name])/8 || moved > len(g.before[l.name])*3/8) {
			t.Errorf("uri_cons: %d of %d keys moved when one of 4 equal servers left, want about 1/4", moved, len(g.before[l.name]))
		}
		if l.name == "uri_crc32" && moved < len(g.before[l.name])/2 {
			t.Errorf("uri_crc32 (map-based): only %d of %d keys moved when one of 4 servers left, want most", moved, len(g.before[l.name]))
		}
	}
}
