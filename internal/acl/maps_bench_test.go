package acl

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/maps"
)

// benchMap writes a 10k-entry map: host names for str and dom, paths of
// varied lengths for beg.
func benchMap(b *testing.B, kind string) string {
	var sb strings.Builder
	for i := 0; i < 10000; i++ {
		switch kind {
		case "beg":
			fmt.Fprintf(&sb, "/api/v%d/%s/ be%d\n", i%7, strings.Repeat("s", i%40)+fmt.Sprint(i), i)
		default:
			fmt.Fprintf(&sb, "host%d.example%d.com be%d\n", i, i%13, i)
		}
	}
	return writeFile(b, b.TempDir(), kind+".map", sb.String())
}

func benchLookup(b *testing.B, conv, kind, in, want string) {
	f := benchMap(b, kind)
	e, err := CompileExprMaps("req.hdr(x-in),"+conv+"("+f+",none)", testPos, maps.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	tx := inTxn(in)
	buf := make([]byte, 0, 256)
	if out, _ := e.AppendString(buf, tx); string(out) != want {
		b.Fatalf("%s(%s) = %q, want %q", conv, in, out, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf, _ = e.AppendString(buf[:0], tx)
	}
}

func BenchmarkMapStr10k(b *testing.B) {
	benchLookup(b, "map_str", "str", "host7777.example3.com", "be7777")
}

func BenchmarkMapDom10k(b *testing.B) {
	benchLookup(b, "map_dom", "dom", "a.b.host7777.example3.com", "be7777")
}

func BenchmarkMapDomMiss10k(b *testing.B) {
	benchLookup(b, "map_dom", "dom", "www.unknown.example.org", "none")
}

func BenchmarkMapBeg10k(b *testing.B) {
	benchLookup(b, "map_beg", "beg", "/api/v1/"+strings.Repeat("s", 35)+"7715/users/42", "be7715")
}

// BenchmarkMapStrParallel: lookups from every core while nothing writes.
func BenchmarkMapStrParallel(b *testing.B) {
	f := benchMap(b, "str")
	e, err := CompileExprMaps("req.hdr(x-in),map_str("+f+",none)", testPos, maps.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		tx := inTxn("host7777.example3.com")
		buf := make([]byte, 0, 256)
		for pb.Next() {
			buf, _ = e.AppendString(buf[:0], tx)
		}
	})
}
