package cfgparse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDefaultPath: each mode's directory for a file, applied again at the
// start of every file; bad modes are HAProxy's errors; relative pattern
// files are refused under a mode other than 'current'.
func TestDefaultPath(t *testing.T) {
	for _, tc := range []struct{ file, mode, want string }{
		{"/etc/haproxy/haproxy.cfg", "config", "/etc/haproxy/x.pem"},
		{"/etc/haproxy/haproxy.cfg", "parent", "/etc/x.pem"},
		{"haproxy.cfg", "config", "x.pem"},
		{"haproxy.cfg", "parent", "../x.pem"},
		{"conf/haproxy.cfg", "config", "conf/x.pem"},
		{"/etc/haproxy/haproxy.cfg", "origin /srv/lb", "/srv/lb/x.pem"},
		{"/etc/haproxy/haproxy.cfg", "current", "x.pem"},
	} {
		p := newParser(Options{})
		p.file = tc.file
		p.applyDefaultPath()
		p.line = 1
		if err := parseDefaultPath(p, toks("default-path "+tc.mode)); err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		if got := p.path("x.pem"); got != tc.want {
			t.Errorf("%s in %s: x.pem is %s, want %s", tc.mode, tc.file, got, tc.want)
		}
		if got := p.path("/abs.pem"); got != "/abs.pem" {
			t.Errorf("%s: an absolute path became %s", tc.mode, got)
		}
	}
	// The next file gets its own directory under the same mode.
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "b"), 0o755)
	os.WriteFile(filepath.Join(root, "b", "body.txt"), []byte("b"), 0o644)
	c, err := ParseSources([]Source{
		{File: filepath.Join(root, "a", "one.cfg"), Data: []byte("global\n    default-path config\n")},
		{File: filepath.Join(root, "b", "two.cfg"), Data: []byte("frontend f\n    bind :80\n    mode http\n    timeout client 1s\n    http-request return status 200 content-type text/plain file body.txt\n")},
	}, Options{})
	if err != nil || len(c.Proxies) != 1 {
		t.Errorf("second file: %v, want the return file read from its directory", err)
	}
	for cfg, want := range map[string]string{
		"default-path":          "missing default-path mode",
		"default-path nowhere":  "unsupported default-path mode 'nowhere'",
		"default-path origin":   "'default-path origin' expects a directory",
		"default-path config x": "cannot handle unexpected argument 'x'",
		"default-path config\nfrontend f\n    acl a path -f pats.lst":                           "pattern file 'pats.lst' is relative",
		"default-path parent\nfrontend f\n    http-request set-header X %[path,map_beg(m.map)]": "pattern file 'm.map' is relative",
	} {
		_, err := Parse("/etc/h/t.cfg", []byte("global\n    "+cfg+"\n"), Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", cfg, err, want)
		}
	}
}

func toks(s string) []token {
	var out []token
	for _, w := range strings.Fields(s) {
		out = append(out, token{Text: w})
	}
	return out
}
