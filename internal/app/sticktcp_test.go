package app

import (
	"strings"
	"testing"
)

// TestTCPTrackBuild: tcp-request track-sc compiles in mode tcp and mode
// http (frontend connection, session and content rules, a backend's
// content rules on its own table); a key a connection or session rule
// cannot read is refused.
func TestTCPTrackBuild(t *testing.T) {
	const tables = `
backend per
    mode tcp
    stick-table type ip size 10 store conn_cnt
    tcp-request content track-sc2 src
    server s 127.0.0.1:1
`
	ok := `defaults
    mode tcp
frontend fe
    bind 127.0.0.1:9
    stick-table type ip size 10 store conn_rate(10s),conn_cur
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc0_conn_rate gt 5 }
    tcp-request content track-sc1 src table per
    default_backend per
` + tables
	c, err := parseText(ok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(c, "test"); err != nil {
		t.Fatalf("mode tcp: %v", err)
	}
	httpCfg := "defaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:9\n    tcp-request connection track-sc0 src table per\n" +
		"    tcp-request session track-sc1 src table per\n    tcp-request session sc-inc-gpc0(1)\n    tcp-request content track-sc2 src table per\n    default_backend per\n" +
		strings.Replace(tables, "mode tcp", "mode http", 1)
	if c, err = parseText(httpCfg); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(c, "test"); err != nil {
		t.Fatalf("mode http: %v", err)
	}
	for _, tc := range []struct{ cfg, want string }{
		{"defaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:9\n    tcp-request session track-sc0 req.hdr(host) table per\n    default_backend per\n" +
			strings.Replace(tables, "mode tcp", "mode http", 1), "tcp-request session track-sc0"},
		{"defaults\n    mode tcp\nfrontend fe\n    bind 127.0.0.1:9\n    tcp-request connection track-sc0 req.payload(0,4) table per\n    default_backend per\n" + tables, "tcp-request connection track-sc0"},
	} {
		c, err := parseText(tc.cfg)
		if err == nil {
			_, err = Build(c, "test")
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
}

// TestContentTrackWarning: an HTTP frontend's tcp-request content track-sc
// on a key that does not read the request gets HAProxy's advice to track
// at the session level, once per frontend; one reading the request none.
func TestContentTrackWarning(t *testing.T) {
	const head = "defaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:9\n    stick-table type ip size 10 store conn_cnt\n"
	for _, tc := range []struct {
		rules string
		warns int
	}{
		{"    tcp-request content track-sc0 src\n    tcp-request content track-sc1 src\n", 1},
		{"    tcp-request content track-sc0 req.hdr(host)\n    tcp-request session track-sc1 src\n", 0},
	} {
		c, err := parseText(head + tc.rules + "    default_backend b\nbackend b\n    server s 127.0.0.1:1\n")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Build(c, "test"); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, w := range c.Warnings {
			if strings.Contains(w.Msg, "should be executed at the session level") {
				n++
			}
		}
		if n != tc.warns {
			t.Errorf("%q: %d warnings, want %d: %+v", tc.rules, n, tc.warns, c.Warnings)
		}
	}
}
