package integration

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestSocketStatsLikeHAProxy: with option socket-stats each listener has
// its own row after FRONTEND (named by the bind's name or sock-N), with
// its own sessions, bytes and denials, side by side with HAProxy 2.6;
// without the option there is none.
func TestSocketStatsLikeHAProxy(t *testing.T) {
	fields := []string{"pxname", "svname", "stot", "bin", "bout", "dreq", "status", "sid", "type", "addr"}
	got := map[string]string{}
	for _, proxy := range []string{"haproxy", "gatehouse"} {
		dir := t.TempDir()
		sock := filepath.Join(dir, "api.sock")
		p1, p2, p3 := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
		cfg := fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    option socket-stats
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d name second
    http-request deny if { path /deny }
    http-request return status 200 content-type text/plain string ok
frontend plain
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string ok
`, sock, p1, p2, p3)
		if proxy == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		// Each listener got one readiness probe: wait until both are
		// accepted, then count from here.
		testenv.Eventually(t, 20*time.Second, func() bool {
			n := 0
			for _, r := range statRows(t, sock, fields) {
				if r[8] == "3" && r[2] == "1" {
					n++
				}
			}
			return n == 2
		}, proxy+": the readiness probes were not counted")
		base := statRows(t, sock, fields)
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for _, u := range []string{
			fmt.Sprintf("http://127.0.0.1:%d/", p1),
			fmt.Sprintf("http://127.0.0.1:%d/", p2),
			fmt.Sprintf("http://127.0.0.1:%d/deny", p2),
			fmt.Sprintf("http://127.0.0.1:%d/", p3),
		} {
			resp, err := c.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		testenv.Eventually(t, 20*time.Second, func() bool {
			return strings.Contains(apiCLI(t, sock, "show stat"), ",second,,,0,")
		}, proxy+": the second listener's connections did not end")
		after := statRows(t, sock, fields)
		var out []string
		var feIn, feOut, lIn, lOut int
		for i, r := range after {
			if r[0] != "fe" {
				continue
			}
			if r[1] == "FRONTEND" {
				feIn, feOut = atoi(r[3]), atoi(r[4])
				continue
			}
			lIn, lOut = lIn+atoi(r[3]), lOut+atoi(r[4])
			line := []string{}
			for j, f := range fields {
				v := r[j]
				switch f {
				case "stot", "dreq":
					v = fmt.Sprintf("+%d", atoi(v)-atoi(base[i][j]))
				case "bin", "bout":
					v = fmt.Sprintf("%v", atoi(v) > 0) // each proxy's own head sizes
				case "addr":
					v = strings.Replace(strings.Replace(v, fmt.Sprint(p1), "P1", 1), fmt.Sprint(p2), "P2", 1)
				}
				line = append(line, f+"="+v)
			}
			out = append(out, strings.Join(line, " "))
		}
		out = append(out, fmt.Sprintf("FRONTEND bytes = the listeners' sum: %v", feIn == lIn && feOut == lOut))
		got[proxy] = strings.Join(out, "\n")
	}
	if got["haproxy"] != got["gatehouse"] {
		t.Errorf("listener rows differ\nhaproxy:\n%s\ngatehouse:\n%s", got["haproxy"], got["gatehouse"])
	}
	if !strings.Contains(got["haproxy"], "svname=second") {
		t.Errorf("the test's expectations about HAProxy no longer hold:\n%s", got["haproxy"])
	}
}

// statRows reads 'show stat' and keeps the named columns of each row.
func statRows(t *testing.T, sock string, fields []string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(apiCLI(t, sock, "show stat"), "# "))).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("show stat: %v", err)
	}
	col := map[string]int{}
	for i, n := range rows[0] {
		col[n] = i
	}
	var out [][]string
	for _, r := range rows[1:] {
		if len(r) < len(rows[0])-1 {
			continue
		}
		var row []string
		for _, f := range fields {
			row = append(row, r[col[f]])
		}
		out = append(out, row)
	}
	return out
}
