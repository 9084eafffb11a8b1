package h2

import (
	"fmt"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"
)

// tune.http.maxhdr over HTTP/2: as HAProxy 2.6, a header block must fit a
// list of 2*maxhdr entries, pseudo-fields and an end marker included; a
// request needing more is a connection error (COMPRESSION_ERROR), its
// handler never runs.
func TestMaxHeaders(t *testing.T) {
	var handled atomic.Int64
	srv := startServer(t, &Config{MaxHdr: 5}, nil, func(st *Stream) { handled.Add(1); okHandler(st) })
	c := dialRaw(t, srv.addr())
	c.handshake()
	withFields := func(n int) []string {
		kv := append([]string(nil), getReq...) // 4 pseudo-fields
		for i := range n {
			kv = append(kv, fmt.Sprintf("x-h%d", i), "v")
		}
		return kv
	}
	c.headers(1, true, withFields(5)...) // 4 + 5 + 1 = 10 entries
	if st, _, _ := c.response(1); st != "200" {
		t.Fatalf("5 fields: status %s, want 200", st)
	}
	c.headers(3, true, withFields(6)...)
	c.expectGoAway(http2.ErrCodeCompression)
	if handled.Load() != 1 {
		t.Fatalf("%d handlers ran, want 1", handled.Load())
	}
	stillServes(t, srv)
}
