package cfgparse

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestSockOptionKeywords: nolinger, tcp-smart-connect, http-no-delay,
// allbackups, checkcache, the case-adjust options, "source" (proxy and
// server), server "id"/"tfo"/"no-tfo" and bind "id"/"tfo" land in the
// model, inherited from defaults and cleared with "no".
func TestSockOptionKeywords(t *testing.T) {
	src := `defaults
    mode http
    option nolinger
    option http-no-delay
    option allbackups
    source 10.0.0.1
    default-server tfo
frontend f
    bind 127.0.0.1:8080 id 7 tfo
    bind 127.0.0.1:8081
    no option nolinger
    option h1-case-adjust-bogus-client
    default_backend b
backend b
    option tcp-smart-connect
    option checkcache
    option h1-case-adjust-bogus-server
    no option allbackups
    source 127.0.0.2:0 interface lo
    server s1 127.0.0.1:1 id 4 no-tfo
    server s2 127.0.0.1:2 source 127.0.0.3:4000-4010 interface lo
    server s3 127.0.0.1:3 source ipv6@[::1]:5000
`
	cfg, err := Parse("s.cfg", []byte(src), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	px := map[string]*config.Proxy{}
	for _, p := range cfg.Proxies {
		px[p.Name] = p
	}
	f, b := px["f"], px["b"]
	if f.Sock.NoLinger || !f.Sock.HTTPNoDelay || !f.Sock.H1CaseClient {
		t.Errorf("frontend: %+v", f.Sock)
	}
	if f.Binds[0].ID != 7 || !f.Binds[0].TFO || f.Binds[1].ID != 0 || f.Binds[1].TFO {
		t.Errorf("binds: %+v %+v", f.Binds[0], f.Binds[1])
	}
	if !b.Sock.NoLinger || !b.Sock.SmartConnect || !b.Sock.CheckCache || b.Sock.AllBackups || !b.Sock.H1CaseServer || !b.Sock.HTTPNoDelay {
		t.Errorf("backend: %+v", b.Sock)
	}
	if s := b.Sock.Source; s == nil || s.Addr != netip.MustParseAddr("127.0.0.2") || s.PortLow != 0 || s.Interface != "lo" {
		t.Errorf("backend source: %+v", s)
	}
	s1, s2, s3 := b.Servers[0], b.Servers[1], b.Servers[2]
	if s1.ID != 4 || s1.TFO || s1.Source != nil {
		t.Errorf("s1: id %d tfo %v source %+v", s1.ID, s1.TFO, s1.Source)
	}
	if !s2.TFO || s2.Source == nil || s2.Source.Addr != netip.MustParseAddr("127.0.0.3") || s2.Source.PortLow != 4000 || s2.Source.PortHigh != 4010 || s2.Source.Interface != "lo" {
		t.Errorf("s2: tfo %v source %+v", s2.TFO, s2.Source)
	}
	if s3.Source == nil || s3.Source.Addr != netip.MustParseAddr("::1") || s3.Source.PortLow != 5000 {
		t.Errorf("s3: source %+v", s3.Source)
	}
}

// TestSockOptionErrors: HAProxy's errors for duplicate or misplaced ids,
// bad sources, and the refused usesrc (transparent proxying).
func TestSockOptionErrors(t *testing.T) {
	cases := []struct{ cfg, want string }{
		{"backend b\n    server s1 127.0.0.1:1 id 3\n    server s2 127.0.0.1:2 id 3\n", "'server s2' : 'id' : custom id 3 already used at s.cfg:2 ('server s1')"},
		{"backend b\n    server s1 127.0.0.1:1 id 0\n", "custom id has to be > 0"},
		{"backend b\n    default-server id 2\n    server s1 127.0.0.1:1\n", "'id' option is not accepted in default-server sections"},
		{"frontend f\n    bind 127.0.0.1:80,127.0.0.1:81 id 2\n", "'id' can only be used with a single socket"},
		{"frontend f\n    bind 127.0.0.1:80 id 2\n    bind 127.0.0.1:81 id 2\n", "custom id 2 already used at s.cfg:2 ('bind 127.0.0.1:80')"},
		{"backend b\n    source 127.0.0.1:1000-1010\n    server s1 127.0.0.1:1\n", "port ranges and offsets are not allowed"},
		{"backend b\n    source 127.0.0.1 usesrc clientip\n    server s1 127.0.0.1:1\n", "'usesrc' is a HAProxy keyword that Gatehouse does not implement; transparent proxying needs TPROXY"},
		{"backend b\n    server s1 127.0.0.1:1 source 127.0.0.1 usesrc client\n", "'usesrc' is a HAProxy keyword that Gatehouse does not implement"},
		{"backend b\n    source 127.0.0.1 bogus x\n    server s1 127.0.0.1:1\n", "'source' only supports optional keywords 'usesrc' and 'interface'."},
		{"backend b\n    server s1 127.0.0.1:1 source 127.0.0.1:2000-1000\n", "'source' invalid source port range 2000-1000."},
		{"backend b\n    server s1 127.0.0.1:1 source localhost\n", "Gatehouse takes an IP address here"},
		{"backend b\n    source ipv4@[::1]\n    server s1 127.0.0.1:1\n", "not of the family its prefix names"},
		{"global\n    h1-case-adjust content-length Content-Lengt\n", "<from> and <to> must not differ except the case"},
		{"global\n    h1-case-adjust host Host\n    h1-case-adjust host HOST\n", "duplicate entry 'host'"},
		{"global\n    h1-case-adjust host\n", "'h1-case-adjust' expects <from> and <to> as argument."},
	}
	for _, c := range cases {
		_, err := Parse("s.cfg", []byte(c.cfg), Options{LookupEnv: testEnv})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n  got  %v\n  want %q", c.cfg, err, c.want)
		}
	}
}

