package http1

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestPeekBody(t *testing.T) {
	tests := []struct {
		name     string
		wire     string
		f        Framing
		want     int
		data     string
		complete bool
	}{
		{"length, whole", "hello world", Framing{Kind: BodyLength, Length: 11}, 1 << 20, "hello world", true},
		{"length, at-least", "hello world", Framing{Kind: BodyLength, Length: 11}, 5, "hello world", true},
		{"length, more than sent", "hello", Framing{Kind: BodyLength, Length: 11}, 1 << 20, "hello", false},
		{"chunked, whole", "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n", Framing{Kind: BodyChunked}, 1 << 20, "hello world", true},
		{"chunked, partial chunk", "5\r\nhello\r\n6\r\n wo", Framing{Kind: BodyChunked}, 1 << 20, "hello wo", false},
		{"chunked, bad terminator", "5\r\nhelloXX6\r\n world\r\n0\r\n\r\n", Framing{Kind: BodyChunked}, 1 << 20, "", false},
		{"none", "", Framing{Kind: BodyNone}, 10, "", true},
	}
	for _, tc := range tests {
		r := NewReader(strings.NewReader(tc.wire), Limits{})
		data, complete, err := r.PeekBody(tc.f, tc.want, true)
		if (err != nil && err != io.EOF) || string(data) != tc.data || complete != tc.complete {
			t.Errorf("%s: %q complete=%v err=%v; want %q complete=%v", tc.name, data, complete, err, tc.data, tc.complete)
		}
		// The body still reads whole afterwards.
		if tc.complete && tc.f.Kind != BodyNone {
			b, err := io.ReadAll(r.Body(tc.f))
			if err != nil || string(b) != tc.data {
				t.Errorf("%s: the body read after the peek: %q, %v", tc.name, b, err)
			}
		}
	}
}

// TestPeekBodyBufferFull: a body larger than the buffer is peeked up to
// the buffer's size, then read whole.
func TestPeekBodyBufferFull(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 100000)
	r := NewReader(bytes.NewReader(body), Limits{})
	f := Framing{Kind: BodyLength, Length: int64(len(body))}
	data, complete, err := r.PeekBody(f, 1<<30, true)
	if err != nil || complete || len(data) != DefaultBufSize {
		t.Fatalf("peeked %d bytes, complete=%v, err=%v; want the %d of a full buffer", len(data), complete, err, DefaultBufSize)
	}
	b, err := io.ReadAll(r.Body(f))
	if err != nil || len(b) != len(body) {
		t.Fatalf("then read %d bytes, %v", len(b), err)
	}
}
