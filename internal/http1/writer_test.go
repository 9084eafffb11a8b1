package http1

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func TestWriteRequestHeadRoundTrip(t *testing.T) {
	req := &httpmsg.Request{Method: "POST", URI: "/a?b=c", Header: hdrs("Host", "example.com", "x-Mixed-Case", "v1", "X-Dup", "1", "X-Dup", "2", "Content-Length", "3", "Empty", "")}
	var out bytes.Buffer
	w := NewWriter(&out, 0)
	if err := w.WriteRequestHead(req); err != nil {
		t.Fatal(err)
	}
	w.WriteString("abc")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "POST /a?b=c HTTP/1.1\r\nHost: example.com\r\nx-Mixed-Case: v1\r\nX-Dup: 1\r\nX-Dup: 2\r\n" +
		"Content-Length: 3\r\nEmpty: \r\n\r\nabc"
	if out.String() != want {
		t.Fatalf("got %q", out.String())
	}
	r := NewReader(&out, Limits{})
	var back httpmsg.Request
	if err := r.ReadRequest(&back); err != nil {
		t.Fatal(err)
	}
	if back.Method != req.Method || back.URI != req.URI || back.ContentLength != 3 || len(back.Header) != len(req.Header) {
		t.Fatalf("round trip: %+v", back)
	}
	for i := range req.Header {
		if back.Header[i] != req.Header[i] {
			t.Fatalf("field %d: %q != %q", i, back.Header[i], req.Header[i])
		}
	}
}

func TestWriteResponseHead(t *testing.T) {
	tests := []struct {
		resp httpmsg.Response
		want string
	}{
		{httpmsg.Response{Status: 200}, "HTTP/1.1 200 OK\r\n\r\n"},
		{httpmsg.Response{Status: 404, Reason: "Nope"}, "HTTP/1.1 404 Nope\r\n\r\n"},
		{httpmsg.Response{Status: 299}, "HTTP/1.1 299 Success\r\n\r\n"},
		{httpmsg.Response{Status: 101, Header: hdrs("Upgrade", "websocket")}, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		w := NewWriter(&out, 0)
		if err := w.WriteResponseHead(&tt.resp); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if out.String() != tt.want {
			t.Errorf("got %q want %q", out.String(), tt.want)
		}
	}
}

func TestWriterRefusesInjection(t *testing.T) {
	tests := []httpmsg.Request{
		{Method: "GET", URI: "/", Header: hdrs("X", "a\r\nInjected: 1")},
		{Method: "GET", URI: "/", Header: hdrs("X", "a\nb")},
		{Method: "GET", URI: "/", Header: hdrs("X:Y", "a")},
		{Method: "GET", URI: "/ HTTP/1.1\r\nX: y", Header: nil},
		{Method: "G ET", URI: "/"},
		{Method: "", URI: "/"},
	}
	for i, req := range tests {
		w := NewWriter(io.Discard, 0)
		if err := w.WriteRequestHead(&req); err != ErrInvalidHeader {
			t.Errorf("%d: err %v", i, err)
		}
	}
}

func TestWriterCoalescesAndVectors(t *testing.T) {
	rec := &recWriter{}
	w := NewWriter(rec, 1024)
	w.WriteResponseHead(&httpmsg.Response{Status: 200, Header: hdrs("Content-Length", "5")})
	w.Write([]byte("small"))
	w.Flush()
	if len(rec.writes) != 1 {
		t.Fatalf("head + small body took %d writes", len(rec.writes))
	}
	big := strings.Repeat("B", 5000)
	w.WriteString("head")
	w.Write([]byte(big))
	if w.Buffered() != 0 || rec.all() != "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmallhead"+big {
		t.Fatalf("buffered %d, out %.60q", w.Buffered(), rec.all())
	}
}

func TestWriterChunks(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, 0)
	w.WriteChunk([]byte("hello"))
	w.WriteChunk(nil) // must not end the body
	w.WriteChunk([]byte(strings.Repeat("z", 26)))
	w.WriteLastChunk(hdrs("X-T", "1"))
	w.Flush()
	want := "5\r\nhello\r\n1a\r\n" + strings.Repeat("z", 26) + "\r\n0\r\nX-T: 1\r\n\r\n"
	if out.String() != want {
		t.Fatalf("got %q", out.String())
	}
}

