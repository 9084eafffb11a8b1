package http1

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// recWriter records each Write call so tests can see flush boundaries.
type recWriter struct {
	writes []string
	failAt int // fail the nth write (1-based); 0 never
}

var errPeerGone = errors.New("peer gone")

func (w *recWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	if w.failAt > 0 && len(w.writes) >= w.failAt {
		return 0, errPeerGone
	}
	return len(p), nil
}

func (w *recWriter) all() string { return strings.Join(w.writes, "") }

func TestCopyBody(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 3000) // 48000 bytes, several buffers
	tests := []struct {
		name string
		f    Framing
		opt  CopyOptions
		in   string
		out  string
		n    int64
	}{
		{"length", Framing{BodyLength, 5}, CopyOptions{}, "helloEXTRA", "hello", 5},
		{"length big", Framing{BodyLength, int64(len(big))}, CopyOptions{}, big, big, int64(len(big))},
		{"chunked resized kept", Framing{Kind: BodyChunked}, CopyOptions{}, "5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n", "5\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n", 6},
		{"chunked big", Framing{Kind: BodyChunked}, CopyOptions{}, "bb80\r\n" + big + "\r\n0\r\n\r\n", "bb80\r\n" + big + "\r\n0\r\n\r\n", int64(len(big))},
		{"close raw", Framing{Kind: BodyClose}, CopyOptions{}, "all of it", "all of it", 9},
		{"close rechunked", Framing{Kind: BodyClose}, CopyOptions{Chunk: true}, "all of it", "9\r\nall of it\r\n0\r\n\r\n", 9},
		{"none", Framing{}, CopyOptions{}, "ignored", "", 0},
	}
	for _, tt := range tests {
		for name, src := range map[string]func(string) io.Reader{"whole": whole, "bytewise": bytewise} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				r := NewReader(src(tt.in), Limits{})
				var out bytes.Buffer
				w := NewWriter(&out, 0)
				n, rerr, werr := r.CopyBody(w, tt.f, tt.opt)
				if rerr != nil || werr != nil {
					t.Fatalf("read %v write %v", rerr, werr)
				}
				w.Flush()
				got, want := out.String(), tt.out
				if tt.opt.Chunk { // chunk sizes follow the reads: compare payloads
					got, want = dechunk(t, got), dechunk(t, want)
				}
				if n != tt.n || got != want {
					t.Fatalf("n=%d out=%.80q", n, out.String())
				}
			})
		}
	}
}

func TestCopyBodyErrorSides(t *testing.T) {
	t.Run("source truncated", func(t *testing.T) {
		r := NewReader(strings.NewReader("abc"), Limits{})
		w := NewWriter(io.Discard, 0)
		n, rerr, werr := r.CopyBody(w, Framing{BodyLength, 10}, CopyOptions{})
		if rerr != io.ErrUnexpectedEOF || werr != nil || n != 3 {
			t.Fatalf("n=%d read=%v write=%v", n, rerr, werr)
		}
	})
	t.Run("bad chunk framing", func(t *testing.T) {
		r := NewReader(strings.NewReader("5\nhello\r\n0\r\n\r\n"), Limits{})
		_, rerr, werr := r.CopyBody(NewWriter(io.Discard, 0), Framing{Kind: BodyChunked}, CopyOptions{})
		if errStatus(rerr) != 400 || werr != nil {
			t.Fatalf("read=%v write=%v", rerr, werr)
		}
	})
	t.Run("destination gone", func(t *testing.T) {
		big := strings.Repeat("x", 100000)
		r := NewReader(strings.NewReader(big), Limits{})
		w := NewWriter(&recWriter{failAt: 1}, 0)
		_, rerr, werr := r.CopyBody(w, Framing{BodyLength, int64(len(big))}, CopyOptions{})
		if rerr != nil || werr != errPeerGone {
			t.Fatalf("read=%v write=%v", rerr, werr)
		}
	})
	t.Run("destination gone while flushing", func(t *testing.T) {
		r := NewReader(&oneByte{"abcdef"}, Limits{})
		w := NewWriter(&recWriter{failAt: 1}, 0)
		_, rerr, werr := r.CopyBody(w, Framing{BodyLength, 6}, CopyOptions{Flush: true})
		if rerr != nil || werr != errPeerGone {
			t.Fatalf("read=%v write=%v", rerr, werr)
		}
	})
}

// TestCopyBodyStreams checks that Flush forwards each arrival on its own
// (server-sent events) while several chunks already buffered go out together.
func TestCopyBodyStreams(t *testing.T) {
	events := []string{"5\r\nev:1\n\r\n", "5\r\nev:2\n\r\n", "0\r\n\r\n"}
	src := &sliceReader{parts: events}
	r := NewReader(src, Limits{})
	rec := &recWriter{}
	w := NewWriter(rec, 0)
	n, rerr, werr := r.CopyBody(w, Framing{Kind: BodyChunked}, CopyOptions{Flush: true})
	if rerr != nil || werr != nil || n != 10 {
		t.Fatalf("n=%d %v %v", n, rerr, werr)
	}
	want := []string{"5\r\nev:1\n\r\n", "5\r\nev:2\n\r\n", "0\r\n\r\n"}
	if strings.Join(rec.writes, "|") != strings.Join(want, "|") {
		t.Fatalf("writes %q", rec.writes)
	}
}

// sliceReader returns one part per Read, like packets arriving.
type sliceReader struct{ parts []string }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.parts[0])
	s.parts[0] = s.parts[0][n:]
	if s.parts[0] == "" {
		s.parts = s.parts[1:]
	}
	return n, nil
}

func TestBodyReaderDirectRead(t *testing.T) {
	big := strings.Repeat("y", 3*DefaultBufSize)
	r := NewReader(strings.NewReader("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 49152\r\n\r\n"+big), Limits{})
	var req httpmsg.Request
	if err := r.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	// Reads of at least a buffer go straight from the source into p.
	br := r.Body(RequestFraming(&req))
	var got []byte
	p := make([]byte, 2*DefaultBufSize)
	var err error
	for {
		var n int
		n, err = br.Read(p)
		got = append(got, p[:n]...)
		if err != nil {
			break
		}
	}
	if err == io.EOF {
		err = nil
	}
	if err != nil || string(got) != big {
		t.Fatalf("len %d err %v", len(got), err)
	}
}

func dechunk(t *testing.T, s string) string {
	t.Helper()
	r := NewReader(strings.NewReader(s), Limits{})
	b, err := io.ReadAll(r.Body(Framing{Kind: BodyChunked}))
	if err != nil {
		t.Fatalf("dechunk %q: %v", s, err)
	}
	return string(b)
}
