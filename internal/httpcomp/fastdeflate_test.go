package httpcomp

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// decodeWith reads a whole stream of algo with the standard library's
// decoders, which check the gzip CRC and length and the zlib Adler-32.
func decodeWith(t testing.TB, algo Algo, z []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch algo {
	case Gzip:
		r, err = gzip.NewReader(bytes.NewReader(z))
	case Deflate:
		r, err = zlib.NewReader(bytes.NewReader(z))
	default:
		r = flate.NewReader(bytes.NewReader(z))
	}
	if err != nil {
		t.Fatalf("%v header: %v", algo, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%v stream: %v", algo, err)
	}
	return out
}

func fastRoundTrip(t testing.TB, algo Algo, chunks [][]byte, flushEach bool) []byte {
	t.Helper()
	var z bytes.Buffer
	e := newFastDeflate(&z, algo)
	var want []byte
	for _, c := range chunks {
		if _, err := e.Write(c); err != nil {
			t.Fatal(err)
		}
		want = append(want, c...)
		if flushEach {
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if got := decodeWith(t, algo, z.Bytes()); !bytes.Equal(got, want) {
		t.Fatalf("%v: round trip of %d bytes gave %d bytes, different", algo, len(want), len(got))
	}
	return z.Bytes()
}

func testInputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 100_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var html strings.Builder
	for i := range 3000 {
		html.WriteString("<tr><td class=\"id\">")
		html.WriteString(strings.Repeat("x", i%17))
		html.WriteString("</td><td>item</td></tr>\n")
	}
	lowEntropy := make([]byte, 70_000)
	for i := range lowEntropy {
		lowEntropy[i] = "ab"[rng.IntN(2)]
	}
	return map[string][]byte{
		"empty":       {},
		"one byte":    {'x'},
		"three bytes": []byte("abc"),
		"zeros":       make([]byte, 200_000), // matches of 258 at distance 1
		"random":      random,
		"html":        []byte(html.String()),
		"two letters": lowEntropy,
		"far repeat":  append(append(bytes.Clone(random[:33_000]), random[:1000]...), random[:40_000]...), // beyond the 32 KiB window
	}
}

func TestFastDeflateRoundTrip(t *testing.T) {
	for name, in := range testInputs() {
		for _, algo := range []Algo{Gzip, Deflate, RawDeflate} {
			fastRoundTrip(t, algo, [][]byte{in}, false)
			// The same data in uneven writes, each flushed.
			var chunks [][]byte
			for rest, n := in, 1; len(rest) > 0; n = n*3 + 7 {
				k := min(n, len(rest))
				chunks = append(chunks, rest[:k])
				rest = rest[k:]
			}
			fastRoundTrip(t, algo, chunks, true)
			_ = name
		}
	}
}

// A sync flush makes everything written so far decodable before the
// stream ends: what a streamed response relies on.
func TestFastDeflateFlushIsDecodable(t *testing.T) {
	var z bytes.Buffer
	e := newFastDeflate(&z, RawDeflate)
	r := flate.NewReader(&z)
	for i, part := range []string{"first part, first part, first part\n", "second\n", strings.Repeat("third ", 100)} {
		if _, err := e.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
		if err := e.Flush(); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(part))
		if _, err := io.ReadFull(r, got); err != nil || string(got) != part {
			t.Fatalf("part %d after its flush: %q, %v", i, got, err)
		}
	}
}

// A pooled encoder is Reset for the next response: nothing of the last
// stream (its hash table above all) may leak into the next.
func TestFastDeflateReset(t *testing.T) {
	in := testInputs()
	var z bytes.Buffer
	e := newFastDeflate(&z, Gzip)
	for _, name := range []string{"html", "random", "zeros", "html", "two letters"} {
		z.Reset()
		e.Reset(&z)
		if _, err := e.Write(in[name]); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if got := decodeWith(t, Gzip, z.Bytes()); !bytes.Equal(got, in[name]) {
			t.Fatalf("%s after a reset: round trip differs", name)
		}
	}
}

// It compresses what it is for: text far below its size.
func TestFastDeflateCompresses(t *testing.T) {
	html := testInputs()["html"]
	z := fastRoundTrip(t, Gzip, [][]byte{html}, false)
	if len(z)*4 > len(html) {
		t.Fatalf("%d bytes of HTML became %d: expected at most a quarter", len(html), len(z))
	}
}

func FuzzFastDeflate(f *testing.F) {
	f.Add([]byte("hello hello hello"), uint8(3))
	f.Add(make([]byte, 600), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		k := int(split) % (len(in) + 1)
		for _, algo := range []Algo{Gzip, Deflate, RawDeflate} {
			fastRoundTrip(t, algo, [][]byte{in[:k], in[k:]}, split%2 == 0)
		}
	})
}

func BenchmarkFastDeflateHTML(b *testing.B) {
	html := testInputs()["html"][:65536]
	e := newFastDeflate(io.Discard, Gzip)
	b.SetBytes(int64(len(html)))
	for b.Loop() {
		e.Reset(io.Discard)
		e.Write(html)
		e.Close()
	}
}

func BenchmarkKlauspostLevel1HTML(b *testing.B) {
	html := testInputs()["html"][:65536]
	e := &Encoder{algo: Gzip, level: 1}
	e.c, _ = kgzip.NewWriterLevel(io.Discard, 1)
	b.SetBytes(int64(len(html)))
	for b.Loop() {
		e.c.Reset(io.Discard)
		e.c.Write(html)
		e.c.Close()
	}
}
