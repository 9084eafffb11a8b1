package acl

import (
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestURLFetches: pathq, url_ip and url_port read the target as HAProxy's
// url2sa does (http/https absolute targets with an IPv4 host only); fc_*
// read the connection's addresses, not Src/Dst.
func TestURLFetches(t *testing.T) {
	for _, tc := range []struct{ uri, expr, want string }{
		{"/a/b?c=1", "pathq", "/a/b?c=1"},
		{"http://h/a?b", "pathq", "/a?b"},
		{"http://h", "pathq", ""},
		{"http://192.0.2.1:81/a", "url_ip", "192.0.2.1"},
		{"http://192.0.2.1:81/a", "url_port", "81"},
		{"http://192.0.2.1/a", "url_port", "80"},
		{"HTTPS://192.0.2.1/a", "url_port", "443"},
		{"http://app.example/a", "url_ip", ""},
		{"http://[2001:db8::1]/a", "url_ip", ""},
		{"ftp://192.0.2.1/a", "url_port", ""},
		{"/a", "url_ip", ""},
	} {
		tx := testTxn()
		tx.Req.URI = tc.uri
		out, _ := mustExpr(t, tc.expr).AppendString(nil, tx)
		if string(out) != tc.want {
			t.Errorf("%s on %s: got %q, want %q", tc.expr, tc.uri, out, tc.want)
		}
	}
	tx := testTxn()
	tx.ConnSrc, tx.ConnDst = netip.MustParseAddrPort("192.0.2.9:1234"), netip.MustParseAddrPort("[::ffff:10.0.0.1]:443")
	for expr, want := range map[string]string{"fc_http_major": "1", "bc_http_major": "", "fc_src": "192.0.2.9", "fc_src_port": "1234", "fc_dst": "10.0.0.1", "fc_dst_port": "443", "src": "192.168.1.10"} {
		if out, _ := mustExpr(t, expr).AppendString(nil, tx); string(out) != want {
			t.Errorf("%s: got %q, want %q", expr, out, want)
		}
	}
	set, err := NewSet([]*config.ACL{{Pos: testPos, Name: "fwd", Args: []string{"url_ip", "192.0.2.0/24"}}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := set.Cond(&config.Cond{Terms: []string{"fwd"}})
	tx.Req.URI = "http://192.0.2.5/x"
	if !c.Match(tx) {
		t.Errorf("acl url_ip 192.0.2.0/24 does not match http://192.0.2.5/x")
	}
}

// TestBase32: HAProxy's hash of Host and path (values taken from HAProxy
// 2.6 for the same requests), and base32+src's bytes.
func TestBase32(t *testing.T) {
	tx := testTxn()
	tx.Req.URI = "/a/b?c"
	tx.Req.Header = tx.Req.Header[:0]
	tx.Req.Header.Add("Host", "app.example")
	tx.Src = netip.MustParseAddrPort("127.0.0.1:5000")
	for expr, want := range map[string]string{"base32": "2215286970", "base32+src,hex": "840A98BA7F000001"} {
		if out, _ := mustExpr(t, expr).AppendString(nil, tx); string(out) != want {
			t.Errorf("%s: got %q, want %q", expr, out, want)
		}
	}
	tx.NotFirst = true
	if out, _ := mustExpr(t, "http_first_req").AppendString(nil, tx); string(out) != "0" {
		t.Errorf("http_first_req on a later request: %q", out)
	}
}
