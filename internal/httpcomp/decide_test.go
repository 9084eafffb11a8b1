package httpcomp

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func TestCompress(t *testing.T) {
	base := func() Response {
		return Response{ClientHTTP11: true, ServerHTTP11: true, Status: 200, KnownLength: true,
			Header: httpmsg.Headers{{Name: "Content-Type", Value: "text/html; charset=utf-8"}}}
	}
	html := []string{"text/html"}
	cases := []struct {
		name  string
		edit  func(r *Response)
		types []string
		want  bool
	}{
		{"plain", func(*Response) {}, nil, true},
		{"type listed", func(*Response) {}, html, true},
		{"type prefix any case", func(r *Response) { r.Header[0].Value = "TEXT/HTMLX" }, html, true},
		{"type not listed", func(r *Response) { r.Header[0].Value = "image/png" }, html, false},
		{"no type with list", func(r *Response) { r.Header = nil }, html, false},
		{"no type without list", func(r *Response) { r.Header = nil }, nil, true},
		{"multipart", func(r *Response) { r.Header[0].Value = "multipart/byteranges" }, nil, false},
		{"second content-type ignored", func(r *Response) { r.Header.Add("Content-Type", "image/png") }, html, true},
		{"201", func(r *Response) { r.Status = 201 }, nil, true},
		{"203", func(r *Response) { r.Status = 203 }, nil, true},
		{"204", func(r *Response) { r.Status = 204 }, nil, false},
		{"206", func(r *Response) { r.Status = 206 }, nil, false},
		{"304", func(r *Response) { r.Status = 304 }, nil, false},
		{"404", func(r *Response) { r.Status = 404 }, nil, false},
		{"HEAD", func(r *Response) { r.Head = true }, nil, false},
		{"HTTP/1.0 client", func(r *Response) { r.ClientHTTP11 = false }, nil, false},
		{"HTTP/1.0 server", func(r *Response) { r.ServerHTTP11 = false }, nil, false},
		{"until close", func(r *Response) { r.KnownLength = false }, nil, false},
		{"bodyless", func(r *Response) { r.Bodyless = true }, nil, false},
		{"encoded", func(r *Response) { r.Header.Add("content-encoding", "br") }, nil, false},
		{"encoded identity", func(r *Response) { r.Header.Add("Content-Encoding", "") }, nil, false},
		{"no-transform", func(r *Response) { r.Header.Add("Cache-Control", "public, No-Transform") }, nil, false},
		{"no-transform second header", func(r *Response) {
			r.Header.Add("Cache-Control", "max-age=1")
			r.Header.Add("Cache-Control", "no-transform")
		}, nil, false},
		{"no-transform=x is not it", func(r *Response) { r.Header.Add("Cache-Control", "no-transform=1") }, nil, true},
		{"strong etag", func(r *Response) { r.Header.Add("ETag", `"abc"`) }, nil, true},
		{"weak etag", func(r *Response) { r.Header.Add("ETag", `W/"abc"`) }, nil, true},
		{"bad etag", func(r *Response) { r.Header.Add("ETag", `abc`) }, nil, false},
		{"two etags", func(r *Response) { r.Header.Add("ETag", `"a"`); r.Header.Add("ETag", `"b"`) }, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := base()
			c.edit(&r)
			if got := Compress(&r, c.types); got != c.want {
				t.Fatalf("Compress = %v, want %v (%+v)", got, c.want, r)
			}
		})
	}
}

func TestPrepareHead(t *testing.T) {
	h := httpmsg.Headers{{Name: "Content-Length", Value: "10"}, {Name: "ETag", Value: ` "x" `},
		{Name: "Vary", Value: "Origin"}, {Name: "Content-Type", Value: "text/plain"}}
	PrepareHead(&h, RawDeflate)
	want := httpmsg.Headers{{Name: "ETag", Value: `W/"x"`}, {Name: "Vary", Value: "Origin"},
		{Name: "Content-Type", Value: "text/plain"}, {Name: "Vary", Value: "Accept-Encoding"}, {Name: "Content-Encoding", Value: "deflate"}}
	if !equalHeaders(h, want) {
		t.Fatalf("got %v\nwant %v", h, want)
	}
	h = httpmsg.Headers{{Name: "etag", Value: `W/"x"`}}
	PrepareHead(&h, Identity)
	want = httpmsg.Headers{{Name: "etag", Value: `W/"x"`}, {Name: "Vary", Value: "Accept-Encoding"}}
	if !equalHeaders(h, want) {
		t.Fatalf("identity: got %v", h)
	}
}

