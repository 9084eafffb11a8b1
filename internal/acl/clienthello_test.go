package acl

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// captureConn records what a TLS client writes and fails its first read,
// which leaves exactly the ClientHello flight in buf.
type captureConn struct{ buf bytes.Buffer }

func (c *captureConn) Read([]byte) (int, error)         { return 0, errors.New("capture only") }
func (c *captureConn) Write(p []byte) (int, error)      { return c.buf.Write(p) }
func (c *captureConn) Close() error                     { return nil }
func (c *captureConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *captureConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *captureConn) SetDeadline(time.Time) error      { return nil }
func (c *captureConn) SetReadDeadline(time.Time) error  { return nil }
func (c *captureConn) SetWriteDeadline(time.Time) error { return nil }

func clientHelloBytes(tb testing.TB, cfg *tls.Config) []byte {
	tb.Helper()
	c := &captureConn{}
	_ = tls.Client(c, cfg).Handshake()
	if c.buf.Len() < 5 || c.buf.Bytes()[0] != recHandshake {
		tb.Fatalf("no ClientHello captured: %x", c.buf.Bytes())
	}
	return c.buf.Bytes()
}

// refragment rewrites the handshake records of p into records of at most n
// bytes of handshake data each.
func refragment(tb testing.TB, p []byte, n int) []byte {
	tb.Helper()
	var hs []byte
	var vers []byte
	for len(p) >= 5 {
		l := int(p[3])<<8 | int(p[4])
		vers = p[1:3]
		hs = append(hs, p[5:5+l]...)
		p = p[5+l:]
	}
	var out []byte
	for len(hs) > 0 {
		k := min(n, len(hs))
		out = append(out, recHandshake, vers[0], vers[1], byte(k>>8), byte(k))
		out = append(out, hs[:k]...)
		hs = hs[k:]
	}
	return out
}

