package cfgparse

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestHTTPReuseKeyword: the four modes, inherited from defaults, safe
// without the keyword; a frontend only warns (HAProxy's capability rule);
// anything else is HAProxy's error.
func TestHTTPReuseKeyword(t *testing.T) {
	src := `defaults
    mode http
    http-reuse always
frontend f
    bind 127.0.0.1:8080
    http-reuse never
    default_backend a
backend a
    server s 127.0.0.1:1
backend b
    http-reuse never
    server s 127.0.0.1:1
backend c
    http-reuse aggressive
    server s 127.0.0.1:1
defaults
    mode http
backend d
    server s 127.0.0.1:1
`
	cfg, err := Parse("r.cfg", []byte(src), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]config.HTTPReuse{"a": config.ReuseAlways, "b": config.ReuseNever, "c": config.ReuseAggressive, "d": config.ReuseSafe}
	for _, p := range cfg.Proxies {
		if w, ok := want[p.Name]; ok && p.HTTPReuse != w {
			t.Errorf("%s: %d, want %d", p.Name, p.HTTPReuse, w)
		}
	}
	var warns []string
	for _, w := range cfg.Warnings {
		warns = append(warns, w.Msg)
	}
	if !strings.Contains(strings.Join(warns, "\n"), "'http-reuse' ignored because frontend 'f' has no backend capability") {
		t.Errorf("no capability warning: %q", warns)
	}
	for _, bad := range []string{"http-reuse", "http-reuse sometimes", "http-reuse safe now"} {
		_, err := Parse("r.cfg", []byte("backend b\n    "+bad+"\n    server s 127.0.0.1:1\n"), Options{LookupEnv: testEnv})
		if err == nil || !strings.Contains(err.Error(), "parsing [r.cfg:2] : 'http-reuse'") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestMaxKeepAliveQueueKeyword: stored plus one as HAProxy stores it (-1,
// the default, is 0), read as strtol reads it, HAProxy's errors otherwise.
func TestMaxKeepAliveQueueKeyword(t *testing.T) {
	for v, want := range map[string]int{"-1": 0, "0": 1, "10": 11, "0x10": 17, "-7": 0} {
		cfg, err := Parse("k.cfg", []byte("frontend f\n    bind 127.0.0.1:8080\n    default_backend b\nbackend b\n    max-keep-alive-queue "+v+"\n    server s 127.0.0.1:1\n"), Options{LookupEnv: testEnv})
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if got := cfg.Proxies[1].MaxKAQueue; got != want {
			t.Errorf("%s: %d, want %d", v, got, want)
		}
	}
	for bad, msg := range map[string]string{
		"max-keep-alive-queue":       "'max-keep-alive-queue' expects expects an integer value (or -1 to disable)",
		"max-keep-alive-queue 10abc": "'max-keep-alive-queue' : unexpected character 'a' in integer value '10abc'",
	} {
		_, err := Parse("k.cfg", []byte("backend b\n    "+bad+"\n    server s 127.0.0.1:1\n"), Options{LookupEnv: testEnv})
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
