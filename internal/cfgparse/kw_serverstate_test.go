package cfgparse

import (
	"strings"
	"testing"
)

// TestServerStateKeywords: the global file and base, and the per-backend
// choice, inherited from defaults as HAProxy inherits it.
func TestServerStateKeywords(t *testing.T) {
	src := `global
    server-state-base /var/lib/haproxy
    server-state-file state
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
    load-server-state-from-file global
frontend f
    bind 127.0.0.1:8080
    default_backend a
backend a
    server s 127.0.0.1:1
backend b
    load-server-state-from-file local
    server-state-file-name b.state
    server s 127.0.0.1:1
backend c
    load-server-state-from-file local
    server-state-file-name use-backend-name
    server s 127.0.0.1:1
`
	cfg, err := Parse("s.cfg", []byte(src), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	if g := cfg.Global; g.ServerStateBase != "/var/lib/haproxy" || g.ServerStateFile != "state" {
		t.Errorf("global: %q %q", g.ServerStateBase, g.ServerStateFile)
	}
	got := map[string]string{}
	for _, p := range cfg.Proxies {
		got[p.Name] = p.LoadServerState + ":" + p.ServerStateFileName
	}
	want := map[string]string{"f": "global:", "a": "global:", "b": "local:b.state", "c": "local:"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	for _, tc := range []struct{ line, want string }{
		{"    load-server-state-from-file sometimes\n", "'load-server-state-from-file' unknown value 'sometimes'. Possible values are 'global', 'local' or 'none'."},
		{"    server-state-file-name a b\n", "cannot handle unexpected argument 'b'"},
	} {
		_, err := Parse("s.cfg", []byte(strings.Replace(src, "\nbackend a\n", "\nbackend a\n"+tc.line, 1)), Options{LookupEnv: testEnv})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.line, err, tc.want)
		}
	}
}
