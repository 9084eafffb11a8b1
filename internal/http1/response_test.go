package http1

import (
	"io"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		method  string
		status  int
		reason  string
		cl      int64
		chunked bool
		close   bool
		nobody  bool
		kind    BodyKind
		nhdr    int
	}{
		{"200 CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "GET", 200, "OK", 5, false, false, false, BodyLength, 1},
		{"empty reason", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", "GET", 200, "", 0, false, false, false, BodyNone, 1},
		{"no reason no SP", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", "GET", 404, "", 0, false, false, false, BodyNone, 1},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 200, "OK", -1, true, false, false, BodyChunked, 1},
		{"CL and TE: TE wins, CL dropped, close", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 200, "OK", -1, true, true, false, BodyChunked, 1},
		{"close delimited", "HTTP/1.1 200 OK\r\nX: y\r\n\r\n", "GET", 200, "OK", -1, false, true, false, BodyClose, 1},
		{"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", "GET", 200, "OK", 1, false, false, false, BodyLength, 2},
		{"1.0 default close", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", "GET", 200, "OK", 1, false, true, false, BodyLength, 1},
		{"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", "HEAD", 200, "OK", 0, false, false, true, BodyNone, 1},
		{"204", "HTTP/1.1 204 No Content\r\n\r\n", "GET", 204, "No Content", 0, false, false, true, BodyNone, 0},
		{"304 with CL", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", "GET", 304, "Not Modified", 0, false, false, true, BodyNone, 1},
		{"100 continue", "HTTP/1.1 100 Continue\r\n\r\n", "POST", 100, "Continue", 0, false, false, true, BodyNone, 0},
		{"101 switching", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "GET", 101, "Switching Protocols", 0, false, false, true, BodyNone, 2},
		{"103 early hints", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n", "GET", 103, "Early Hints", 0, false, false, true, BodyNone, 1},
		{"CONNECT 200", "HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT", 200, "Connection established", 0, false, false, true, BodyNone, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), Limits{})
			var resp httpmsg.Response
			if err := r.ReadResponse(&resp, tt.method); err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.status || resp.Reason != tt.reason {
				t.Errorf("status %d %q", resp.Status, resp.Reason)
			}
			if resp.ContentLength != tt.cl || resp.Chunked != tt.chunked || resp.Close != tt.close || resp.NoBody != tt.nobody {
				t.Errorf("cl=%d chunked=%v close=%v nobody=%v", resp.ContentLength, resp.Chunked, resp.Close, resp.NoBody)
			}
			if k := ResponseFraming(&resp).Kind; k != tt.kind {
				t.Errorf("framing %v, want %v", k, tt.kind)
			}
			if len(resp.Header) != tt.nhdr {
				t.Errorf("headers %q", resp.Header)
			}
		})
	}
}

func TestReadResponseRejected(t *testing.T) {
	tests := []struct{ name, in string }{
		{"lowercase version", "http/1.1 200 OK\r\n\r\n"},
		{"http 2", "HTTP/2.0 200 OK\r\n\r\n"},
		{"two digit status", "HTTP/1.1 20 OK\r\n\r\n"},
		{"status 600", "HTTP/1.1 600 X\r\n\r\n"},
		{"status letters", "HTTP/1.1 2x0 OK\r\n\r\n"},
		{"ctl in reason", "HTTP/1.1 200 O\x01K\r\n\r\n"},
		{"no SP after version", "HTTP/1.1200 OK\r\n\r\n"},
		{"conflicting CL", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"},
		{"bad CL", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"},
		{"gzip TE", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"},
		{"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n"},
		{"head too large", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", DefaultBufSize) + "\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), Limits{})
			var resp httpmsg.Response
			err := r.ReadResponse(&resp, "GET")
			if errStatus(err) != 502 {
				t.Fatalf("err %v, want a 502 ProtocolError", err)
			}
		})
	}
}

func TestInterimThenFinal(t *testing.T) {
	in := "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
	r := NewReader(strings.NewReader(in), Limits{})
	var resp httpmsg.Response
	for _, want := range []int{100, 103, 200} {
		if err := r.ReadResponse(&resp, "POST"); err != nil {
			t.Fatal(err)
		}
		if resp.Status != want {
			t.Fatalf("status %d want %d", resp.Status, want)
		}
	}
	body, err := io.ReadAll(r.Body(ResponseFraming(&resp)))
	if err != nil || string(body) != "hi" {
		t.Fatalf("body %q %v", body, err)
	}
}

func TestCloseDelimitedBody(t *testing.T) {
	r := NewReader(strings.NewReader("HTTP/1.0 200 OK\r\n\r\nuntil close"), Limits{})
	var resp httpmsg.Response
	if err := r.ReadResponse(&resp, "GET"); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(r.Body(ResponseFraming(&resp)))
	if err != nil || string(body) != "until close" {
		t.Fatalf("body %q %v", body, err)
	}
}
