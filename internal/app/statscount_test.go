package app

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// statsRows fetches a stats CSV as "proxy/server" -> column -> value.
func statsRows(t *testing.T, url string) map[string]map[string]string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("bad CSV (%v): %s", err, b)
	}
	out := map[string]map[string]string{}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, c := range recs[0] {
			if i < len(rec) {
				row[c] = rec[i]
			}
		}
		out[row["pxname"]+"/"+row["svname"]] = row
	}
	return out
}

// TestStatsLoadBalancingCounters runs without HAProxy what
// TestStatsCSVMatchesHAProxy compares with it: lbtot once per choice on
// each server and on the BACKEND row, a request's bytes with its head on
// its server, econ once per failed request, the proxy's own 503 in the
// backend's hrsp_5xx, the backend's fullconn as slim, and a backend
// without servers UP.
func TestStatsLoadBalancingCounters(t *testing.T) {
	port, stport := freePort(t), freePort(t)
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	start(t, `
global
    maxconn 300
`+testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    maxconn 100
    use_backend broken if { path_beg /broken }
    default_backend be

backend be
    balance roundrobin
    server s1 %s
    server s2 %s

backend broken
    retries 2
    timeout connect 200ms
    server dead %s

listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, port, hostPort(echoBackend(t, "b1")), hostPort(echoBackend(t, "b2")), dead, stport))
	const n = 6
	req := "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	for range n {
		if got := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", port), req); !strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Fatalf("answer: %q", got)
		}
	}
	broken := "GET /broken HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	if got := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", port), broken); !strings.HasPrefix(got, "HTTP/1.1 503") {
		t.Fatalf("answer: %q", got)
	}
	var rows map[string]map[string]string
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows = statsRows(t, fmt.Sprintf("http://127.0.0.1:%d/stats;csv", stport))
		if rows["fe/FRONTEND"]["req_tot"] == fmt.Sprint(n+1) && rows["be/BACKEND"]["scur"] == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("requests not accounted: %v", rows["fe/FRONTEND"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := map[string]map[string]string{
		"be/s1":          {"lbtot": "3", "stot": "3", "bin": fmt.Sprint(3 * len(req))},
		"be/s2":          {"lbtot": "3", "stot": "3", "bin": fmt.Sprint(3 * len(req))},
		"be/BACKEND":     {"lbtot": "6", "bin": fmt.Sprint(n * len(req)), "slim": "10", "status": "UP"},
		"broken/dead":    {"lbtot": "1", "econ": "1", "wretr": "2", "bin": fmt.Sprint(len(broken))},
		"broken/BACKEND": {"lbtot": "1", "econ": "1", "hrsp_5xx": "1", "slim": "10", "status": "UP"}, // an unchecked server is up
		"fe/FRONTEND":    {"slim": "100"},
		"stats/FRONTEND": {"slim": "300"},
		"stats/BACKEND":  {"slim": "30", "status": "UP"},
	}
	for row, cols := range want {
		for c, v := range cols {
			if got := rows[row][c]; got != v {
				t.Errorf("%s %s = %q, want %q", row, c, got, v)
			}
		}
	}
	// The bytes out of a server are its answers', heads included.
	if b := rows["be/s1"]["bout"]; b == "" || b == "0" || rows["be/BACKEND"]["bout"] != fmt.Sprint(atoiOr0(rows["be/s1"]["bout"])+atoiOr0(rows["be/s2"]["bout"])) {
		t.Errorf("bout: s1 %s, s2 %s, backend %s", b, rows["be/s2"]["bout"], rows["be/BACKEND"]["bout"])
	}
}

func atoiOr0(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}
