package acl

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

func benchCond(tb testing.TB, terms string) *Cond {
	tb.Helper()
	s, err := NewSet([]*config.ACL{
		{Name: "is_api", Args: []string{"path_beg", "/api/"}},
		{Name: "host", Args: []string{"hdr(host)", "-i", "www.example.com:8080"}},
		{Name: "nets", Args: []string{"src", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "2001:db8::/32"}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := s.Cond(&config.Cond{Terms: strings.Fields(terms)})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

var allocCases = []struct{ name, cond string }{
	{"hdr", "host"},
	{"path_beg", "is_api"},
	{"src_cidr", "nets"},
	{"and_or_not", "!METH_POST is_api || host"},
	{"xff_all_occurrences", "{ hdr_ip(x-forwarded-for) 10.0.0.3 }"},
	{"converters", "{ hdr(host),lower,field(1,:) -m end .example.com }"},
	{"str_map_icase", "{ hdr(host) -i a b c d e f g h i j www.example.com:8080 }"},
	{"cookie", "{ req.cook(session) def }"},
	{"base", "{ base_beg -i www.example.com:8080/api }"},
	{"claims", "{ oidc_claim(groups) devs }"},
}

var appendCases = []string{
	"path", "hdr(host)", "req.hdr(x-forwarded-for,1)", "hdr(host),lower,field(1,:)", "src", "base",
	"req.cook(session)", "url_param(id)", "str(helloworld.example)", "oidc_claim(groups)", "path,length", "str(abc),base64,hex",
}

// TestNoAllocs pins the zero-allocation promise of the hot paths.
func TestNoAllocs(t *testing.T) {
	tx := testTxn()
	for _, tc := range allocCases {
		c := benchCond(t, tc.cond)
		c.Match(tx)
		if n := testing.AllocsPerRun(100, func() { c.Match(tx) }); n != 0 {
			t.Errorf("Match(%s) allocates %.1f times", tc.name, n)
		}
	}
	buf := make([]byte, 0, 256)
	for _, src := range appendCases {
		e := mustExpr(t, src)
		if n := testing.AllocsPerRun(100, func() { buf, _ = e.AppendString(buf[:0], tx) }); n != 0 {
			t.Errorf("AppendString(%s) allocates %.1f times", src, n)
		}
	}
	hello := &Txn{Payload: clientHelloBytes(t, &tls.Config{ServerName: "www.example.com"})}
	split := &Txn{Payload: refragment(t, hello.Payload, 100)}
	e := mustExpr(t, "req.ssl_sni")
	for _, h := range []*Txn{hello, split} {
		e.AppendString(buf[:0], h)
		if n := testing.AllocsPerRun(100, func() { buf, _ = e.AppendString(buf[:0], h) }); n != 0 {
			t.Errorf("req.ssl_sni allocates %.1f times", n)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	tx := testTxn()
	for _, tc := range allocCases {
		c := benchCond(b, tc.cond)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Match(tx)
			}
		})
	}
}

func BenchmarkAppendString(b *testing.B) {
	tx := testTxn()
	buf := make([]byte, 0, 256)
	for _, src := range appendCases {
		e := mustExpr(b, src)
		b.Run(src, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = e.AppendString(buf[:0], tx)
			}
		})
	}
}

func BenchmarkReqSSLSNI(b *testing.B) {
	p := clientHelloBytes(b, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2", "http/1.1"}})
	e := mustExpr(b, "req.ssl_sni")
	buf := make([]byte, 0, 64)
	for _, tc := range []struct {
		name string
		p    []byte
	}{{"one_record", p}, {"split_100", refragment(b, p, 100)}} {
		tx := &Txn{Payload: tc.p}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = e.AppendString(buf[:0], tx)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s, _ := NewSet([]*config.ACL{{Name: "a", Args: []string{"hdr_beg(host)", "-i", "www."}}})
		s.Cond(&config.Cond{Terms: []string{"a", "||", "{", "path_beg", "/api", "}"}})
	}
}
