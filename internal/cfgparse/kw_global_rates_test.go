package cfgparse

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestRateKeywords: the global rate limits and 'rate-limit sessions' land
// in the model; a defaults section's rate-limit reaches its frontends.
func TestRateKeywords(t *testing.T) {
	src := `global
    maxconnrate 20
    maxsessrate 30
    maxsslrate 40
    maxcomprate 512
    maxcompcpuusage 70
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
    rate-limit sessions 7
frontend a
    bind :8080
    default_backend b
frontend c
    bind :8081
    rate-limit sessions 3
    default_backend b
backend b
    server s 127.0.0.1:80
`
	cfg, err := Parse("r.cfg", []byte(src), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	want := config.RateLimits{ConnRate: 20, SessRate: 30, SSLRate: 40, CompRate: 512, CompCPU: 70, CompCPUSet: true}
	if cfg.Global.Rates != want {
		t.Errorf("Rates %+v, want %+v", cfg.Global.Rates, want)
	}
	got := map[string]int{}
	for _, p := range cfg.Proxies {
		got[p.Name] = p.RateLimitSessions
	}
	if got["a"] != 7 || got["c"] != 3 {
		t.Errorf("rate-limit sessions: %v, want a=7 (from defaults), c=3", got)
	}
}

// TestRateKeywordErrors: strict values, HAProxy's messages.
func TestRateKeywordErrors(t *testing.T) {
	for _, c := range []struct{ global, want string }{
		{"maxconnrate", "'maxconnrate' expects an integer argument"},
		{"maxconnrate x", "'maxconnrate' expects an integer argument, got 'x'"},
		{"maxconnrate -1", "out of range"},
		{"maxconnrate 1 2", "'maxconnrate' cannot handle unexpected argument '2'"},
		{"maxsessrate 5\n    maxsessrate 6", "'maxsessrate' already specified. Continuing."},
		{"maxsslrate 1.5", "'maxsslrate' expects an integer argument"},
		{"maxcomprate", "'maxcomprate' expects an integer argument in kb/s"},
		{"maxcomprate 3000000", "out of range"},
		{"maxcompcpuusage 101", "'maxcompcpuusage' expects an integer argument between 0 and 100."},
		{"maxcompcpuusage -1", "'maxcompcpuusage' expects an integer argument between 0 and 100."},
	} {
		_, err := parseProcess(t, "    "+c.global+"\n", Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.global, err, c.want)
		}
	}
	for _, c := range []struct{ line, want string }{
		{"rate-limit", "'rate-limit' only supports 'sessions' (got '')"},
		{"rate-limit connections 5", "'rate-limit' only supports 'sessions' (got 'connections')"},
		{"rate-limit sessions", "'rate-limit sessions' expects an integer value"},
		{"rate-limit sessions 5x", "expects an integer argument, got '5x'"},
		{"rate-limit sessions 5 6", "'rate-limit sessions' cannot handle unexpected argument '6'"},
	} {
		src := "frontend f\n    mode http\n    bind :8080\n    " + c.line + "\n    timeout client 5s\n"
		_, err := Parse("r.cfg", []byte(src), Options{LookupEnv: testEnv})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.line, err, c.want)
		}
	}
	// A backend has no frontend to limit: a warning, as in HAProxy.
	cfg, err := Parse("r.cfg", []byte("defaults\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n"+
		"frontend f\n    bind :8080\n    default_backend b\nbackend b\n    rate-limit sessions 5\n    server s 127.0.0.1:80\n"), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	warned := false
	for _, w := range cfg.Warnings {
		warned = warned || strings.Contains(w.Msg, "'rate-limit' ignored because backend 'b' has no frontend capability")
	}
	if !warned {
		t.Errorf("no capability warning: %v", cfg.Warnings)
	}
}
