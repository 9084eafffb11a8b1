package httpcomp

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func benchText() []byte {
	var b strings.Builder
	for i := 1; b.Len() < 64<<10; i++ {
		fmt.Fprintf(&b, "<tr><td class=\"id\">%d</td><td>item-%08x</td><td>%d.%02d</td></tr>\n", i, (uint64(i)*2654435761)%4294967296, i%97, (i*13)%100)
	}
	return []byte(b.String()[:64<<10])
}

// BenchmarkStream: a 64 KiB page through a pooled encoder, read 16 KiB at
// a time, flushed at every read (a stream) or only at its end (a body
// that arrives faster than it is sent).
func BenchmarkStream(b *testing.B) {
	page := benchText()
	for _, a := range []Algo{Gzip, RawDeflate} {
		for _, flushEach := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/flush-each-read=%v", a, flushEach), func(b *testing.B) {
				buf := make([]byte, 16<<10)
				var wb func() bool
				if flushEach {
					wb = func() bool { return true }
				} else {
					wb = func() bool { return false }
				}
				var out int64
				b.SetBytes(int64(len(page)))
				b.ReportAllocs()
				for range b.N {
					enc := NewEncoder(a, DefaultLevel)
					_, n, _, _ := enc.Stream(bytes.NewReader(page), buf, func([]byte) error { return nil }, nil, wb)
					enc.Release()
					out = n
				}
				b.ReportMetric(float64(out)/float64(len(page)), "ratio")
			})
		}
	}
}
