package app

import (
	"context"
	"crypto/tls"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestH2Stats: HTTP/2 traffic moves the frontend's h2 stats-module fields in
// the stats CSV ("-" then h2_*, as HAProxy prints them) and in the
// Prometheus exporter's extra counters.
func TestH2Stats(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.WritePEMFile(t, dir, "edge.pem", "edge.example")
	tlsPort, clearPort, monPort := freePort(t), freePort(t), freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1
    bind 127.0.0.1:%d proto h2
    default_backend app
backend app
    server s1 %s
frontend mon
    bind 127.0.0.1:%d
    http-request use-service prometheus-exporter if { path /metrics }
    stats enable
    stats uri /stats
`, tlsPort, dir, clearPort, hostPort(echoBackend(t, "h1")), monPort))
	mon := fmt.Sprintf("http://127.0.0.1:%d", monPort)

	before := h2StatsCSV(t, mon)
	fe := before["fe/FRONTEND"]
	if fe == nil {
		t.Fatalf("no fe/FRONTEND row: %v", before)
	}
	for _, f := range []string{"h2_total_connections", "h2_headers_rcvd", "h2_open_connections"} {
		if fe[f] != "0" {
			t.Errorf("before any HTTP/2 request, %s = %q, want 0", f, fe[f])
		}
	}

	overTLS := h2Client(t, ca, "edge.example")
	overTLS.Transport.(*http2.Transport).DialTLSContext = func(ctx context.Context, network, _ string, cfg *tls.Config) (net.Conn, error) {
		return (&tls.Dialer{Config: cfg}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", tlsPort))
	}
	clients := []struct {
		c   *http.Client
		url string
	}{
		{overTLS, fmt.Sprintf("https://edge.example:%d", tlsPort)},
		{h2Client(t, nil, ""), fmt.Sprintf("http://127.0.0.1:%d", clearPort)},
	}
	const perClient = 3
	for _, cl := range clients {
		for i := range perClient {
			resp, err := cl.c.Post(fmt.Sprintf("%s/r%d", cl.url, i), "text/plain", strings.NewReader("payload"))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
				t.Fatalf("%s: %d over HTTP/%d", cl.url, resp.StatusCode, resp.ProtoMajor)
			}
		}
	}

	rows := h2StatsCSV(t, mon)
	fe = rows["fe/FRONTEND"]
	num := func(row map[string]string, f string) uint64 {
		t.Helper()
		n, err := strconv.ParseUint(row[f], 10, 64)
		if err != nil {
			t.Fatalf("%s = %q: %v", f, row[f], err)
		}
		return n
	}
	// One connection per client; each request is one stream opened by a
	// HEADERS frame and carrying a DATA frame; each client sends SETTINGS.
	if n := num(fe, "h2_total_connections"); n != uint64(len(clients)) {
		t.Errorf("h2_total_connections = %d, want %d", n, len(clients))
	}
	for f, least := range map[string]uint64{
		"h2_headers_rcvd":          perClient * 2,
		"h2_backend_total_streams": perClient * 2,
		"h2_data_rcvd":             perClient * 2,
		"h2_settings_rcvd":         2,
	} {
		if n := num(fe, f); n < least {
			t.Errorf("%s = %d, want at least %d", f, n, least)
		}
	}
	if n := num(fe, "h2_open_connections"); n > uint64(len(clients)) {
		t.Errorf("h2_open_connections = %d with %d clients", n, len(clients))
	}
	if fe["-"] != "-" {
		t.Errorf(`"-" column = %q`, fe["-"])
	}
	// The backend side has no h2 counters: empty, not zero.
	if be := rows["app/BACKEND"]; be == nil || be["h2_headers_rcvd"] != "" {
		t.Errorf("app/BACKEND h2_headers_rcvd = %q, want empty", be["h2_headers_rcvd"])
	}
	// The HTTP/1.1-only monitoring frontend has seen no HTTP/2.
	if m := rows["mon/FRONTEND"]; m == nil || m["h2_total_connections"] != "0" {
		t.Errorf("mon/FRONTEND h2_total_connections = %q, want 0", m["h2_total_connections"])
	}

	// Prometheus: only with ?extra-counters, named as HAProxy's exporter does.
	metrics := func(q string) string {
		resp, err := http.Get(mon + "/metrics" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /metrics%s: %d", q, resp.StatusCode)
		}
		return string(b)
	}
	if out := metrics(""); strings.Contains(out, "_h2_") {
		t.Errorf("h2 metrics without extra-counters")
	}
	out := metrics("?scope=frontend&extra-counters")
	series := func(name string) uint64 {
		t.Helper()
		prefix := name + `{proxy="fe",mod="h2"} `
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, prefix); ok {
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					t.Fatalf("%s: %v", l, err)
				}
				return n
			}
		}
		t.Fatalf("no %s series in:\n%s", prefix, out)
		return 0
	}
	if n := series("haproxy_frontend_h2_total_connections"); n != uint64(len(clients)) {
		t.Errorf("haproxy_frontend_h2_total_connections = %d, want %d", n, len(clients))
	}
	if n := series("haproxy_frontend_h2_headers_rcvd"); n < perClient*2 {
		t.Errorf("haproxy_frontend_h2_headers_rcvd = %d, want at least %d", n, perClient*2)
	}
	for _, want := range []string{
		"# TYPE haproxy_frontend_h2_headers_rcvd counter\n",
		"# TYPE haproxy_frontend_h2_open_connections gauge\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics miss %q", want)
		}
	}

	// Once the clients hang up, no HTTP/2 connection stays open.
	for _, cl := range clients {
		cl.c.Transport.(*http2.Transport).CloseIdleConnections()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		open := h2StatsCSV(t, mon)["fe/FRONTEND"]["h2_open_connections"]
		if open == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("h2_open_connections = %s after the clients closed", open)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// h2StatsCSV reads base's stats page as CSV: rows keyed "pxname/svname",
// each a map of column name to cell.
func h2StatsCSV(t *testing.T, base string) map[string]map[string]string {
	t.Helper()
	resp, err := http.Get(base + "/stats;csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "# "))).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("stats CSV: %v\n%s", err, b)
	}
	header := recs[0]
	rows := map[string]map[string]string{}
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range header {
			m[h] = rec[i]
		}
		rows[rec[0]+"/"+rec[1]] = m
	}
	return rows
}
