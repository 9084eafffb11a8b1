package app

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// seedHealthConfig is the seed's second config (the health-checked Istio
// backend) verbatim, with a log line and free ports; host overrides the
// check's Host header.
func seedHealthConfig(statsPort, fePort, gwPort int, host string) string {
	return fmt.Sprintf(`global
        log stdout format raw local0
defaults
        mode http
        log global
        timeout connect 5s
        timeout client 30s
        timeout server 30s

frontend stats
        bind 127.0.0.1:%d
        stats enable
        stats uri /stats
        stats refresh 10s

frontend istio-gateway
        bind 127.0.0.1:%d
        use_backend istio-gateway

backend istio-gateway
        option httplog
        option httpchk GET / HTTP/1.1\r\nHost:\ %s

        http-request set-header Host helloworld.zufardhiyaulhaq.tech
        server helloworld helloworld.zufardhiyaulhaq.tech:%d check check-ssl check-sni helloworld.zufardhiyaulhaq.tech ssl sni str(helloworld.zufardhiyaulhaq.tech) verify none
`, statsPort, fePort, host, gwPort)
}

// checkColumns reads check_status, check_code and status of a server from
// a stats CSV page, stripping the "* " of a check in progress.
func checkColumns(t *testing.T, statsURL, row string) (string, error) {
	t.Helper()
	resp, err := http.Get(statsURL + ";csv")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "# "))).ReadAll()
	if err != nil || len(recs) < 2 {
		return "", fmt.Errorf("bad csv %q: %v", body, err)
	}
	idx := map[string]int{}
	for i, h := range recs[0] {
		idx[h] = i
	}
	for _, r := range recs[1:] {
		if len(r) > idx["status"] && r[0]+"/"+r[1] == row {
			return fmt.Sprintf("%s %s %s", strings.TrimPrefix(r[idx["check_status"]], "* "), r[idx["check_code"]], r[idx["status"]]), nil
		}
	}
	return "", fmt.Errorf("no row %s in %q", row, body)
}

func waitColumns(t *testing.T, statsURL, want string, within time.Duration) {
	t.Helper()
	var got string
	var err error
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if got, err = checkColumns(t, statsURL, "istio-gateway/helloworld"); err == nil && got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: check columns %q (%v), want %q within %v", statsURL, got, err, want, within)
}

// TestSeedHealthCheck is acceptance 1 and 5 of issue 3: the seed's checked
// backend against an Istio-like nginx gateway, with real HAProxy running
// the same config side by side; their CSV check columns must agree.
func TestSeedHealthCheck(t *testing.T) {
	testenv.RequireHostsEntry(t, testenv.SeedHost)
	gw := testenv.StartGateway(t, testenv.GatewayOptions{})
	inter, fall, rise := 2*time.Second, 3, 2

	for _, tc := range []struct {
		name, host, want string
	}{
		{"right host", testenv.SeedHost, "L7OK 200 UP"},
		{"wrong host", "wrong.example", "L7STS 404 DOWN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ghStats, ghFE := freePort(t), freePort(t)
			start(t, seedHealthConfig(ghStats, ghFE, gw.TLSPort, tc.host))
			ghURL := fmt.Sprintf("http://127.0.0.1:%d/stats", ghStats)
			var haURL string
			if _, err := testenv.LookBinary("haproxy"); err == nil {
				haStats, haFE := freePort(t), freePort(t)
				testenv.StartHAProxy(t, seedHealthConfig(haStats, haFE, gw.TLSPort, tc.host))
				haURL = fmt.Sprintf("http://127.0.0.1:%d/stats", haStats)
			}
			// Down needs fall checks, starting from health rise.
			within := time.Duration(fall+1) * inter
			waitColumns(t, ghURL, tc.want, within)
			if haURL != "" {
				waitColumns(t, haURL, tc.want, within)
			}
			if tc.name != "right host" {
				return
			}
			// The gateway dies: L4CON within inter × fall, requests get 503.
			gw.Stop()
			t.Cleanup(func() {
				if !gw.Running() {
					gw.Start()
				}
			})
			waitColumns(t, ghURL, "L4CON  DOWN", time.Duration(fall)*inter+time.Second)
			if haURL != "" {
				waitColumns(t, haURL, "L4CON  DOWN", time.Duration(fall)*inter+time.Second)
			}
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", ghFE))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("request while down: %d, want 503", resp.StatusCode)
			}
			// Back after rise good checks.
			gw.Start()
			waitColumns(t, ghURL, "L7OK 200 UP", time.Duration(rise+1)*inter)
			if haURL != "" {
				waitColumns(t, haURL, "L7OK 200 UP", time.Duration(rise+1)*inter)
			}
		})
	}
}
