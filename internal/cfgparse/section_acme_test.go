package cfgparse

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const acmeFrontend = `
frontend f
    mode http
    bind :8443 ssl crt "@/site"
    bind :8444 ssl crt "@web/api.pem" crt other.pem
    timeout client 1s
`

func TestACMESection(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`
global
    httpclient.ssl.ca-file /etc/pebble/ca.pem
    acme.scheduler off
acme LE
    directory https://acme-v02.api.letsencrypt.org/directory
    contact john.doe@example.com
    challenge http-01
    keytype RSA
    bits 3072
    curves secp256r1
    state-dir /var/lib/gatehouse/acme
    renew-at 50%
    retry-backoff 10s 5m
crt-store
    load crt "site.pem" alias "site" acme LE domains "www.example.com,Example.com."
crt-store web
    crt-base /etc/certs
    load crt "api.pem" acme LE domains "api.example.com" keytype ECDSA
    load crt "other.pem"
`+acmeFrontend), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ACME) != 1 || len(c.CrtStores) != 2 {
		t.Fatalf("%d acme, %d crt-store", len(c.ACME), len(c.CrtStores))
	}
	a := c.ACME[0]
	if a.Name != "LE" || a.Challenge != "HTTP-01" || a.KeyType != "RSA" || a.Bits != 3072 || a.Curves != "P-256" ||
		a.StateDir != "/var/lib/gatehouse/acme" || a.AccountKey != "/var/lib/gatehouse/acme/LE.account.key" ||
		a.RenewAt != 50 || a.RetryMin != 10*time.Second || a.RetryMax != 5*time.Minute || a.Contact != "john.doe@example.com" {
		t.Fatalf("acme section: %+v", a)
	}
	site := c.CrtStores[0].Loads[0]
	if site.Path != "/var/lib/gatehouse/acme/site.pem" || !slices.Equal(site.Domains, []string{"www.example.com", "example.com"}) {
		t.Fatalf("site: %+v", site)
	}
	if api := c.CrtStores[1].Loads[0]; api.Path != "/etc/certs/api.pem" || api.KeyType != "ECDSA" {
		t.Fatalf("api (crt-base wins over state-dir): %+v", api)
	}
	if c.Global.HTTPClientCAFile != "/etc/pebble/ca.pem" || !c.Global.ACMESchedulerOff {
		t.Fatalf("ca-file %q", c.Global.HTTPClientCAFile)
	}
	binds := c.Proxies[0].Binds
	if !slices.Equal(binds[0].Crts, []string{"/var/lib/gatehouse/acme/site.pem"}) {
		t.Fatalf("bind 1 crts %q", binds[0].Crts)
	}
	// "other.pem" is not in the anonymous store: a plain file.
	if !slices.Equal(binds[1].Crts, []string{"/etc/certs/api.pem", "other.pem"}) {
		t.Fatalf("bind 2 crts %q", binds[1].Crts)
	}
}

func TestACMEDefaults(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`
acme LE
    directory https://acme.example/dir
crt-store
    load crt "site.pem" acme LE domains "www.example.com"
`+`
frontend f
    mode http
    bind :8443 ssl crt site.pem
    timeout client 1s
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := c.ACME[0]
	if a.Challenge != "HTTP-01" || a.KeyType != "ECDSA" || a.Curves != "P-384" || a.Bits != 2048 || a.StateDir != "." || a.AccountKey != "LE.account.key" {
		t.Fatalf("defaults: %+v", a)
	}
	if got := c.Proxies[0].Binds[0].Crts; !slices.Equal(got, []string{"site.pem"}) {
		t.Fatalf("crts %q", got)
	}
	if l := c.CrtStores[0].Loads[0]; l.KeyType != "RSA" || l.Bits != 2048 {
		t.Fatalf("placeholder defaults (HAProxy's generate-dummy): %+v", l)
	}
}

func TestACMEErrors(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{"acme LE\n contact a@b.c\n", "acme section 'LE' has no 'directory'"},
		{"acme LE\n directory ftp://x/\n", "'directory' : 'ftp://x/' is not an http(s) URL"},
		{"acme LE\n directory https://x/\n keytype DSA\n", "'keytype' expects RSA or ECDSA, got 'DSA'"},
		{"acme LE\n directory https://x/\n bits 1024\n", "between 2048 and 8192"},
		{"acme LE\n directory https://x/\n curves P-521\n", "'curves' expects P-256 or P-384"},
		{"acme LE\n directory https://x/\n challenge tls-alpn-01\n", "'challenge' expects HTTP-01 or DNS-01"},
		{"acme LE\n directory https://x/\n challenge dns-01\n", "has no 'dns-update'"},
		{"acme LE\n directory https://x/\n dns-update 127.0.0.1\n", "'dns-update' needs 'challenge DNS-01'"},
		{"acme LE\n directory https://x/\n renew-at 100%\n", "between 1% and 99%"},
		{"acme LE\n directory https://x/\n retry-backoff 5m 1m\n", "0 < <min> <= <max>"},
		{"acme LE\n directory https://x/\n map virt@acme\n map virt@b\n", "'map' is already set"},
		{"acme LE\n directory https://x/\n reuse-key on\n", "reuse-key"},
		{"acme LE\n directory https://x/\nacme LE\n directory https://x/\n", "already declared"},
		{"crt-store\n load crt a.pem acme NOPE domains a.example.com\n", "unknown acme section 'NOPE' in 'load crt a.pem'"},
		{"acme LE\n directory https://x/\ncrt-store\n load crt a.pem acme LE\n", "has no 'domains'"},
		{"crt-store\n load crt a.pem domains a.example.com\n", "'domains' needs 'acme <section>'"},
		{"acme LE\n directory https://x/\ncrt-store\n load crt a.pem acme LE domains \"a.example.com,,b.example.com\"\n", "empty name in 'domains'"},
		{"acme LE\n directory https://x/\ncrt-store\n load crt a.pem acme LE domains 10.0.0.1\n", "not a valid domain name"},
		{"acme LE\n directory https://x/\ncrt-store\n load crt a.pem acme LE domains localhost\n", "not a fully qualified"},
		{"crt-store\n load crt a.pem ocsp a.ocsp\n", "option 'ocsp' is a HAProxy option that Gatehouse does not implement"},
		{"crt-store\n load crt a.pem frob x\n", "unknown option 'frob'"},
		{"crt-store\n load alias x\n", "expects 'crt <file>'"},
		{"crt-store\n load crt a.pem\n load crt a.pem\n", "already used in this crt-store"},
		{"acme LE\n directory https://x/\n state-dir /s\ncrt-store\n load crt a.pem acme LE domains a.example.com\ncrt-store b\n load crt a.pem acme LE domains b.example.com\n", "already ordered by the load line"},
		{"acme LE\n directory https://x/\ncrt-store\n load crt a.pem acme LE domains *.example.com\n", "wildcard '*.example.com' needs 'challenge DNS-01'"},
		{"global\n acme.scheduler on\n", "'acme.scheduler' expects auto or off, got 'on'"},
		{"frontend f\n bind :443 ssl crt @/nope\n", "no such certificate in a crt-store declared before this line"},
	} {
		_, err := Parse("t.cfg", []byte(tc.cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
