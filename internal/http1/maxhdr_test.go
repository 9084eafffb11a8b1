package http1

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// fieldsHead is a head with n fields, Host first when it is a request.
func fieldsHead(start string, n int) string {
	var b strings.Builder
	b.WriteString(start + "\r\n")
	for i := range n {
		if i == 0 && strings.HasPrefix(start, "GET") {
			b.WriteString("Host: a\r\n")
			continue
		}
		fmt.Fprintf(&b, "X-H%d: v\r\n", i)
	}
	b.WriteString("\r\n")
	return b.String()
}

// TestMaxHeaders checks tune.http.maxhdr's field bound: at MaxHeaders the
// head passes, one more is 400 in a request and 502 in a response, and the
// default admits HAProxy's 100 fields (maxhdr 101 counts the start line).
func TestMaxHeaders(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		fields int
		want   int // 0: accepted
	}{
		{"at limit", 9, 9, 0},
		{"one over", 9, 10, 400},
		{"default at limit", 0, 100, 0},
		{"default one over", 0, 101, 400},
		{"none admitted, none sent", -1, 0, 0},
		{"none admitted, one sent", -1, 1, 400},
	}
	for _, tt := range tests {
		t.Run("request "+tt.name, func(t *testing.T) {
			start := "GET / HTTP/1.1"
			if tt.fields == 0 {
				start = "GET / HTTP/1.0"
			}
			r := NewReader(strings.NewReader(fieldsHead(start, tt.fields)), Limits{MaxHeaders: tt.max})
			var req httpmsg.Request
			err := r.ReadRequest(&req)
			if got := errStatus(err); got != tt.want {
				t.Fatalf("status %d (err %v), want %d", got, err, tt.want)
			}
			if tt.want == 0 && len(req.Header) != tt.fields {
				t.Fatalf("%d fields parsed, want %d", len(req.Header), tt.fields)
			}
		})
		t.Run("response "+tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(fieldsHead("HTTP/1.1 204 No Content", tt.fields)), Limits{MaxHeaders: tt.max})
			var resp httpmsg.Response
			err := r.ReadResponse(&resp, "GET")
			want := tt.want
			if want != 0 {
				want = 502
			}
			if got := errStatus(err); got != want {
				t.Fatalf("status %d (err %v), want %d", got, err, want)
			}
		})
	}
	// A negative bound survives normalizing twice (Reader, then parser).
	if l := (Limits{MaxHeaders: -1}).normalized().normalized(); l.MaxHeaders >= 0 {
		t.Fatalf("MaxHeaders -1 normalized to %d", l.MaxHeaders)
	}
}
