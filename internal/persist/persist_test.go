package persist

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func TestXXH64(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
	}{
		{"", 0xef46db3751d8e999},
		{"a", 0xd24ec4f1a98c6e5b},
		{"abc", 0x44bc2cf5ad770999},
		{"Nobody inspects the spammish repetition", 0xfbcea83c8a378bf1},
		{"The quick brown fox jumps over the lazy dog", 0x0b242d361fda71bc},
	} {
		if got := xxh64([]byte(c.in), 0); got != c.want {
			t.Errorf("xxh64(%q) = %016x, want %016x", c.in, got, c.want)
		}
	}
}

func TestDynamicValueIsKeyAddrPort(t *testing.T) {
	a := DynamicValue("secret", netip.MustParseAddrPort("127.0.0.1:8080"))
	if len(a) != 16 {
		t.Fatalf("value %q: want 16 hex digits", a)
	}
	// key || 127.0.0.1 || 00 00 1f 90
	want := []byte("secret\x7f\x00\x00\x01\x00\x00\x1f\x90")
	if h := xxh64(want, 0); a != sprintf16(h) {
		t.Errorf("DynamicValue = %s, want %016x", a, h)
	}
	if b := DynamicValue("secret", netip.MustParseAddrPort("127.0.0.1:8081")); b == a {
		t.Errorf("another port gives the same value %s", b)
	}
	if DynamicValue("secret", netip.AddrPort{}) != "" {
		t.Errorf("no address should give no value")
	}
}

func sprintf16(h uint64) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i] = hex[h&15]
		h >>= 4
	}
	return string(b)
}

func TestB64Dates(t *testing.T) {
	var d [5]byte
	for _, v := range []int32{1, 63, 64, 450000000, 1<<30 - 1} {
		if got := b64ToS30(s30ToB64(&d, v)); got != v {
			t.Errorf("round trip of %d gave %d (%s)", v, got, d[:])
		}
	}
	for _, bad := range []string{"AAAA=", "AA|AA", "AAAA\x00", "AAAA-"} {
		if got := b64ToS30([]byte(bad)); got != -1 {
			t.Errorf("b64ToS30(%q) = %d, want -1", bad, got)
		}
	}
}

// servers is a test farm: value -> up.
type servers map[string]bool

func (s servers) choose(persist bool) func(string) Choice {
	return func(v string) Choice {
		up, ok := s[v]
		switch {
		case !ok:
			return NoServer
		case up:
			return ChoseUp
		case persist:
			return ChoseDown
		}
		return ServerDown
	}
}

func TestRequestCookies(t *testing.T) {
	farm := servers{"s1": true, "s2": false}
	ins := &config.Cookie{Name: "SRV", Mode: "insert", Indirect: true}
	pfx := &config.Cookie{Name: "JSESSIONID", Mode: "prefix"}
	plain := &config.Cookie{Name: "SRV", Mode: "insert"}
	for _, c := range []struct {
		name    string
		cfg     *config.Cookie
		in      []string // Cookie header values
		out     []string // what the server gets
		flag    byte
		direct  bool
		persist bool
		ignore  bool
	}{
		{"none", ins, nil, nil, 0, false, false, false},
		{"other cookies only", ins, []string{"a=b; c=d"}, []string{"a=b; c=d"}, 0, false, false, false},
		{"valid alone goes", ins, []string{"SRV=s1"}, nil, ReqValid, true, false, false},
		{"valid first", ins, []string{"SRV=s1; a=b"}, []string{"a=b"}, ReqValid, true, false, false},
		{"valid middle", ins, []string{"a=b; SRV=s1; c=d"}, []string{"a=b; c=d"}, ReqValid, true, false, false},
		{"valid last", ins, []string{"a=b;SRV=s1"}, []string{"a=b"}, ReqValid, true, false, false},
		{"with attributes", ins, []string{"SRV=s1; $Path=/; a=b"}, []string{"a=b"}, ReqValid, true, false, false},
		{"blanks around equal", ins, []string{"a = b ;  SRV =  s1"}, []string{"a=b "}, ReqValid, true, false, false},
		{"kept without indirect", plain, []string{"a=b; SRV=s1"}, []string{"a=b; SRV=s1"}, ReqValid, true, false, false},
		{"invalid", ins, []string{"SRV=zz"}, nil, ReqInvalid, false, false, false},
		{"empty names nothing", ins, []string{"SRV="}, nil, ReqInvalid, false, false, false},
		{"down", ins, []string{"SRV=s2"}, nil, ReqDown, false, false, false},
		{"down with persist", ins, []string{"SRV=s2"}, nil, ReqDown, true, true, false},
		{"ignored", ins, []string{"SRV=s1"}, nil, ReqUnused, false, false, true},
		{"prefix stripped", pfx, []string{"JSESSIONID=s1~abc; x=y"}, []string{"JSESSIONID=abc; x=y"}, ReqValid, true, false, false},
		{"prefix without server", pfx, []string{"JSESSIONID=abc"}, []string{"JSESSIONID=abc"}, ReqInvalid, false, false, false},
		{"quoted value", ins, []string{`a="x;y"; SRV=s1`}, []string{`a="x;y"`}, ReqValid, true, false, false},
		{"comma delimiter", ins, []string{"SRV=s1, a=b"}, []string{"a=b"}, ReqValid, true, false, false},
		{"no-equal cookie kept", ins, []string{"SRV=s1; flag; a=b"}, []string{"flag; a=b"}, ReqValid, true, false, false},
		{"second header", ins, []string{"a=b", "SRV=s1"}, []string{"a=b"}, ReqValid, true, false, false},
		{"second cookie keeps first verdict", ins, []string{"SRV=s1; SRV=zz"}, nil, ReqValid, true, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := New(c.cfg)
			var h httpmsg.Headers
			h.Add("Host", "x")
			for _, v := range c.in {
				h.Add("Cookie", v)
			}
			st := State{Ignore: c.ignore}
			k.Request(&h, &st, time.Now().Unix(), farm.choose(c.persist))
			got := h.Values(nil, "Cookie")
			if len(got) != len(c.out) {
				t.Fatalf("cookies %q, want %q", got, c.out)
			}
			for i := range got {
				if got[i] != c.out[i] {
					t.Fatalf("cookies %q, want %q", got, c.out)
				}
			}
			if st.Req != c.flag || st.Direct != c.direct {
				t.Errorf("flag %q direct %v, want %q %v", st.Req, st.Direct, c.flag, c.direct)
			}
		})
	}
}
