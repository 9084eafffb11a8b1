package cfgparse

import "testing"

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
