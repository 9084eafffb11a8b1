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
	for expr, want := range map[string]string{"fc_src": "192.0.2.9", "fc_src_port": "1234", "fc_dst": "10.0.0.1", "fc_dst_port": "443", "src": "192.168.1.10"} {
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
