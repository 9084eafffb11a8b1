package acl

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// TestSSLHelloFetches: the capture in HAProxy's forms, GREASE dropped on
// request, nothing without a capture.
func TestSSLHelloFetches(t *testing.T) {
	h := &tlsconf.Hello{
		Ciphers:      []byte{0x0a, 0x0a, 0x13, 0x01, 0xc0, 0x2f},
		Extensions:   []byte{0x00, 0x00, 0x3a, 0x3a, 0x00, 0x0a},
		Curves:       []byte{0x2a, 0x2a, 0x00, 0x1d},
		PointFormats: []byte{0x00},
		CipherXXH64:  0xfbcea83c8a378bf1,
		Version:      0x0303,
	}
	for _, c := range []struct{ expr, want string }{
		{"ssl_fc_cipherlist_bin,hex", "0A0A1301C02F"},
		{"ssl_fc_cipherlist_bin(0),hex", "0A0A1301C02F"},
		{"ssl_fc_cipherlist_bin(1),hex", "1301C02F"},
		{"ssl_fc_cipherlist_hex", "0A0A1301C02F"},
		{"ssl_fc_cipherlist_hex(1)", "1301C02F"},
		{"ssl_fc_cipherlist_str", "UNKNOWN(0a0a),TLS_AES_128_GCM_SHA256,ECDHE-RSA-AES128-GCM-SHA256"},
		{"ssl_fc_cipherlist_str(1)", "TLS_AES_128_GCM_SHA256,ECDHE-RSA-AES128-GCM-SHA256"},
		{"ssl_fc_cipherlist_xxh", "-302119147016844303"},
		{"ssl_fc_extlist_bin(1),hex", "0000000A"},
		{"ssl_fc_eclist_bin(1),hex", "001D"},
		{"ssl_fc_eclist_bin,hex", "2A2A001D"},
		{"ssl_fc_ecformats_bin,hex", "00"},
		{"ssl_fc_protocol_hello_id", "771"},
	} {
		e, err := CompileExpr(c.expr, config.Pos{})
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		out, ok := e.AppendString(nil, &Txn{TLS: true, Hello: h})
		if !ok || string(out) != c.want {
			t.Errorf("%s = %q, %v; want %q", c.expr, out, ok, c.want)
		}
		if out, ok := e.AppendString(nil, &Txn{TLS: true}); ok {
			t.Errorf("%s without a capture = %q, want nothing", c.expr, out)
		}
	}
}
