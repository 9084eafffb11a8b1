package proxyproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net"
	"net/netip"
	"testing"
	"time"

	pires "github.com/pires/go-proxyproto"
)

var (
	src4 = netip.MustParseAddrPort("192.0.2.7:40123")
	dst4 = netip.MustParseAddrPort("10.0.0.1:443")
	src6 = netip.MustParseAddrPort("[2001:db8::7]:40123")
	dst6 = netip.MustParseAddrPort("[2001:db8::1]:443")
)

func TestAppendV1(t *testing.T) {
	for _, tc := range []struct {
		src, dst netip.AddrPort
		want     string
	}{
		{src4, dst4, "PROXY TCP4 192.0.2.7 10.0.0.1 40123 443\r\n"},
		{src6, dst6, "PROXY TCP6 2001:db8::7 2001:db8::1 40123 443\r\n"},
		{src4, dst6, "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::1 40123 443\r\n"},
		{netip.AddrPort{}, dst4, "PROXY UNKNOWN\r\n"},
		{netip.MustParseAddrPort("[::ffff:1.2.3.4]:1"), netip.MustParseAddrPort("5.6.7.8:2"), "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"},
	} {
		if got := string(AppendV1(nil, tc.src, tc.dst)); got != tc.want {
			t.Errorf("AppendV1(%v, %v) = %q, want %q", tc.src, tc.dst, got, tc.want)
		}
	}
	if n := len(AppendV1(nil, netip.MustParseAddrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
		netip.MustParseAddrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"))); n > MaxV1Len {
		t.Errorf("longest v1 header is %d bytes, more than %d", n, MaxV1Len)
	}
}

// TestV2Interop checks what AppendV2 writes against an independent reader
// (pires/go-proxyproto) and against Parse.
func TestV2Interop(t *testing.T) {
	for _, tc := range []struct {
		name     string
		src, dst netip.AddrPort
		opts     *Options
		tlvs     map[byte]string
	}{
		{"v4 no tlv", src4, dst4, nil, nil},
		{"v6", src6, dst6, &Options{}, nil},
		{"mixed", src4, dst6, nil, nil},
		{"authority", src4, dst4, &Options{Authority: true, AuthorityValue: "api.example.com"}, map[byte]string{TypeAuthority: "api.example.com"}},
		{"unique-id", src4, dst4, &Options{UniqueID: true, UniqueIDValue: "abc-123"}, map[byte]string{TypeUniqueID: "abc-123"}},
		{"ssl passthrough", src4, dst4, &Options{SSL: true}, map[byte]string{TypeSSL: "\x00\x00\x00\x00\x00"}},
		{"ssl terminated", src4, dst4, &Options{SSL: true, ClientTLS: true, TLSVersion: "TLSv1.3"},
			map[byte]string{TypeSSL: "\x01\x00\x00\x00\x00\x21\x00\x07TLSv1.3"}},
		{"all", src6, dst6, &Options{ALPN: "h2", Authority: true, AuthorityValue: "a.test", UniqueID: true, UniqueIDValue: "u", SSL: true},
			map[byte]string{TypeALPN: "h2", TypeAuthority: "a.test", TypeUniqueID: "u", TypeSSL: "\x00\x00\x00\x00\x00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendV2([]byte("junk"), tc.src, tc.dst, tc.opts)[4:]
			ph, err := pires.Read(bufio.NewReader(bytes.NewReader(b)))
			if err != nil {
				t.Fatalf("pires.Read: %v", err)
			}
			if got := ph.SourceAddr.(*net.TCPAddr).AddrPort(); netip.AddrPortFrom(got.Addr().Unmap(), got.Port()) != tc.src {
				t.Errorf("pires source = %v, want %v", got, tc.src)
			}
			ptlvs, err := ph.TLVs()
			if err != nil {
				t.Fatalf("pires TLVs: %v", err)
			}
			if len(ptlvs) != len(tc.tlvs) {
				t.Errorf("pires sees %d TLVs, want %d", len(ptlvs), len(tc.tlvs))
			}
			for _, tlv := range ptlvs {
				if want := tc.tlvs[byte(tlv.Type)]; string(tlv.Value) != want {
					t.Errorf("TLV %#x = %q, want %q", tlv.Type, tlv.Value, want)
				}
			}
			h, n, err := Parse(append(b, "GET"...))
			if err != nil || n != len(b) {
				t.Fatalf("Parse = %v, %d; want nil, %d", err, n, len(b))
			}
			if h.Src != tc.src || (tc.dst.Addr().Is4() && h.Dst != tc.dst) {
				t.Errorf("Parse addresses %v -> %v", h.Src, h.Dst)
			}
			for typ, want := range tc.tlvs {
				if v, _ := h.TLV(typ); string(v) != want {
					t.Errorf("Parse TLV %#x = %q, want %q", typ, v, want)
				}
			}
		})
	}
}

func v2(verCmd, fam byte, body []byte) []byte {
	b := append([]byte(Signature), verCmd, fam, 0, 0)
	binary.BigEndian.PutUint16(b[14:], uint16(len(body)))
	return append(b, body...)
}

func withCRC(b []byte, corrupt bool) []byte {
	b = append(b, TypeCRC32C, 0, 4, 0, 0, 0, 0)
	binary.BigEndian.PutUint16(b[14:], uint16(len(b)-16))
	c := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
	if corrupt {
		c++
	}
	binary.BigEndian.PutUint32(b[len(b)-4:], c)
	return b
}

func TestParse(t *testing.T) {
	addr4 := []byte{192, 0, 2, 7, 10, 0, 0, 1, 0x9c, 0xbb, 0x01, 0xbb}
	for _, tc := range []struct {
		name  string
		in    string
		err   error
		src   string
		local bool
		n     int
	}{
		{"v1 tcp4", "PROXY TCP4 192.0.2.7 10.0.0.1 40123 443\r\nGET", nil, "192.0.2.7:40123", false, 41},
		{"v1 tcp6", "PROXY TCP6 2001:db8::7 2001:db8::1 1 2\r\n", nil, "[2001:db8::7]:1", false, 40},
		{"v1 unknown", "PROXY UNKNOWN whatever\r\n", nil, "", true, 24},
		{"v1 partial", "PROXY TCP4 1.2", ErrShort, "", false, 0},
		{"v1 prefix only", "PRO", ErrShort, "", false, 0},
		{"garbage", "GET / HTTP/1.1\r\n", ErrNotHeader, "", false, 0},
		{"tls hello", "\x16\x03\x01\x00\xc8", ErrNotHeader, "", false, 0},
		{"v1 lower case", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", ErrNotHeader, "", false, 0},
		{"v1 udp", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", ErrBadProto, "", false, 0},
		{"v1 family mismatch", "PROXY TCP4 ::1 ::1 1 2\r\n", ErrBadHeader, "", false, 0},
		{"v1 bad ip", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", ErrBadHeader, "", false, 0},
		{"v1 leading zero ip", "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", ErrBadHeader, "", false, 0},
		{"v1 port too big", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", ErrBadHeader, "", false, 0},
		{"v1 port leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", ErrBadHeader, "", false, 0},
		{"v1 missing field", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", ErrBadHeader, "", false, 0},
		{"v1 double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", ErrBadHeader, "", false, 0},
		{"v1 bare LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", ErrBadHeader, "", false, 0},
		{"v1 too long", "PROXY TCP4 " + string(bytes.Repeat([]byte("1"), 120)), ErrBadHeader, "", false, 0},
		{"v2 tcp4", string(v2(0x21, 0x11, addr4)) + "x", nil, "192.0.2.7:40123", false, 28},
		{"v2 local", string(v2(0x20, 0x00, nil)), nil, "", true, 16},
		{"v2 local with udp", string(v2(0x20, 0x12, addr4)), nil, "", true, 28},
		{"v2 unspec proxy", string(v2(0x21, 0x00, nil)), nil, "", true, 16},
		{"v2 partial sig", Signature[:7], ErrShort, "", false, 0},
		{"v2 partial body", string(v2(0x21, 0x11, addr4)[:20]), ErrShort, "", false, 0},
		{"v2 bad version", string(v2(0x11, 0x11, addr4)), ErrBadHeader, "", false, 0},
		{"v2 bad command", string(v2(0x22, 0x11, addr4)), ErrBadHeader, "", false, 0},
		{"v2 udp", string(v2(0x21, 0x12, addr4)), ErrBadProto, "", false, 0},
		{"v2 short addresses", string(v2(0x21, 0x11, addr4[:8])), ErrBadHeader, "", false, 0},
		{"v2 truncated tlv", string(v2(0x21, 0x11, append(addr4[:12:12], 0x02, 0, 9, 'a'))), ErrBadHeader, "", false, 0},
		{"v2 crc ok", string(withCRC(v2(0x21, 0x11, addr4), false)), nil, "192.0.2.7:40123", false, 35},
		{"v2 crc bad", string(withCRC(v2(0x21, 0x11, addr4), true)), ErrBadHeader, "", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := Parse([]byte(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if n != tc.n {
				t.Errorf("n = %d, want %d", n, tc.n)
			}
			if h.Local != tc.local {
				t.Errorf("Local = %v, want %v", h.Local, tc.local)
			}
			if !tc.local && h.Src.String() != tc.src {
				t.Errorf("Src = %v, want %s", h.Src, tc.src)
			}
		})
	}
}

func TestReadHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string // written with a pause between them
		close  bool
		err    error
		rest   string
	}{
		{"v1 split", []string{"PROXY TCP4 1.2.", "3.4 5.6.7.8 1 2\r", "\nhello"}, false, nil, "hello"},
		{"v2 split", []string{Signature[:5], string(AppendV2(nil, src4, dst4, &Options{Authority: true, AuthorityValue: "x.test"}))[5:] + "tls"}, false, nil, "tls"},
		{"garbage", []string{"\x16\x03\x01\x02\x00\x01"}, false, ErrNotHeader, ""},
		{"closed empty", nil, true, ErrEmpty, ""},
		{"closed mid header", []string{"PROXY TCP4 1.2.3.4"}, true, ErrTruncated, ""},
		{"silent", nil, false, ErrTimeout, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tcpPair(t)
			go func() {
				for _, c := range tc.chunks {
					a.Write([]byte(c))
					time.Sleep(5 * time.Millisecond)
				}
				if tc.close {
					a.Close()
				}
			}()
			h, rest, err := ReadHeader(b, 200*time.Millisecond)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			// The rest may arrive in a later read: drain through a Conn.
			pc := NewConn(b, h, rest)
			got := make([]byte, len(tc.rest))
			if _, err := ioReadFull(pc, got); err != nil || string(got) != tc.rest {
				t.Errorf("stream after header = %q, %v; want %q", got, err, tc.rest)
			}
			if AddrPort(pc.RemoteAddr()) != h.Src && !h.Local {
				t.Errorf("RemoteAddr = %v, want %v", pc.RemoteAddr(), h.Src)
			}
		})
	}
}

func ioReadFull(c net.Conn, p []byte) (int, error) {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n := 0
	for n < len(p) {
		m, err := c.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func BenchmarkAppendV2(b *testing.B) {
	buf := make([]byte, 0, 256)
	o := &Options{Authority: true, AuthorityValue: "api.example.com", SSL: true}
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendV2(buf[:0], src4, dst4, o)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"))
	f.Add(AppendV2(nil, src6, dst6, &Options{SSL: true, Authority: true, AuthorityValue: "a"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err == nil && (n > len(b) || h == nil) {
			t.Fatalf("n = %d for %d bytes", n, len(b))
		}
	})
}