func TestClientHelloFetches(t *testing.T) {
	withSNI := clientHelloBytes(t, &tls.Config{ServerName: "www.Example.com", NextProtos: []string{"h2", "http/1.1"}})
	noSNI := clientHelloBytes(t, &tls.Config{InsecureSkipVerify: true})
	tls10 := clientHelloBytes(t, &tls.Config{ServerName: "old.example", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10})
	serverHello := []byte{recHandshake, 3, 3, 0, 6, 2, 0, 0, 2, 3, 3}
	// SSLv2-compatible hello: 2-byte header, type 1, version 3.1, 3 bytes of ciphers, 16 of challenge
	sslv2 := append([]byte{0x80, 9 + 3 + 16, 1, 3, 1, 0, 3, 0, 0, 0, 16}, make([]byte, 3+16)...)

	tests := []struct {
		name    string
		payload []byte
		expr    string
		want    string
		ok      bool
	}{
		{"sni", withSNI, "req.ssl_sni", "www.Example.com", true},
		{"sni lower", withSNI, "req_ssl_sni,lower", "www.example.com", true},
		{"hello type", withSNI, "req.ssl_hello_type", "1", true},
		{"ver", withSNI, "req.ssl_ver", "196611", true}, // 3.3
		{"alpn first", withSNI, "req.ssl_alpn", "h2", true},
		{"len", withSNI, "req.len", itoa(len(withSNI)), true},
		{"payload", withSNI, "req.payload(0,3),hex", "160301", true},
		{"payload to end", withSNI, "req.payload(5,0),length", itoa(len(withSNI) - 5), true},
		{"payload short", withSNI, "req.payload(0,100000)", "", false},
		{"no sni", noSNI, "req.ssl_sni", "", false},
		{"no sni type", noSNI, "req_ssl_hello_type", "1", true},
		{"no alpn", noSNI, "req.ssl_alpn", "", false},
		{"tls10 ver", tls10, "req_ssl_ver", "196609", true}, // 3.1
		{"tls10 sni", tls10, "req.ssl_sni", "old.example", true},
		{"split 50", refragment(t, withSNI, 50), "req.ssl_sni", "www.Example.com", true},
		{"split 1", refragment(t, withSNI, 1), "req.ssl_sni", "www.Example.com", true},
		{"split 2 alpn", refragment(t, withSNI, 2), "req.ssl_alpn", "h2", true},
		{"split type", refragment(t, withSNI, 3), "req.ssl_hello_type", "1", true},
		{"server hello", serverHello, "req.ssl_hello_type", "2", true},
		{"server hello sni", serverHello, "req.ssl_sni", "", false},
		{"sslv2 ver", sslv2, "req.ssl_ver", "196609", true},
		{"sslv2 sni", sslv2, "req.ssl_sni", "", false},
		{"http", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "req.ssl_sni", "", false},
		{"http ver", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "req.ssl_ver", "", false},
		{"empty", nil, "req.ssl_hello_type", "", false},
	}
	for _, tc := range tests {
		tx := &Txn{Payload: tc.payload}
		got, ok := mustExpr(t, tc.expr).AppendString(nil, tx)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%s: %s = %q, %v; want %q, %v", tc.name, tc.expr, got, ok, tc.want, tc.ok)
		}
	}

	// ACLs: every ALPN protocol is tried, versions match dotted
	s, err := NewSet([]*config.ACL{
		{Name: "h11", Args: []string{"req.ssl_alpn", "http/1.1"}},
		{Name: "tls12up", Args: []string{"req_ssl_ver", "3.3:"}},
		{Name: "tls10", Args: []string{"req_ssl_ver", "3.1"}},
		{Name: "site", Args: []string{"req_ssl_sni", "-i", "www.example.com"}},
		{Name: "sub", Args: []string{"req_ssl_sni_end", "-i", ".example.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		terms   string
		payload []byte
		want    bool
	}{
		{"h11", withSNI, true},
		{"tls12up", withSNI, true},
		{"tls10", withSNI, false},
		{"tls10", tls10, true},
		{"site", withSNI, true},
		{"sub", refragment(t, withSNI, 7), true},
		{"site", noSNI, false},
	} {
		c, err := s.Cond(&config.Cond{Terms: strings.Fields(tc.terms)})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Match(&Txn{Payload: tc.payload}); got != tc.want {
			t.Errorf("%s on %d bytes = %v, want %v", tc.terms, len(tc.payload), got, tc.want)
		}
	}
}

// TestClientHelloTruncated feeds every prefix of real hellos: never a panic,
// and while inspecting an incomplete hello is a Miss (wait), never a Fail.
func TestClientHelloTruncated(t *testing.T) {
	full := clientHelloBytes(t, &tls.Config{ServerName: "a.example", NextProtos: []string{"h2"}})
	s, _ := NewSet(nil)
	c, err := s.Cond(&config.Cond{Terms: []string{"{", "req.ssl_sni", "a.example", "}"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]byte{full, refragment(t, full, 40)} {
		for n := 0; n < len(p); n++ {
			tx := &Txn{Payload: p[:n], Inspecting: true}
			if r := c.Eval(tx); r != Miss {
				t.Fatalf("prefix %d/%d: %v, want miss", n, len(p), r)
			}
			tx.Inspecting = false
			if r := c.Eval(tx); r != Fail {
				t.Fatalf("prefix %d/%d after inspection: %v, want fail", n, len(p), r)
			}
		}
		if r := c.Eval(&Txn{Payload: p, Inspecting: true}); r != Pass {
			t.Fatalf("full hello: %v", r)
		}
	}
}

func TestClientHelloGarbage(t *testing.T) {
	for _, p := range []string{
		"\x16\x03\x01\x00\x00",                                 // empty record
		"\x16\x03\x01\xff\xff",                                 // record too long
		"\x16\x02\x01\x00\x05\x01\x00\x00\x01\x00",             // not version 3
		"\x16\x03\x01\x00\x05\x01\xff\xff\xff\x00",             // huge handshake
		"\x16\x03\x01\x00\x04\x01\x00\x00\x00",                 // empty ClientHello body
		"\x16\x03\x01\x00\x04\x01\x00\x00\x10\x17\x03\x03\x00", // continued by a non-handshake record
		"\x17\x03\x03\x00\x10",
	} {
		tx := &Txn{Payload: []byte(p)}
		for _, e := range []string{"req.ssl_sni", "req.ssl_alpn", "req.ssl_hello_type", "req.ssl_ver"} {
			mustExpr(t, e).AppendString(nil, tx)
		}
		if _, ok := mustExpr(t, "req.ssl_sni").AppendString(nil, tx); ok {
			t.Errorf("%q gave an SNI", p)
		}
	}
}

func FuzzClientHello(f *testing.F) {
	full := clientHelloBytes(f, &tls.Config{ServerName: "fuzz.example", NextProtos: []string{"h2", "http/1.1"}})
	f.Add(full)
	f.Add(refragment(f, full, 16))
	f.Add(clientHelloBytes(f, &tls.Config{InsecureSkipVerify: true}))
	f.Add([]byte{0x80, 28, 1, 3, 1, 0, 3, 0, 0, 0, 16})
	f.Add([]byte("\x16\x03\x01\x00\x04\x01\x00\x00\x00"))
	exprs := []*Expr{
		mustExpr(f, "req.ssl_sni"), mustExpr(f, "req.ssl_alpn"), mustExpr(f, "req.ssl_hello_type"),
		mustExpr(f, "req.ssl_ver"), mustExpr(f, "req.payload(1,4)"),
	}
	alpnAll, err := compileACLTest([]string{"req.ssl_alpn", "-m", "found"}, aclKeywords())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		for _, insp := range []bool{false, true} {
			tx := &Txn{Payload: p, Inspecting: insp}
			for _, e := range exprs {
				e.AppendString(nil, tx)
			}
			alpnAll.eval(tx)
		}
		typ, body, _, st := handshakeMsg(p, nil)
		if st == hOK && typ == hsClientHello {
			if h, ok := parseClientHello(body); ok && h.hasSNI && len(h.sni) > len(p) {
				t.Errorf("SNI %q is longer than the input", h.sni)
			}
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
