package http1

import (
	"io"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// browserRequest is a typical ~500-byte browser GET.
const browserRequest = "GET /static/app/main.js?v=20240315 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36\r\n" +
	"Accept: */*\r\n" +
	"Accept-Language: en-US,en;q=0.9,fr;q=0.8\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Referer: https://www.example.com/app/dashboard\r\n" +
	"Cookie: session=3f2a9c1b7e6d4f0a8b5c2e1d9f7a6b4c; theme=dark; _ga=GA1.2.1234567890.1700000000\r\n" +
	"Sec-Fetch-Dest: script\r\n" +
	"Sec-Fetch-Mode: no-cors\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"Connection: keep-alive\r\n\r\n"

// loopReader serves the same bytes forever, like a keep-alive client.
type loopReader struct {
	data string
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.off:])
		n += c
		l.off = (l.off + c) % len(l.data)
	}
	return n, nil
}

func BenchmarkReadRequest(b *testing.B) {
	r := NewReader(&loopReader{data: browserRequest}, Limits{})
	var req httpmsg.Request
	b.SetBytes(int64(len(browserRequest)))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.ReadRequest(&req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteRequestHead(b *testing.B) {
	r := NewReader(strings.NewReader(browserRequest), Limits{})
	var req httpmsg.Request
	if err := r.ReadRequest(&req); err != nil {
		b.Fatal(err)
	}
	w := NewWriter(io.Discard, 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteRequestHead(&req); err != nil {
			b.Fatal(err)
		}
		w.Flush()
	}
}

func benchCopy(b *testing.B, body string, f Framing) {
	r := NewReader(&loopReader{data: body}, Limits{})
	w := NewWriter(io.Discard, 0)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, rerr, werr := r.CopyBody(w, f, CopyOptions{}); rerr != nil || werr != nil {
			b.Fatal(rerr, werr)
		}
		w.Flush()
	}
}

func BenchmarkCopyBodyLength64K(b *testing.B) {
	body := strings.Repeat("x", 64<<10)
	benchCopy(b, body, Framing{BodyLength, int64(len(body))})
}

func BenchmarkCopyBodyChunked64K(b *testing.B) {
	// 16 chunks of 4 KiB, as a streaming server might send.
	chunk := "1000\r\n" + strings.Repeat("x", 4096) + "\r\n"
	benchCopy(b, strings.Repeat(chunk, 16)+"0\r\n\r\n", Framing{Kind: BodyChunked})
}

func BenchmarkCopyBodySmallLength(b *testing.B) {
	benchCopy(b, strings.Repeat("x", 512), Framing{BodyLength, 512})
}
