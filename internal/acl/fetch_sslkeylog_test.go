package acl

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// TestSSLKeyLogFetches: the connection's own secrets and randoms, nothing
// without tune.ssl.keylog, and ssl_fc_exporter_secret refused by name.
func TestSSLKeyLogFetches(t *testing.T) {
	kl := &tlsconf.KeyLog{ClientRandom: []byte{0xab, 0x01}, ServerRandom: []byte{0xcd}}
	kl.Write([]byte("CLIENT_TRAFFIC_SECRET_0 ab01 00ff\n"))
	kl.Write([]byte("CLIENT_TRAFFIC_SECRET_0 ab01 1111\n")) // the first is kept
	kl.Write([]byte("SERVER_HANDSHAKE_TRAFFIC_SECRET ab01 beef\n"))
	for _, c := range []struct{ expr, want string }{
		{"ssl_fc_client_random,hex", "AB01"},
		{"ssl_fc_server_random,hex", "CD"},
		{"ssl_fc_client_traffic_secret_0", "00ff"},
		{"ssl_fc_server_handshake_traffic_secret", "beef"},
		{"ssl_fc_client_handshake_traffic_secret", ""},
		{"ssl_fc_client_early_traffic_secret", ""},
	} {
		e, err := CompileExpr(c.expr, config.Pos{})
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		out, ok := e.AppendString(nil, &Txn{TLS: true, KeyLog: kl})
		if string(out) != c.want || ok != (c.want != "") {
			t.Errorf("%s = %q, %v; want %q", c.expr, out, ok, c.want)
		}
		if out, ok := e.AppendString(nil, &Txn{TLS: true}); ok {
			t.Errorf("%s without tune.ssl.keylog = %q, want nothing", c.expr, out)
		}
	}
	if _, err := CompileExpr("ssl_fc_exporter_secret", config.Pos{}); err == nil || !strings.Contains(err.Error(), "exporter secret is not exposed") {
		t.Errorf("ssl_fc_exporter_secret: %v, want refused", err)
	}
}
