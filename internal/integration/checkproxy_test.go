package integration

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

// statsColumns reads "proxy/server" -> column -> value from a stats CSV.
func statsColumns(body string) map[string]map[string]string {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		return nil
	}
	out := map[string]map[string]string{}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, name := range recs[0] {
			if i < len(rec) {
				row[name] = rec[i]
			}
		}
		if len(rec) > 1 {
			out[rec[0]+"/"+rec[1]] = row
		}
	}
	return out
}

// TestChecksCarryTheProxyHeader: in front of a gateway that requires the
// PROXY protocol (nginx "listen ... proxy_protocol", as Istio's gateway with
// proxyProtocol on), a server with send-proxy-v2 (or send-proxy) passes its
// HTTP check over TLS because the check sends the header too; the same
// server without it fails. HAProxy 2.6 gives the same states.
func TestChecksCarryTheProxyHeader(t *testing.T) {
	g := testenv.StartGateway(t, testenv.GatewayOptions{ProxyProtocol: true})
	cfg := func(statsPort int) string {
		srv := fmt.Sprintf("127.0.0.1:%d ssl sni str(%s) verify required ca-file %s check check-sni %s inter 1s fall 1 rise 1",
			g.PPPort, testenv.SeedHost, g.CAFile, testenv.SeedHost)
		return fmt.Sprintf(`
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout check 2s
    option httpchk
    http-check send meth GET uri /healthz hdr Host %s

listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats

backend v2
    server gw %s send-proxy-v2 proxy-v2-options ssl,authority,unique-id

backend v1
    server gw %s send-proxy

backend none
    server gw %s
`, testenv.SeedHost, statsPort, srv, srv, srv)
	}
	want := map[string]string{"v2/gw": "UP L7OK", "v1/gw": "UP L7OK", "none/gw": "DOWN L6RSP"}
	check := func(name string, start func(string)) {
		port := testenv.FreePort(t)
		start(cfg(port))
		var last string
		ok := func() bool {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stats;csv", port))
			if err != nil {
				last = err.Error()
				return false
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cols := statsColumns(string(b))
			var got []string
			match := true
			for k, w := range want {
				row := cols[k]
				s := row["status"] + " " + row["check_status"]
				got = append(got, k+"="+s)
				match = match && s == w
			}
			last = strings.Join(got, ", ")
			return match
		}
		testenv.Eventually(t, 30*time.Second, ok, "%s: server states %s, want %v", name, &last, want)
	}
	check("gatehouse", func(c string) { testenv.StartGatehouse(t, c) })
	check("haproxy", func(c string) { testenv.StartHAProxy(t, c) })
}
