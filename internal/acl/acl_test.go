package acl

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// anon evaluates one ACL line as an anonymous ACL.
func anon(tb testing.TB, tx *Txn, line string) bool {
	tb.Helper()
	c, err := (*Set)(nil).Cond(&config.Cond{Pos: testPos, Terms: append(append([]string{"{"}, strings.Fields(line)...), "}")})
	if err != nil {
		tb.Fatalf("%s: %v", line, err)
	}
	return c.Match(tx)
}

func TestACLMatch(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		// default match methods
		{"path /api/v1/users", true},
		{"path /api/v1", false},
		{"path -i /API/V1/USERS", true},
		{"path /x /api/v1/users", true},
		{"method GET", true},
		{"method POST", false},
		{"src 192.168.1.0/24", true},
		{"src 192.168.2.0/24 10.0.0.0/8", false},
		{"src 192.168.1.10", true},
		{"src ::ffff:192.168.1.0/120", true},
		{"src 192.168.1.0/255.255.255.0", true},
		{"src ::1", false},
		{"dst 10.1.2.3", true},
		{"src_port 50000:52000", true},
		{"dst_port 443", true},
		{"dst_port lt 443", false},
		{"dst_port le 443", true},
		{"dst_port gt 442", true},
		{"dst_port ge 444", false},
		{"dst_port eq 443", true},
		{"dst_port 1:442 444:", false},
		{"dst_port :443", true},
		{"dst_port lt 100 ge 400", true},
		{"ssl_fc", true},
		{"ssl_fc_sni www.example.com", true},
		{"ssl_fc_sni_end .example.com", true},
		{"ssl_fc_alpn h2", true},
		{"status 404", true},
		{"status 200:299", false},
		{"always_true", true},
		{"always_false", false},
		{"req.ver 1.1", true},
		{"be_name be_app", true},
		// derivatives
		{"path_beg /api/", true},
		{"path_beg /API/", false},
		{"path_beg -i /API/", true},
		{"path_end /users", true},
		{"path_end -i .JPG .png", false},
		{"path_sub v1", true},
		{"path_sub -i V1", true},
		{"path_reg ^/api/v[0-9]+/", true},
		{"path_reg -i ^/API/", true},
		{"path_reg ^/API/", false},
		{"path_dir v1", true},
		{"path_dir api/v1", true},
		{"path_dir /api/v1/", true},
		{"path_dir api/v", false},
		{"path_dir -i API", true},
		{"path_len 13", true},
		{"path_len gt 20", false},
		{"url_beg /api", true},
		{"url_sub lang=fr", true},
		{"url_reg id=4[0-9]", true},
		{"base_beg www.example.com", false},
		{"base_beg -i www.example.com", true},
		{"base_sub :8080/api", true},
		{"hdr(host) -i www.example.com:8080", true},
		{"hdr_beg(host) -i www.", true},
		{"hdr_end(host) :8080", true},
		{"hdr_dom(host) -i example", true},
		{"hdr_dom(host) -i www.example.com", true},
		{"hdr_dom(host) -i xample", false},
		{"hdr_dom(host) -i 8080", true},
		{"hdr_sub(user-agent) curl", true},
		{"hdr_reg(user-agent) ^curl/[0-9]", true},
		{"hdr_len(user-agent) 8", true},
		{"hdr_val(content-length) gt 10", true},
		{"hdr_val(content-length) lt 10", false},
		{"hdr_ip(x-forwarded-for) 10.0.0.3", true},    // every occurrence is tried
		{"hdr_ip(x-forwarded-for) 10.0.0.2", true},    // comma-separated values too
		{"hdr_ip(x-forwarded-for,1) 10.0.0.2", false}, // only the first
		{"hdr_ip(x-forwarded-for,-1) 10.0.0.3", true},
		{"hdr(x-forwarded-for) 10.0.0.1", true},
		{"hdr_cnt(x-forwarded-for) 3", true},
		{"hdr_cnt(x-forwarded-for) gt 3", false},
		{"hdr(accept) \"quoted,comma\"", true},
		{"cook(session) abc", true},
		{"cook(session) def", true},
		{"cook_beg(session) ab", true},
		{"cook_val(a) 1", true},
		{"req.cook_cnt(session) 2", true},
		{"urlp(id) 43", true},
		{"urlp_val(id) gt 42", true},
		{"urlp(lang) fr", true},
		{"url_param(lang) -m beg f", true},
		{"shdr(set-cookie) x=1", true},
		{"shdr_beg(set-cookie) y=", true},
		{"res.hdr(content-type) -m sub plain", true},
		{"oidc_claim(groups) devs", true},
		{"oidc_claim(groups) admins", true},
		{"oidc_claim(groups) ops", false},
		{"oidc_claim(email) -m end @example.com", true},
		{"oidc_claim(missing) -m found", false},
		// -m methods
		{"hdr(host) -m found", true},
		{"hdr(nope) -m found", false},
		{"path -m beg /api", true},
		{"path -m end users", true},
		{"path -m sub /v1/", true},
		{"path -m reg ^/api", true},
		{"path -m dir users", true},
		{"path -m len 13", true},
		{"path -m len 1:5", false},
		{"path -m str /api/v1/users", true},
		{"hdr(host) -m dom -i example.com", true},
		{"hdr(content-length) -m int 12", true},
		{"hdr(content-length) -m bool", true},
		{"hdr(nope) -m bool", false},
		{"ssl_fc -m bool", true},
		{"src -m ip 192.168.0.0/16", true},
		{"hdr(x-forwarded-for) -m ip 10.0.0.0/30", true},
		{"status -m str 404", true},
		{"src -m str 192.168.1.10", true},
		{"dst_port -m len 3", true},
		{"str(abc) -m bin 616263", true},
		{"str(abc) -m bin 6162", false},
		// flags
		{"path -- -x", false},
		{"str(-x) -- -x", true},
		{"hdr(host) -n -i www.example.com:8080", true},
		{"path -m str -i /API/v1/users", true},
		// converters change the default method
		{"hdr(host),lower www.example.com:8080", true},
		{"hdr(host),lower,field(1,:) www.example.com", true},
		{"hdr(host),lower,field(1,:) -m end .example.com", true},
		{"hdr(host),length 20", true},
		{"hdr(host),length gt 25", false},
		{"path_beg,length 13", true}, // derivative + converter: type's default method
		{"src,ipmask(16) 192.168.0.0", true},
		// many patterns go to a map
		{"path a b c d e f g h i j /api/v1/users", true},
		{"path a b c d e f g h i j /api/v1/user", false},
		{"path -i a b c d e f g h i j /API/v1/USERS", true},
		{"hdr(x-forwarded-for) a b c d e f g h i j 10.0.0.2", true},
	}
	tx := testTxn()
	for _, tc := range tests {
		if got := anon(t, tx, tc.line); got != tc.want {
			t.Errorf("{ %s } = %v, want %v", tc.line, got, tc.want)
		}
	}
}

