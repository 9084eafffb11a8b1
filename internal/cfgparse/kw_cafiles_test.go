package cfgparse

import (
	"strings"
	"testing"
)

// TestBindCAVerifyFileNoCANames: "ca-verify-file" takes its path from
// ca-base like ca-file; "no-ca-names" is a flag.
func TestBindCAVerifyFileNoCANames(t *testing.T) {
	src := `global
    ca-base /ca
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend f
    bind 127.0.0.1:8443 ssl crt /c/site.pem ca-file inter.pem ca-verify-file root.pem no-ca-names verify required
    bind 127.0.0.1:8444 ssl crt /c/site.pem ca-verify-file /abs/root.pem verify optional
    default_backend b
backend b
    server s 127.0.0.1:1
`
	cfg, err := Parse("c.cfg", []byte(src), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	binds := cfg.Proxies[0].Binds
	if len(binds) != 2 {
		t.Fatalf("%d binds", len(binds))
	}
	if b := binds[0]; b.CAFile != "/ca/inter.pem" || b.CAVerifyFile != "/ca/root.pem" || !b.NoCANames {
		t.Errorf("first bind: ca-file %q, ca-verify-file %q, no-ca-names %v", b.CAFile, b.CAVerifyFile, b.NoCANames)
	}
	if b := binds[1]; b.CAVerifyFile != "/abs/root.pem" || b.NoCANames {
		t.Errorf("second bind: ca-verify-file %q, no-ca-names %v", b.CAVerifyFile, b.NoCANames)
	}
}

// TestSkipSelfIssuedCAKeyword: the global flag is set; an argument, which
// HAProxy 2.6 ignores, is accepted with a warning.
func TestSkipSelfIssuedCAKeyword(t *testing.T) {
	for _, line := range []string{"ssl-skip-self-issued-ca", "ssl-skip-self-issued-ca extra"} {
		src := "global\n    " + line + `
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend f
    bind 127.0.0.1:8080
`
		cfg, err := Parse("s.cfg", []byte(src), Options{LookupEnv: testEnv})
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if !cfg.Global.SSLSkipSelfIssuedCA {
			t.Errorf("%s: not set", line)
		}
		var warns []string
		for _, w := range cfg.Warnings {
			warns = append(warns, w.Msg)
		}
		if got := strings.Contains(strings.Join(warns, "\n"), "takes no argument; 'extra' ignored"); got != strings.HasSuffix(line, "extra") {
			t.Errorf("%s: warnings %q", line, warns)
		}
	}
}
