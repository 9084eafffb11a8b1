package cfgparse

import (
	"strings"
	"testing"
)

// TestVerifyHostKeyword: "verifyhost" sets the name and is inherited from
// default-server; without its argument it is an error. "no-verifyhost",
// documented by HAProxy 2.6 but unknown to its parser (and to every later
// version's), is refused as HAProxy refuses it.
func TestVerifyHostKeyword(t *testing.T) {
	src := `defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend f
    bind 127.0.0.1:8080
    default_backend a
backend a
    default-server ssl verify none verifyhost be.example.com
    server s1 127.0.0.1:1
    server s2 127.0.0.1:2 verifyhost other.example.com
    default-server verifyhost b.example.com
    server s3 127.0.0.1:3
`
	cfg, err := Parse("v.cfg", []byte(src), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"s1": "be.example.com", "s2": "other.example.com", "s3": "b.example.com"}
	n := 0
	for _, p := range cfg.Proxies {
		for _, s := range p.Servers {
			if w, ok := want[s.Name]; ok {
				n++
				if s.VerifyHost != w {
					t.Errorf("%s: verifyhost %q, want %q", s.Name, s.VerifyHost, w)
				}
			}
		}
	}
	if n != len(want) {
		t.Fatalf("found %d of %d servers", n, len(want))
	}
	_, err = Parse("v.cfg", []byte("frontend f\n    bind 127.0.0.1:8080\nbackend a\n    server s 127.0.0.1:1 ssl verifyhost\n"), Options{LookupEnv: testEnv})
	if err == nil || !strings.Contains(err.Error(), "'verifyhost' expects an argument") {
		t.Errorf("verifyhost without a name: %v", err)
	}
	_, err = Parse("v.cfg", []byte("frontend f\n    bind 127.0.0.1:8080\nbackend a\n    server s 127.0.0.1:1 ssl no-verifyhost\n"), Options{LookupEnv: testEnv})
	if err == nil || !strings.Contains(err.Error(), "unknown keyword 'no-verifyhost'") {
		t.Errorf("no-verifyhost: %v", err)
	}
}
