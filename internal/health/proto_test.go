package health

import (
	"bytes"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestProtoSpecChoice: of a backend's check options the latest line wins,
// as each HAProxy option replaces the check.
func TestProtoSpecChoice(t *testing.T) {
	pos := func(l int) config.Pos { return config.Pos{File: "f", Line: l} }
	pc := &config.ProtoCheck{Pos: pos(5), Kind: "redis"}
	cases := []struct {
		p    config.Proxy
		want Kind
	}{
		{config.Proxy{ProtoCheck: pc}, KindProto},
		{config.Proxy{ProtoCheck: pc, HTTPCheck: &config.HTTPCheck{Pos: pos(2)}}, KindProto},
		{config.Proxy{ProtoCheck: pc, HTTPCheck: &config.HTTPCheck{Pos: pos(7)}}, KindHTTP},
		{config.Proxy{ProtoCheck: pc, TCPCheck: &config.TCPCheck{Pos: pos(9)}}, KindTCPCheck},
	}
	for i, c := range cases {
		sp, err := NewSpec(&c.p)
		if err != nil || sp.Kind != c.want {
			t.Errorf("case %d: kind %v (%v), want %v", i, sp.Kind, err, c.want)
		}
	}
}

// TestProtoExpectEval: HAProxy's expect semantics: without min-recv a
// mismatch waits for more data, with it the mismatch is final; rbinary
// matches the upper-case hex dump; the end of the stream decides.
func TestProtoExpectEval(t *testing.T) {
	redis := protoSpec(&config.ProtoCheck{Kind: "redis"}).proto[1].expect
	if v, _ := redis.eval([]byte("-NOAUTH x\r\n"), false); v != vWait {
		t.Errorf("redis mismatch without min-recv: %v, want wait", v)
	}
	if v, res := redis.eval([]byte("-NOAUTH x\r\n"), true); v != vStop || res.Status != StatusL7STS || res.Info != "-NOAUTH x" {
		t.Errorf("redis mismatch at the end: %v %+v", v, res)
	}
	ssl := protoSpec(&config.ProtoCheck{Kind: "ssl-hello"}).proto[1].expect
	if v, _ := ssl.eval([]byte{0x15, 3, 0}, false); v != vWait {
		t.Errorf("ssl hello under min-recv: %v", v)
	}
	if v, _ := ssl.eval([]byte{0x15, 3, 0, 0, 2}, false); v != vContinue {
		t.Errorf("ssl alert: %v", v)
	}
	if v, res := ssl.eval([]byte("HTTP/1.1 400"), false); v != vStop || res.Status != StatusL6RSP {
		t.Errorf("ssl http: %v %+v", v, res)
	}
	pg := protoSpec(&config.ProtoCheck{Kind: "pgsql", User: "u"})
	if !bytes.Equal(pg.proto[1].send(), []byte("\x00\x00\x00\x10\x00\x03\x00\x00user\x00u\x00\x00")) {
		t.Errorf("pgsql startup %q", pg.proto[1].send())
	}
	if v, _ := pg.proto[3].expect.eval([]byte("R\x00\x00\x00\x17\x00\x00\x00\x0aSCRAM"), false); v != vContinue {
		t.Errorf("pgsql SASL request: %v", v)
	}
	if h := sslv3Hello(); len(h) != 5+0x79 || !bytes.Contains(h, []byte("HAPROXYSSLCHK\nHAPROXYSSLCHK\n")) {
		t.Errorf("ssl hello: %d bytes", len(h))
	}
	if a := mysqlAuth("haproxy", false); len(a) != 4+7+7+27+5 || a[0] != 41 || a[3] != 1 {
		t.Errorf("mysql auth % x", a)
	}
}
