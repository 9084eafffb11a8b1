package cfgparse

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestHashTypeSyntax: hash-type and hash-balance-factor as HAProxy 2.6
// parses them (its messages for what it refuses); a bare "consistent" is
// sdbm with avalanche, and the settings survive a later "balance" line and
// come from defaults.
func TestHashTypeSyntax(t *testing.T) {
	for _, tc := range []struct {
		lines string
		want  config.HashType
		warn  string
		err   string
	}{
		{lines: "balance uri\n    hash-type map-based", want: config.HashType{}},
		{lines: "hash-type consistent\n    balance uri", want: config.HashType{Consistent: true}},
		{lines: "balance hdr(x)\n    hash-type consistent djb2 avalanche", want: config.HashType{Consistent: true, Func: "djb2", Avalanche: true}},
		{lines: "balance source\n    hash-type map-based wt6", want: config.HashType{Func: "wt6"}},
		{lines: "balance uri\n    hash-type consistent crc32\n    hash-balance-factor 150", want: config.HashType{Consistent: true, Func: "crc32", BalanceFactor: 150}},
		{lines: "balance uri\n    hash-balance-factor 125", want: config.HashType{BalanceFactor: 125}, warn: "no effect"},
		{lines: "balance uri\n    hash-type consistent none", err: "only supports 'sdbm', 'djb2', 'crc32', or 'wt6'"},
		{lines: "balance uri\n    hash-type ring", err: "only supports 'consistent' and 'map-based'"},
		{lines: "balance uri\n    hash-type avalanche", err: "not supported anymore"},
		{lines: "balance uri\n    hash-type consistent sdbm fast", err: "only supports 'avalanche'"},
		{lines: "balance uri\n    hash-balance-factor 100", err: "must be 0 or greater than 100"},
		{lines: "balance uri\n    hash-balance-factor x", err: "hash-balance-factor"},
		{lines: "balance url_param user\n    hash-type consistent", want: config.HashType{Consistent: true}},
		{lines: "balance url_param", err: "balance url_param requires an URL parameter name."},
		{lines: "balance url_param user foo", err: "balance url_param only accepts 'check_post' modifier (got 'foo')."},
		{lines: "balance url_param user check_post", err: "'check_post' (looking in the request body) is not implemented"},
		{lines: "balance hash req.hdr(x),lower\n    hash-type consistent sdbm avalanche", want: config.HashType{Consistent: true, Func: "sdbm", Avalanche: true}},
		{lines: "balance hash", err: "balance hash requires a sample expression."},
		{lines: "balance hash req.hdr(x) foo", err: "balance hash takes no other argument (got 'foo')."},
	} {
		px, cfg, err := parseBackend(t, "    "+tc.lines+"\n    server s 127.0.0.1:80")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one about %q", tc.lines, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.lines, err)
			continue
		}
		got := px.Balance.Hash
		got.Pos = config.Pos{}
		if got != tc.want {
			t.Errorf("%q: hash %+v, want %+v", tc.lines, got, tc.want)
		}
		var warns []string
		for _, w := range cfg.Warnings {
			warns = append(warns, w.Msg)
		}
		if w := strings.Join(warns, "\n"); (tc.warn == "") != (w == "") || !strings.Contains(w, tc.warn) {
			t.Errorf("%q: warnings %q, want %q", tc.lines, w, tc.warn)
		}
	}
	cfg, err := Parse("c.cfg", []byte("defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n    hash-type consistent wt6\n"+
		"listen b\n    bind 127.0.0.1:8080\n    balance uri\n    server s 127.0.0.1:80\n"), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.Proxies[0].Balance.Hash; !h.Consistent || h.Func != "wt6" {
		t.Errorf("from defaults: hash %+v, want consistent wt6", h)
	}
}
