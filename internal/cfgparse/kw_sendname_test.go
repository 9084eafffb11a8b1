package cfgparse

import (
	"strings"
	"testing"
)

// TestSendNameHeaderKeyword: the name is kept in lower case and inherited
// from defaults; a frontend only warns; a missing name is HAProxy's error.
func TestSendNameHeaderKeyword(t *testing.T) {
	src := `defaults
    mode http
    http-send-name-header X-Server
frontend f
    bind 127.0.0.1:8080
    http-send-name-header X-A
    default_backend a
backend a
    server s 127.0.0.1:1
backend b
    http-send-name-header X-B extra
    server s 127.0.0.1:1
`
	cfg, err := Parse("n.cfg", []byte(src), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "x-server", "b": "x-b"}
	for _, p := range cfg.Proxies {
		if w, ok := want[p.Name]; ok && p.SendNameHeader != w {
			t.Errorf("%s: %q, want %q", p.Name, p.SendNameHeader, w)
		}
	}
	var warns []string
	for _, w := range cfg.Warnings {
		warns = append(warns, w.Msg)
	}
	if !strings.Contains(strings.Join(warns, "\n"), "'http-send-name-header' ignored because frontend 'f' has no backend capability") {
		t.Errorf("no capability warning: %q", warns)
	}
	for bad, msg := range map[string]string{
		"http-send-name-header":      "'http-send-name-header' requires a header string.",
		"http-send-name-header X:Y":  "'X:Y' is not a valid header name",
		"http-send-name-header \"\"": "requires a header string",
	} {
		_, err := Parse("n.cfg", []byte("backend b\n    "+bad+"\n    server s 127.0.0.1:1\n"), Options{LookupEnv: testEnv})
		if err == nil || !strings.Contains(err.Error(), "parsing [n.cfg:2] : ") || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
