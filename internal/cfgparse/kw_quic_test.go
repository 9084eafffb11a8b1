package cfgparse

import (
	"strings"
	"testing"
	"time"
)

// TestQUICBinds: quic4@ and quic6@ addresses (HAProxy's prefixes) make
// HTTP/3 binds with their options; what a QUIC bind cannot do, and the
// QUIC-only options on a TCP bind, are refused.
func TestQUICBinds(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`global
    tune.quic.frontend.max-idle-timeout 10s
    tune.quic.frontend.max-streams-bidi 50
    cluster-secret s3cret
frontend f
    mode http
    bind quic4@127.0.0.1:8443 ssl crt /x.pem alpn h3 allow-0rtt quic-force-retry
    bind quic6@:8443 ssl crt /x.pem
    bind quic4@*:9443 ssl crt /x.pem
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Proxies[0].Binds
	if len(b) != 3 {
		t.Fatalf("%d binds, want 3", len(b))
	}
	if !b[0].QUIC || b[0].Host != "127.0.0.1" || b[0].Port != 8443 || !b[0].Allow0RTT || !b[0].QUICForceRetry || strings.Join(b[0].ALPN, ",") != "h3" {
		t.Errorf("bind 0: %+v", b[0])
	}
	if !b[1].QUIC || b[1].Host != "::" || b[1].Allow0RTT || b[1].QUICForceRetry || strings.Join(b[1].ALPN, ",") != "h3" {
		t.Errorf("bind 1 (quic6@, no alpn: h3): %+v", b[1])
	}
	if !b[2].QUIC || b[2].Host != "" || b[2].Port != 9443 {
		t.Errorf("bind 2: %+v", b[2])
	}
	g := c.Global
	if g.QUIC.MaxIdleTimeout != 10*time.Second || g.QUIC.MaxStreamsBidi != 50 || g.ClusterSecret != "s3cret" {
		t.Errorf("global: %+v %q", g.QUIC, g.ClusterSecret)
	}
	for _, tc := range []struct{ line, want string }{
		{"bind quic4@:443", "QUIC needs 'ssl' and a certificate"},
		{"bind quic4@:443 ssl", "QUIC needs 'ssl' and a certificate"},
		{"bind quic4@:443 ssl crt /x.pem alpn h2", "serves HTTP/3 only"},
		{"bind quic4@:443 ssl crt /x.pem accept-proxy", "'accept-proxy' cannot apply"},
		{"bind quic4@:443 ssl crt /x.pem proto h2", "'proto h2' cannot apply"},
		{"bind quic4@[::1]:443 ssl crt /x.pem", "is not an IPv4 address"},
		{"bind quic4@:443 ssl crt /x.pem mss 1400", "'backlog', 'defer-accept', 'mss' and 'interface' are not supported on QUIC binds"},
		{"bind quic4@:443 ssl crt /x.pem defer-accept", "are not supported on QUIC binds"},
		{"bind quic6@:::443 ssl crt /x.pem v6only", "'v4v6' and 'v6only' are not supported on QUIC binds"},
		{"bind quic6@127.0.0.1:443 ssl crt /x.pem", "is not an IPv6 address"},
		{"bind :443 ssl crt /x.pem allow-0rtt", "'allow-0rtt' is only supported on QUIC binds"},
		{"bind :443 quic-force-retry", "'quic-force-retry' only applies to QUIC binds"},
		{"bind quic@:443 ssl crt /x.pem", "address prefixes such as 'quic@'"},
	} {
		_, err := Parse("t.cfg", []byte("frontend f\n    mode http\n    "+tc.line+"\n"), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.line, err, tc.want)
		}
	}
	for _, tc := range []struct{ line, want string }{
		{"tune.quic.frontend.max-idle-timeout 0", "strictly positive"},
		{"tune.quic.frontend.max-streams-bidi 0", "out of range"},
		{"tune.quic.retry-threshold 10", "does not implement"},
		{"tune.quic.frontend.conn-tx-buffers.limit 10", "does not implement"},
		{"cluster-secret", "expects"},
	} {
		_, err := Parse("t.cfg", []byte("global\n    "+tc.line+"\n"), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.line, err, tc.want)
		}
	}
}