func equalHeaders(a, b httpmsg.Headers) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// decode reads a whole compressed stream with the standard library.
func decode(t *testing.T, a Algo, p []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch a {
	case Gzip:
		r, err = gzip.NewReader(bytes.NewReader(p))
	case Deflate:
		r, err = zlib.NewReader(bytes.NewReader(p))
	case RawDeflate:
		r = flate.NewReader(bytes.NewReader(p))
	default:
		return p
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%v: %v", a, err)
	}
	return out
}

// pieces is a source that returns its parts one Read at a time and says
// it would block after each: a server sending events.
type pieces struct {
	parts  [][]byte
	onRead func(i int)
	i      int
}

func (p *pieces) Read(b []byte) (int, error) {
	if p.i == len(p.parts) {
		return 0, io.EOF
	}
	if p.onRead != nil {
		p.onRead(p.i)
	}
	n := copy(b, p.parts[p.i])
	p.i++
	return n, nil
}

func TestStreamRoundTripAndFlush(t *testing.T) {
	text := []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 2000))
	for _, a := range []Algo{Gzip, Deflate, RawDeflate, Identity} {
		t.Run(a.String(), func(t *testing.T) {
			src := &pieces{parts: [][]byte{text[:10], text[10:40000], text[40000:]}}
			var wire bytes.Buffer
			flushes := 0
			// After each piece and its flush, what is on the wire decodes
			// to everything sent so far: nothing waits for more input.
			src.onRead = func(i int) {
				if i == 0 || a == Identity {
					return
				}
				want := 0
				for _, p := range src.parts[:i] {
					want += len(p)
				}
				got := decodePrefix(a, wire.Bytes())
				if got != want {
					t.Errorf("before piece %d: %d bytes decodable on the wire, want %d", i, got, want)
				}
			}
			enc := NewEncoder(a, DefaultLevel)
			defer enc.Release()
			in, out, rerr, werr := enc.Stream(src, make([]byte, 64<<10),
				func(p []byte) error { wire.Write(p); return nil },
				func() error { flushes++; return nil }, func() bool { return true })
			if rerr != nil || werr != nil {
				t.Fatal(rerr, werr)
			}
			if in != int64(len(text)) || out != int64(wire.Len()) {
				t.Fatalf("in %d out %d wire %d", in, out, wire.Len())
			}
			if flushes != 3 {
				t.Fatalf("%d flushes, want one per piece", flushes)
			}
			if got := decode(t, a, wire.Bytes()); !bytes.Equal(got, text) {
				t.Fatalf("decoded %d bytes, want %d", len(got), len(text))
			}
			if a != Identity && wire.Len() > len(text)/4 {
				t.Fatalf("%d bytes compressed to %d", len(text), wire.Len())
			}
		})
	}
}

// decodePrefix counts the bytes a truncated stream decodes to.
func decodePrefix(a Algo, p []byte) int {
	var r io.Reader
	switch a {
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(p))
		if err != nil {
			return 0
		}
		r = zr
	case Deflate:
		zr, err := zlib.NewReader(bytes.NewReader(p))
		if err != nil {
			return 0
		}
		r = zr
	default:
		r = flate.NewReader(bytes.NewReader(p))
	}
	n, _ := io.Copy(io.Discard, r)
	return int(n)
}

func TestStreamErrors(t *testing.T) {
	boom := errors.New("boom")
	enc := NewEncoder(Gzip, 1)
	defer enc.Release()
	_, _, rerr, werr := enc.Stream(io.MultiReader(strings.NewReader("abc"), errReader{boom}), make([]byte, 8),
		func([]byte) error { return nil }, nil, nil)
	if rerr != boom || werr != nil {
		t.Fatalf("source failure: rerr %v werr %v", rerr, werr)
	}
	enc2 := NewEncoder(Gzip, 1)
	defer enc2.Release()
	_, _, rerr, werr = enc2.Stream(strings.NewReader("abc"), make([]byte, 8),
		func([]byte) error { return boom }, nil, nil)
	if rerr != nil || werr != boom {
		t.Fatalf("destination failure: rerr %v werr %v", rerr, werr)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// A pooled encoder starts a fresh stream: nothing of the last body leaks.
func TestEncoderReuse(t *testing.T) {
	for i := range 3 {
		enc := NewEncoder(Gzip, 1)
		var wire bytes.Buffer
		body := strings.Repeat(string(rune('a'+i)), 1000)
		if _, _, r, w := enc.Stream(strings.NewReader(body), make([]byte, 512), func(p []byte) error { wire.Write(p); return nil }, nil, nil); r != nil || w != nil {
			t.Fatal(r, w)
		}
		enc.Release()
		if got := decode(t, Gzip, wire.Bytes()); string(got) != body {
			t.Fatalf("round %d decoded %q...", i, got[:min(10, len(got))])
		}
	}
}
