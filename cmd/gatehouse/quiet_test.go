package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestQuietAsHAProxy: 'quiet' in global is -q. A check of a configuration
// with warnings prints them and "Configuration file is valid" without it,
// and nothing at all with it, in HAProxy as in Gatehouse; an error still
// fails the check.
func TestQuietAsHAProxy(t *testing.T) {
	const body = `defaults
    mode http
frontend f
    bind 127.0.0.1:1
    default_backend b
backend b
    server s 127.0.0.1:2
`
	check := func(cfg string, args ...string) (int, string, string) {
		file := filepath.Join(t.TempDir(), "q.cfg")
		if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := run(append(args, "-c", "-f", file), &out, &errb)
		return code, out.String(), errb.String()
	}
	for _, tc := range []struct {
		name, cfg string
		args      []string
		quiet     bool
	}{
		{"loud", "global\n    maxconn 100\n" + body, nil, false},
		{"keyword", "global\n    quiet\n" + body, nil, true},
		{"flag", "global\n    maxconn 100\n" + body, []string{"-q"}, true},
	} {
		code, out, errb := check(tc.cfg, tc.args...)
		if code != 0 {
			t.Fatalf("%s: code %d: %s", tc.name, code, errb)
		}
		if tc.quiet && out+errb != "" {
			t.Errorf("%s: printed %q %q, want nothing", tc.name, out, errb)
		}
		if !tc.quiet && (!strings.Contains(out, "Configuration file is valid") || !strings.Contains(errb, "missing timeouts")) {
			t.Errorf("%s: printed %q %q, want the warnings and the verdict", tc.name, out, errb)
		}
		if tc.args == nil {
			ok, hout := testenv.HAProxyCheck(t, tc.cfg)
			if !ok || tc.quiet != (hout == "") {
				t.Errorf("%s: haproxy -c: %v %q", tc.name, ok, hout)
			}
		}
	}
	// An error still fails, and still says why.
	code, _, errb := check("global\n    quiet\n" + body + "    bogus-keyword\n")
	if code != 1 || !strings.Contains(errb, "bogus-keyword") {
		t.Errorf("error under quiet: code %d, %q", code, errb)
	}
	if ok, _ := testenv.HAProxyCheck(t, "global\n    quiet\n"+body+"    bogus-keyword\n"); ok {
		t.Error("haproxy accepted the bogus keyword")
	}
}
