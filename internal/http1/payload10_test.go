package http1

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// TestPayloadWithGETInHTTP10 pins HAProxy 2.6's rule: an HTTP/1.0 GET,
// HEAD or DELETE request with a payload is refused with 413 unless
// Limits.AcceptPayloadAnyMethod ("h1-accept-payload-with-any-method");
// other methods, an empty payload and HTTP/1.1 pass.
func TestPayloadWithGETInHTTP10(t *testing.T) {
	cases := []struct {
		head      string
		strict    int // status without the option, 0: accepted
		withToken int // status with it
	}{
		{"GET / HTTP/1.0\r\nContent-Length: 5\r\n\r\n", 413, 0},
		{"HEAD / HTTP/1.0\r\nContent-Length: 1\r\n\r\n", 413, 0},
		{"DELETE / HTTP/1.0\r\nContent-Length: 5\r\n\r\n", 413, 0},
		{"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 413, 400},
		{"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 0, 0},
		{"POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\n", 0, 0},
		{"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", 0, 0},
	}
	for _, c := range cases {
		for _, accept := range []bool{false, true} {
			lim := DefaultLimits()
			lim.AcceptPayloadAnyMethod = accept
			var req httpmsg.Request
			got := errStatus(ParseRequest([]byte(c.head), &req, lim))
			want := c.strict
			if accept {
				want = c.withToken
			}
			if got != want {
				t.Errorf("%q accept=%v: status %d, want %d", c.head, accept, got, want)
			}
		}
	}
}
