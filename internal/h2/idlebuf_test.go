package h2

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// An idle connection (SETTINGS exchanged, one request answered) holds no
// read or write buffer and no writer goroutine: the heap grows by a few KiB per connection, client
// side included. With a bufio.Reader and Writer of its own each held 48 KiB
// (16 + 32): ~55 KiB per connection measured here before.
func TestIdleConnHoldsNoBuffers(t *testing.T) {
	srv := startServer(t, &Config{IdleTimeout: time.Minute}, nil, okHandler)
	const n = 300
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	clients := make([]*rawClient, n)
	for i := range clients {
		c := dialRaw(t, srv.addr())
		c.handshake()
		c.get(1)
		clients[i] = c
	}
	// Every handler has returned once each server connection has no stream.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < n; {
		c := srv.conn(i)
		c.mu.Lock()
		idle := c.idle()
		c.mu.Unlock()
		if idle {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %d still has a stream after 20s", i)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Only the read loop waits: the writer ends with the last stream. (A
	// few handler goroutines wait for the next stream of any connection.)
	for g := runtime.NumGoroutine() - g0; g > n+8; g = runtime.NumGoroutine() - g0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines for %d idle connections after 20s, want one each", g, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapInuse) - int64(before.HeapInuse)) / n
	t.Logf("heap in use per idle connection (both ends): %d bytes", per)
	if per > 24<<10 {
		t.Fatalf("each idle connection holds %d bytes of heap, want under 24 KiB: buffers kept across the wait?", per)
	}
	for i := range clients {
		clients[i].ping() // still open and answering
	}
}

// Writers wait for their next use across collections: a sync.Pool would
// have dropped this one by the second, and a busy process then allocates
// 32 KiB writers anew after every collection.
func TestWritersOutliveCollections(t *testing.T) {
	for writeBufs.get() != nil {
	}
	w := getWriter()
	putWriter(w)
	runtime.GC()
	runtime.GC()
	if got := getWriter(); got != w {
		t.Fatal("the writer given back did not survive two collections")
	}
}

// A connection that never reset a stream carries no table of reset
// streams; the first reset takes it, and a late frame on that stream is
// still recognised.
func TestResetTableTakenAtFirstReset(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 640 {
		t.Fatalf("a Conn is %d bytes, want at most 640 (its reset table inline?)", n)
	}
	a, b := net.Pipe()
	defer b.Close()
	defer a.Close()
	go func() { _, _ = io.Copy(io.Discard, b) }() // the RST_STREAM
	c := NewConn(a, nil, okHandler)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wasReset(5) {
		t.Fatal("stream 5 reported reset on a fresh connection")
	}
	c.resetLocked(5, 0, false)
	if !c.wasReset(5) || c.wasReset(7) {
		t.Fatal("after resetting stream 5: wasReset(5) false or wasReset(7) true")
	}
}