// TestH1CaseAdjustFile: the file's pairs (comments, blank lines and
// surrounding blanks skipped), only the last file counted, and a name in
// both a line and the file refused.
func TestH1CaseAdjustFile(t *testing.T) {
	dir := t.TempDir()
	f1 := filepath.Join(dir, "one.txt")
	f2 := filepath.Join(dir, "two.txt")
	os.WriteFile(f1, []byte("x-one X-One\n"), 0o644)
	os.WriteFile(f2, []byte("# names\n\n  content-type\tContent-Type  \nx-api-key X-API-KEY\n"), 0o644)
	const fe = "frontend f\n    mode http\n    bind 127.0.0.1:8080\n    http-request return status 200\n"
	cfg, err := Parse("s.cfg", []byte("global\n    h1-case-adjust host Host\n    h1-case-adjust-file "+f1+"\n    h1-case-adjust-file "+f2+"\n"+fe), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	hc := cfg.Global.H1Case
	if hc.Pairs["host"] != "Host" || len(hc.Pairs) != 1 || hc.File != f2 || len(hc.FilePairs) != 2 ||
		hc.FilePairs["content-type"] != "Content-Type" || hc.FilePairs["x-api-key"] != "X-API-KEY" {
		t.Errorf("%+v", hc)
	}
	_, err = Parse("s.cfg", []byte("global\n    h1-case-adjust-file "+f2+"\n    h1-case-adjust content-type CONTENT-TYPE\n"+fe), Options{LookupEnv: testEnv})
	if err == nil || !strings.Contains(err.Error(), "duplicate entry 'content-type'") {
		t.Errorf("duplicate across file and line: %v", err)
	}
	os.WriteFile(f1, []byte("x-one X-One extra\n"), 0o644)
	_, err = Parse("s.cfg", []byte("global\n    h1-case-adjust-file "+f1+"\n"+fe), Options{LookupEnv: testEnv})
	if err == nil || !strings.Contains(err.Error(), "line 1: expects <from> and <to>") {
		t.Errorf("bad line: %v", err)
	}
}
