package http1

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func TestLimits(t *testing.T) {
	tests := []struct {
		name   string
		lim    Limits
		in     string
		status int
	}{
		{"request line beyond buffer", Limits{}, "GET /" + strings.Repeat("a", 20000), 414},
		{"small MaxURI", Limits{MaxURI: 10}, "GET /0123456789 HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"small MaxHeaders", Limits{MaxHeaders: 2}, "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", 400},
		{"small buffer head", Limits{BufSize: 1024}, "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 1100) + "\r\n\r\n", 431},
		{"unterminated head fills buffer", Limits{BufSize: 1024}, "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 300), 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), tt.lim)
			var req httpmsg.Request
			err := r.ReadRequest(&req)
			if errStatus(err) != tt.status {
				t.Fatalf("err %v, want %d", err, tt.status)
			}
		})
	}
	if l := (Limits{BufSize: 4096, MaxHeadBytes: 1 << 20}).normalized(); l.MaxHeadBytes != 4096 || l.MaxHeaders != 100 {
		t.Fatalf("normalized %+v", l)
	}
	if d := DefaultLimits(); d.BufSize != 16384 || d.MaxHeadBytes != 15360 {
		t.Fatalf("defaults %+v", d)
	}
}

func TestReleaseKeepsPipelinedBytes(t *testing.T) {
	r := NewReader(strings.NewReader("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"), Limits{})
	var req httpmsg.Request
	if err := r.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	if r.Release() {
		t.Fatal("Release dropped a pipelined request")
	}
	if err := r.ReadRequest(&req); err != nil || req.URI != "/b" {
		t.Fatalf("%v %q", err, req.URI)
	}
	if !r.Release() || r.Buffered() != 0 {
		t.Fatal("Release with nothing buffered")
	}
}