func TestWriterReleaseAndStickyError(t *testing.T) {
	w := NewWriter(&recWriter{failAt: 1}, 0)
	w.WriteString("x")
	if w.Release() {
		t.Fatal("released with buffered bytes")
	}
	if err := w.Flush(); err != errPeerGone {
		t.Fatalf("flush %v", err)
	}
	if _, err := w.WriteString("y"); err != errPeerGone {
		t.Fatalf("not sticky: %v", err)
	}
	if !w.Release() {
		t.Fatal("release after flush")
	}
}

func TestStripHopByHop(t *testing.T) {
	h := hdrs("Host", "a", "Connection", "keep-alive, X-Private, content-length, host", "Keep-Alive", "timeout=5", "X-Private", "secret", "TE", "trailers", "Transfer-Encoding", "chunked", "Upgrade", "websocket", "Proxy-Connection", "close", "Trailer", "X-Sum", "Content-Length", "1", "connection", "x-other", "X-Other", "1", "Proxy-Authenticate", "Basic", "Accept", "*/*")
	StripHopByHop(&h)
	var names []string
	for _, f := range h {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "Host,Trailer,Content-Length,Proxy-Authenticate,Accept" {
		t.Fatalf("kept %s", got)
	}
}

func TestAppendErrorResponse(t *testing.T) {
	got := string(AppendErrorResponse(nil, 400, ""))
	want := "HTTP/1.1 400 Bad request\r\ncontent-length: 90\r\ncache-control: no-cache\r\n" +
		"content-type: text/html\r\nconnection: close\r\n\r\n" +
		"<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"
	if got != want {
		t.Fatalf("got %q", got)
	}
	// HAProxy's own content-length values for its pages.
	for status, cl := range map[int]int{403: 93, 404: 83, 408: 110, 425: 80, 429: 117, 500: 97, 502: 107, 503: 107, 504: 92, 413: 106, 421: 104} {
		var resp httpmsg.Response
		b := AppendErrorResponse(nil, status, "")
		if err := ParseResponse(b[:bytes.Index(b, []byte("\r\n\r\n"))+4], &resp, "GET", Limits{}); err != nil {
			t.Fatalf("%d: %v", status, err)
		}
		if resp.Status != status || resp.ContentLength != int64(cl) || !resp.Close {
			t.Errorf("%d: status %d cl %d close %v", status, resp.Status, resp.ContentLength, resp.Close)
		}
	}
	if got := string(AppendErrorResponse(nil, 503, "<p>x</p>")); !strings.HasSuffix(got, "content-length: 8\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<p>x</p>") {
		t.Fatalf("custom body: %q", got)
	}
}

// hdrs builds Headers from name, value pairs.
func hdrs(kv ...string) httpmsg.Headers {
	var h httpmsg.Headers
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, httpmsg.Header{Name: kv[i], Value: kv[i+1]})
	}
	return h
}

// TestWriteRequestHeadVersion: an HTTP/1.0 request goes out as 1.0 (as
// HAProxy's h1_format_htx_reqline), anything else (1.1, HTTP/2 and
// HTTP/3 requests, a request built without a version) as 1.1.
func TestWriteRequestHeadVersion(t *testing.T) {
	tests := []struct {
		major, minor int
		want         string
	}{
		{1, 0, "GET /x HTTP/1.0\r\n\r\n"},
		{1, 1, "GET /x HTTP/1.1\r\n\r\n"},
		{2, 0, "GET /x HTTP/1.1\r\n\r\n"},
		{3, 0, "GET /x HTTP/1.1\r\n\r\n"},
		{0, 0, "GET /x HTTP/1.1\r\n\r\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		w := NewWriter(&out, 0)
		req := &httpmsg.Request{Method: "GET", URI: "/x", Major: tt.major, Minor: tt.minor}
		if err := w.WriteRequestHead(req); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("HTTP/%d.%d: got %q, want %q", tt.major, tt.minor, out.String(), tt.want)
		}
	}
	// A 1.0 request without Host reads back as written.
	r := NewReader(strings.NewReader("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), Limits{})
	var back httpmsg.Request
	if err := r.ReadRequest(&back); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := NewWriter(&out, 0)
	if err := w.WriteRequestHead(&back); err != nil {
		t.Fatal(err)
	}
	_ = w.Flush()
	if want := "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"; out.String() != want {
		t.Errorf("round trip: got %q, want %q", out.String(), want)
	}
}
