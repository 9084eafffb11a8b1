package h2

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// tune.http.maxhdr over HTTP/2: a request with more than MaxHeaders fields
// (:authority counting as Host) is answered 400 and its handler never runs;
// the connection goes on.
func TestMaxHeaders(t *testing.T) {
	var handled atomic.Int64
	srv := startServer(t, &Config{MaxHeaders: 3}, nil, func(st *Stream) { handled.Add(1); okHandler(st) })
	c := dialRaw(t, srv.addr())
	c.handshake()
	withFields := func(n int) []string {
		kv := append([]string(nil), getReq...) // :authority is the first field
		for i := 1; i < n; i++ {
			kv = append(kv, fmt.Sprintf("x-h%d", i), "v")
		}
		return kv
	}
	c.headers(1, true, withFields(3)...)
	if st, _, _ := c.response(1); st != "200" {
		t.Fatalf("3 fields: status %s, want 200", st)
	}
	c.headers(3, true, withFields(4)...)
	if st, _, _ := c.response(3); st != "400" {
		t.Fatalf("4 fields: status %s, want 400", st)
	}
	// A host field replaces :authority in the count rather than adding one.
	c.headers(5, true, append(withFields(2), "host", "example.com")...)
	if st, _, _ := c.response(5); st != "200" {
		t.Fatalf("2 fields, :authority and host: status %s, want 200", st)
	}
	if handled.Load() != 2 {
		t.Fatalf("%d handlers ran, want 2", handled.Load())
	}
	c.get(7)
}
