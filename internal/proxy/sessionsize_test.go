package proxy

import (
	"testing"
	"unsafe"
)

// An HTTP/2 connection holds its session for as long as it lives, so the
// session itself stays small: HTTP/1's transaction and first-read buffer
// hang off it, taken only by HTTP/1 (4,208 bytes with both inline, which
// bench/run.sh idle_h2 paid twice over with the collector's headroom).
func TestSessionKeepsHTTP1StateApart(t *testing.T) {
	if n := unsafe.Sizeof(session{}); n > 1024 {
		t.Fatalf("a session is %d bytes, want at most 1 KiB", n)
	}
}
