package rfc2136

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Config // compared field by field below
		err  string
	}{
		{line: "192.0.2.1", want: Config{Server: "192.0.2.1:53"}},
		{line: "[2001:db8::1]:5353 zone Example.COM", want: Config{Server: "[2001:db8::1]:5353", Zone: "example.com."}},
		{line: "2001:db8::1", want: Config{Server: "[2001:db8::1]:53"}},
		{line: "ns:5x", err: "not <host>:<port>"},
		{line: "ns:0", err: "not <host>:<port>"},
		{line: "ns.example.com:53 tsig-key acme env:K", want: Config{Server: "ns.example.com:53", KeyName: "acme.", Algorithm: dns.HmacSHA256}},
		{line: "ns:53 tsig-key acme. hmac-sha512 file:/k", want: Config{Server: "ns:53", KeyName: "acme.", Algorithm: dns.HmacSHA512}},
		{line: "ns:53 tsig-key acme HMAC-SHA1 file:/k", want: Config{Server: "ns:53", KeyName: "acme.", Algorithm: dns.HmacSHA1}},
		{line: "ns:53 tsig-key acme hmac-md5 file:/k", err: "'hmac-md5' is neither an algorithm"},
		{line: "ns:53 tsig-key acme c2VjcmV0", err: "inline secrets are refused"},
		{line: "ns:53 tsig-key acme hmac-sha256", err: "expects file:<path> or env:<NAME> after the algorithm"},
		{line: "ns:53 ttl 120 propagation-timeout 2m timeout 3s tcp check-server a check-server b:5353",
			want: Config{Server: "ns:53", TTL: 120 * time.Second, PropagationTimeout: 2 * time.Minute, Timeout: 3 * time.Second, TCP: true,
				CheckServers: []string{"a:53", "b:5353"}}},
		{line: "ns:53 propagation-timeout 1500", want: Config{Server: "ns:53", PropagationTimeout: 1500 * time.Millisecond}},
		{line: "ns:53 ttl 0", err: "ttl '0'"},
		{line: "ns:53 ttl 1m", err: "ttl '1m'"},
		{line: "ns:53 timeout 0", err: "greater than zero"},
		{line: "ns:53 timeout 5x", err: "unexpected unit 'x'"},
		{line: "ns:53 zone a zone b", err: "'zone' given twice"},
		{line: "ns:53 zone", err: "'zone' expects a zone name"},
		{line: "ns:53 zone .", err: "not a domain name"},
		{line: "ns:53 tls", err: "unknown option 'tls'"},
		{line: "zone example.com", err: "expects the DNS server's address"},
		{line: "", err: "expects the DNS server's address"},
	} {
		c, err := Parse(strings.Fields(tc.line))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, want an error with %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.line, err)
			continue
		}
		w := tc.want
		if w.TTL == 0 {
			w.TTL = DefaultTTL
		}
		if w.PropagationTimeout == 0 {
			w.PropagationTimeout = DefaultPropagationTimeout
		}
		if w.Timeout == 0 {
			w.Timeout = DefaultTimeout
		}
		if c.Server != w.Server || c.Zone != w.Zone || c.KeyName != w.KeyName || c.Algorithm != w.Algorithm ||
			c.TTL != w.TTL || c.PropagationTimeout != w.PropagationTimeout || c.Timeout != w.Timeout || c.TCP != w.TCP ||
			strings.Join(c.CheckServers, ",") != strings.Join(w.CheckServers, ",") {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.line, *c, w)
		}
	}
}

// TestNewSecret: the secret is read at New, from a bare base64 line or
// tsig-keygen's key clause; a missing or non-base64 secret fails there.
func TestNewSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="
	bare := write("bare", secret+"\n")
	clause := write("clause", "key \"secret-key\" {\n\talgorithm hmac-sha256;\n\tsecret \""+secret+"\";\n};\n")
	bad := write("bad", "not base64!\n")
	for _, tc := range []struct{ ref, err string }{
		{"file:" + bare, ""},
		{"file:" + clause, ""},
		{"file:" + bad, "neither base64 nor a key clause"},
		{"file:" + filepath.Join(dir, "missing"), "no such file"},
		{"env:GH_TEST_NO_SUCH_VARIABLE", "not set"},
	} {
		c, err := Parse([]string{"ns:53", "tsig-key", "secret-key", tc.ref})
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(c)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New with %s: %v, want an error with %q", tc.ref, err, tc.err)
			}
			continue
		}
		if err != nil || s.secret != secret {
			t.Errorf("New with %s: secret %q, %v", tc.ref, s.secret, err)
		}
	}
}

// FuzzParse: any line parses or fails without a panic, and what parses is
// usable: a host:port server, fully qualified names, positive times.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"192.0.2.1", "[::1]:53 zone example.com tsig-key k hmac-sha512 env:K ttl 60 tcp",
		"ns check-server a check-server b:1 propagation-timeout 2m timeout 10s",
		"ns tsig-key k file:/x", "ns zone", "ns ttl 99999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := Parse(strings.Fields(line))
		if err != nil {
			return
		}
		if _, _, err := net.SplitHostPort(c.Server); err != nil {
			t.Fatalf("Parse(%q): server %q: %v", line, c.Server, err)
		}
		if c.Zone != "" && !dns.IsFqdn(c.Zone) || c.KeyName != "" && (!dns.IsFqdn(c.KeyName) || c.Secret.Kind == "") {
			t.Fatalf("Parse(%q) = %+v", line, *c)
		}
		if c.TTL <= 0 || c.Timeout <= 0 || c.PropagationTimeout <= 0 {
			t.Fatalf("Parse(%q): times %v %v %v", line, c.TTL, c.Timeout, c.PropagationTimeout)
		}
	})
}
