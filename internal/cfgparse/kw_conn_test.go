package cfgparse

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// parseBackend parses a listen section holding lines after the usual
// defaults and returns its proxy and the diagnostics.
func parseBackend(t *testing.T, lines string) (*config.Proxy, *config.Config, error) {
	t.Helper()
	src := "defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n" +
		"listen l\n    bind 127.0.0.1:8080\n" + lines + "\n"
	cfg, err := Parse("c.cfg", []byte(src), Options{LookupEnv: testEnv})
	if err != nil {
		return nil, cfg, err
	}
	return cfg.Proxies[0], cfg, nil
}

// TestBalanceRandomSyntax: "random(<draws>)" as HAProxy writes it; words
// after "random" are ignored by HAProxy, which Gatehouse does too, with a
// warning.
func TestBalanceRandomSyntax(t *testing.T) {
	for _, tc := range []struct{ line, arg, warn, err string }{
		{line: "balance random"},
		{line: "balance random(3)", arg: "3"},
		{line: "balance random 3", warn: "HAProxy ignores '3'"},
		{line: "balance random(0)", err: "random(<draws>)"},
		{line: "balance random(x)", err: "random(<draws>)"},
	} {
		px, cfg, err := parseBackend(t, "    "+tc.line+"\n    server s 127.0.0.1:80")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one about %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if px.Balance.Algo != "random" || px.Balance.Arg != tc.arg {
			t.Errorf("%s: balance %+v, want random %q", tc.line, px.Balance, tc.arg)
		}
		var warns []string
		for _, w := range cfg.Warnings {
			warns = append(warns, w.Msg)
		}
		if got := strings.Join(warns, "\n"); (tc.warn == "") != (got == "") || !strings.Contains(got, tc.warn) {
			t.Errorf("%s: warnings %q, want %q", tc.line, got, tc.warn)
		}
	}
}
