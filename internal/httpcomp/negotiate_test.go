package httpcomp

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Every name the configuration accepts is one httpcomp knows.
func TestAlgoNames(t *testing.T) {
	if !slices.Equal(config.CompressionAlgos, Names()) {
		t.Fatalf("config accepts %v, httpcomp knows %v", config.CompressionAlgos, Names())
	}
	for _, n := range config.CompressionAlgos {
		if a, ok := ParseAlgo(n); !ok || a.String() != n {
			t.Errorf("ParseAlgo(%q) = %v, %v", n, a, ok)
		}
	}
	if RawDeflate.Token() != "deflate" || Gzip.Token() != "gzip" {
		t.Error("raw-deflate must announce deflate")
	}
}

func TestNegotiate(t *testing.T) {
	gz := []Algo{Gzip}
	both := []Algo{Deflate, Gzip} // "compression algo gzip deflate"
	withID := []Algo{Gzip, Identity}
	cases := []struct {
		name    string
		ae      []string
		ua      string
		algos   []Algo
		want    Algo
		matched bool
	}{
		{"none", nil, "", gz, None, false},
		{"gzip", []string{"gzip"}, "", gz, Gzip, true},
		{"case", []string{"GZip"}, "", gz, Gzip, true},
		{"list", []string{"br, gzip, deflate"}, "", gz, Gzip, true},
		{"q0 refuses", []string{"gzip;q=0"}, "", gz, None, false},
		{"q0.000 refuses", []string{"gzip; q=0.000"}, "", gz, None, false},
		{"q with spaces", []string{"gzip ; q=0"}, "", gz, None, false},
		{"other param first", []string{"gzip;level=1;q=0"}, "", gz, None, false},
		{"upper Q is no q", []string{"gzip;Q=0"}, "", gz, Gzip, true},
		{"q without digits is 1", []string{"gzip;q=x"}, "", gz, Gzip, true},
		{"best q wins", []string{"gzip;q=0.5, deflate;q=0.8"}, "", both, Deflate, true},
		{"first of equal q", []string{"gzip, deflate"}, "", both, Gzip, true},
		{"first of equal q reversed", []string{"deflate, gzip"}, "", both, Deflate, true},
		{"q beyond 1 is 1", []string{"gzip;q=0.9, deflate;q=5"}, "", both, Deflate, true},
		{"q 3 decimals", []string{"gzip;q=0.001, deflate;q=0.0009"}, "", both, Gzip, true},
		{"star takes first algo", []string{"*"}, "", both, Deflate, true},
		{"star q0", []string{"*;q=0"}, "", both, None, false},
		{"two headers", []string{"br", "gzip"}, "", gz, Gzip, true},
		{"quoted comma", []string{`x;p="a,gzip", br`}, "", gz, None, false},
		{"empty elements", []string{",, gzip ,"}, "", gz, Gzip, true},
		{"token prefix is not the token", []string{"gzipx"}, "", gz, None, false},
		{"raw-deflate answers deflate", []string{"deflate"}, "", []Algo{RawDeflate}, RawDeflate, true},
		{"identity implicit", []string{"br"}, "", withID, Identity, false},
		{"identity implicit without header", nil, "", withID, Identity, false},
		{"identity asked", []string{"identity"}, "", withID, Identity, true},
		{"gzip before identity", []string{"gzip"}, "", withID, Gzip, true},
		{"old mozilla", []string{"gzip"}, "Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)", gz, None, false},
		{"old mozilla no identity", []string{"gzip"}, "Mozilla/4.0", withID, None, false},
		{"msie 6 sp2", []string{"gzip"}, "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", gz, Gzip, true},
		{"msie 6 no sp2", []string{"gzip"}, "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", gz, None, false},
		{"msie 7", []string{"gzip"}, "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", gz, Gzip, true},
		{"mozilla 5", []string{"gzip"}, "Mozilla/5.0 (X11; Linux x86_64)", gz, Gzip, true},
		{"no algos", []string{"gzip"}, "", nil, None, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h httpmsg.Headers
			if c.ua != "" {
				h.Add("User-Agent", c.ua)
			}
			for _, v := range c.ae {
				h.Add("Accept-Encoding", v)
			}
			got, matched := Negotiate(h, c.algos)
			if got != c.want || matched != c.matched {
				t.Fatalf("Negotiate(%q) = %v, %v; want %v, %v", c.ae, got, matched, c.want, c.matched)
			}
		})
	}
}

func TestParseQ(t *testing.T) {
	for in, want := range map[string]int{"1": 1000, "0": 0, "0.5": 500, "0.25": 250, "0.125": 125, "0.1234": 123,
		"1.000": 1000, "2": 1000, "0.": 0, "x": 1000, "": 1000, "0x": 0, ".5": 1000} {
		if got := parseQ(in); got != want {
			t.Errorf("parseQ(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestCombine(t *testing.T) {
	fe := &Settings{Algos: []Algo{Gzip}, Types: []string{"text/"}, Offload: true}
	be := &Settings{Algos: []Algo{Deflate}}
	p := Combine(fe, be)
	if !slices.Equal(p.Algos, []Algo{Deflate}) || !slices.Equal(p.Types, []string{"text/"}) || !p.Offload {
		t.Fatalf("backend's algos, frontend's types and offload expected: %+v", p)
	}
	p = Combine(nil, &Settings{Types: []string{"a/b"}})
	if p.Algos != nil || p.Offload {
		t.Fatalf("%+v", p)
	}
}

// FuzzNegotiate: any Accept-Encoding and User-Agent is parsed without a
// panic, and the choice is one of the configured algorithms, refused by
// an explicit q=0 for every token.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "deflate;q=0.5, gzip;q=0.9", "*", `a;b="c,d";q=1`, ";;q=", "gzip;q", ",,,", "\t gzip \t;\tq=1.000"} {
		f.Add(s, "Mozilla/5.0")
	}
	f.Add("gzip", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)")
	f.Fuzz(func(t *testing.T, ae, ua string) {
		algos := []Algo{Identity, RawDeflate, Gzip}
		h := httpmsg.Headers{{Name: "Accept-Encoding", Value: ae}, {Name: "User-Agent", Value: ua}}
		got, matched := Negotiate(h, algos)
		if got != None && !slices.Contains(algos, got) {
			t.Fatalf("chose %v, not configured", got)
		}
		if matched && got == None {
			t.Fatal("matched without an algorithm")
		}
		for v := range elements(ae) {
			if q := qvalue(v[tokenLen(v):]); q < 0 || q > 1000 {
				t.Fatalf("q-value %d out of range in %q", q, v)
			}
		}
	})
}