func TestACLv6(t *testing.T) {
	tx := &Txn{}
	tx.Src = mustAddrPort("[2001:db8::5]:1000")
	tests := []struct {
		line string
		want bool
	}{
		{"src 2001:db8::/32", true},
		{"src 2001:db9::/32", false},
		{"src 10.0.0.0/8", false},
	}
	for _, tc := range tests {
		if got := anon(t, tx, tc.line); got != tc.want {
			t.Errorf("{ %s } = %v, want %v", tc.line, got, tc.want)
		}
	}
	tx.Src = mustAddrPort("1.2.3.4:1")
	if !anon(t, tx, "src ::ffff:1.2.3.4") {
		t.Error("a v4 source does not match its v4-mapped v6 pattern")
	}
}

func TestACLFromFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "paths.lst")
	if err := os.WriteFile(f, []byte("# static paths\n/static\n\n  /img  \n#/api\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nets := filepath.Join(dir, "nets.lst")
	if err := os.WriteFile(nets, []byte("10.0.0.0/8\n192.168.1.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := NewSet([]*config.ACL{
		{Pos: testPos, Name: "static", Args: []string{"path_beg", "-f", f}},
		{Pos: testPos, Name: "internal", Args: []string{"src", "-f", nets, "172.16.0.0/12"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tx := testTxn()
	for _, tc := range []struct {
		path string
		want bool
	}{{"/static/a.css", true}, {"/api/x", false}, {"/#/api", false},
		// HAProxy keeps a line's trailing blanks in the pattern (pat_ref_read_from_file)
		{"/img/x.png", false}} {
		tx.Req.URI = tc.path
		c, _ := s.Cond(&config.Cond{Terms: []string{"static"}})
		if got := c.Match(tx); got != tc.want {
			t.Errorf("static(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
	c, _ := s.Cond(&config.Cond{Terms: []string{"internal"}})
	if !c.Match(tx) {
		t.Error("internal should match 192.168.1.10")
	}
	_, err = NewSet([]*config.ACL{{Pos: testPos, Name: "x", Args: []string{"path", "-f", filepath.Join(dir, "nope")}}})
	if err == nil || !strings.Contains(err.Error(), "failed to open pattern file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestNewSetErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"x", []string{"hdrr(host)", "a"}, "parsing [t.cfg:7] : error detected while parsing ACL 'x' : unknown fetch method 'hdrr' in ACL expression 'hdrr(host)', did you mean 'hdr'?"},
		{"x", []string{"path_bgn", "/a"}, "unknown fetch method 'path_bgn' in ACL expression 'path_bgn', did you mean 'path_beg'?"},
		{"x", []string{"path", "-x", "/a"}, "'-x' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'"},
		{"x", []string{"path", "-m", "begin", "/a"}, "unknown matching method 'begin' for '-m', did you mean 'beg'?"},
		{"x", []string{"path", "-m"}, "missing argument after '-m'"},
		{"x", []string{"src", "-m", "int", "1"}, "matching method 'int' cannot be used with fetch keyword 'src'"},
		{"x", []string{"src", "not-an-ip"}, "'not-an-ip' is not a valid IPv4 or IPv6 address"},
		{"x", []string{"src", "10.0.0.0/33"}, "not a valid IPv4 or IPv6 address"},
		{"x", []string{"dst_port", "abc"}, "'abc' is not a number"},
		{"x", []string{"dst_port", "1:x"}, "'1:x' is not a valid range"},
		{"x", []string{"path_reg", "(["}, "regex '([' is invalid (RE2 syntax)"},
		{"x", []string{"req.ssl_ver", "x.y"}, "'x.y' is not a valid version"},
		{"x", []string{"ssl_fc", "yes"}, "'-m bool' takes no pattern, got 'yes'"},
		{"x", []string{"str(a)", "-m", "bin", "zz"}, "'zz' is not a valid hexadecimal string"},
		{"bad name", []string{"path", "/"}, "ACL name 'bad name' contains an invalid character (' ')"},
		{"", []string{"path", "/"}, "missing ACL name"},
		{"x", nil, "missing ACL criterion"},
	}
	for _, tc := range tests {
		_, err := NewSet([]*config.ACL{{Pos: testPos, Name: tc.name, Args: tc.args}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("acl %s %v: %v, want %q", tc.name, tc.args, err, tc.want)
		}
		if _, ok := err.(config.Diag); err != nil && !ok {
			t.Errorf("acl %s %v: error is %T, want config.Diag", tc.name, tc.args, err)
		}
	}
}

func TestPredefined(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Txn)
		want bool
	}{
		{"TRUE", nil, true},
		{"FALSE", nil, false},
		{"HTTP", nil, true},
		{"HTTP", func(t *Txn) { t.Req = nil }, false},
		{"HTTP_1.1", nil, true},
		{"HTTP_1.0", nil, false},
		{"HTTP_1.0", func(t *Txn) { t.Req.Proto, t.Req.Minor = "HTTP/1.0", 0 }, true},
		{"HTTP_2.0", func(t *Txn) { t.Req.Proto, t.Req.Major, t.Req.Minor = "HTTP/2.0", 2, 0 }, true},
		{"HTTP_CONTENT", nil, true},
		{"HTTP_CONTENT", func(t *Txn) { t.Req.Header.Del("Content-Length") }, false},
		{"HTTP_URL_ABS", nil, false},
		{"HTTP_URL_ABS", func(t *Txn) { t.Req.URI = "http://a/b" }, true},
		{"HTTP_URL_SLASH", nil, true},
		{"HTTP_URL_STAR", func(t *Txn) { t.Req.URI = "*" }, true},
		{"LOCALHOST", nil, false},
		{"LOCALHOST", func(t *Txn) { t.Src = mustAddrPort("127.0.0.2:1") }, true},
		{"LOCALHOST", func(t *Txn) { t.Src = mustAddrPort("[::1]:1") }, true},
		{"METH_GET", nil, true},
		{"METH_GET", func(t *Txn) { t.Req.Method = "HEAD" }, true},
		{"METH_HEAD", nil, false},
		{"METH_POST", func(t *Txn) { t.Req.Method = "POST" }, true},
		{"METH_PUT", func(t *Txn) { t.Req.Method = "PUT" }, true},
		{"METH_DELETE", func(t *Txn) { t.Req.Method = "DELETE" }, true},
		{"METH_OPTIONS", func(t *Txn) { t.Req.Method = "OPTIONS" }, true},
		{"METH_TRACE", func(t *Txn) { t.Req.Method = "TRACE" }, true},
		{"METH_CONNECT", func(t *Txn) { t.Req.Method = "CONNECT" }, true},
		{"REQ_CONTENT", nil, false},
		{"REQ_CONTENT", func(t *Txn) { t.Payload = []byte("x") }, true},
		{"WAIT_END", nil, true},
		{"WAIT_END", func(t *Txn) { t.Inspecting = true }, false},
		{"RDP_COOKIE", nil, false},
		{"RDP_COOKIE", func(t *Txn) {
			t.Payload = append([]byte{3, 0, 0, 40, 35, 0xe0, 0, 0, 0, 0, 0}, "Cookie: mstshash=x\r\n"...)
		}, true},
	}
	s, err := NewSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		tx := testTxn()
		if tc.mod != nil {
			tc.mod(tx)
		}
		c, err := s.Cond(&config.Cond{Pos: testPos, Terms: []string{tc.name}})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := c.Match(tx); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
	// a user ACL overrides a predefined one
	s, _ = NewSet([]*config.ACL{{Name: "TRUE", Args: []string{"always_false"}}})
	c, _ := s.Cond(&config.Cond{Terms: []string{"TRUE"}})
	if c.Match(testTxn()) {
		t.Error("user-defined TRUE should override the predefined one")
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
