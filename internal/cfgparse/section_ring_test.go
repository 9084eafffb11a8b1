package cfgparse

import (
	"strings"
	"testing"
	"time"
)

func TestRingSection(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`global
    log ring@r local0
ring r
    description "my ring"
    format rfc5424
    maxlen 40000
    size 32764
    timeout connect 5s
    timeout server 10s
    server s1 127.0.0.1:6514 log-proto octet-count
    server s2 127.0.0.1:6515
ring d
frontend f
    bind :8080
    log global
    log ring@d local1
    timeout client 1s
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rings) != 2 {
		t.Fatalf("rings: %+v", c.Rings)
	}
	r, d := c.Rings[0], c.Rings[1]
	if r.Description != "my ring" || r.Format != "rfc5424" || r.Size != 32764 || r.MaxLen != 32764 ||
		r.TimeoutConnect != 5*time.Second || r.TimeoutServer != 10*time.Second || len(r.Servers) != 2 ||
		!r.Servers[0].OctetCount || r.Servers[1].OctetCount || r.Servers[1].Addr != "127.0.0.1:6515" {
		t.Errorf("ring r: %+v", r)
	}
	if d.Size != 16384 || d.MaxLen != 16384 || d.Format != "" {
		t.Errorf("ring d: %+v", d)
	}
	var warns []string
	for _, w := range c.Warnings {
		warns = append(warns, w.Error())
	}
	if all := strings.Join(warns, "\n"); !strings.Contains(all, "ring 'r' event max length '40000' exceeds size, forced to size '32764'.") {
		t.Errorf("warnings: %s", all)
	}
}

func TestRingErrors(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{"ring\n", "missing ring name"},
		{"ring r\nring r\n", "sink named 'r' already exists"},
		{"ring r\n    size 0\n", "invalid size '0'"},
		{"ring r\n    maxlen x\n", "invalid size 'x'"},
		{"ring r\n    format json\n", "unknown format 'json'"},
		{"ring r\n    timeout client 1s\n", "'timeout' expects 'connect' or 'server'"},
		{"ring r\n    server s 127.0.0.1:1 check\n", "'check' is not supported on a ring's server"},
		{"ring r\n    server s 127.0.0.1:1 log-proto tcp\n", "'log-proto' expects one of 'legacy' or 'octet-count' but got 'tcp'"},
		{"ring r\n    server s 127.0.0.1\n", "missing port number"},
		{"ring r\n    backing-file /tmp/x\n", "backing-file"},
		{"global\n    log ring@nosuch local0\n", "global log server uses unknown ring named 'nosuch'"},
	} {
		_, err := Parse("t.cfg", []byte(tc.cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
