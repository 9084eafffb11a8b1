package app

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// An idle HTTP/2 connection parks: no goroutine (its read loop's stack was
// two thirds of what one cost, bench/run.sh idle_h2), no Framers, no I/O
// buffer; and a client that closes a parked connection ends it, its
// accounting back to zero. (Collections are off but for the two measuring
// what is live.)
func TestIdleH2ConnectionsPark(t *testing.T) {
	be := echoBackend(t, "b1")
	port := freePort(t)
	rt := start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    default_backend app
backend app
    server s1 %s
`, port, be.Listener.Addr().String()))
	g := rt.Graph()
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	h2get(t, addr) // the backend's connection and the pools are warm
	waitFor(t, "the first connection to park", func() bool { return g.Proc.Parked() == 1 })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	const n = 200
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = h2get(t, addr)
	}
	waitFor(t, fmt.Sprintf("%d idle connections to park", n), func() bool { return g.Proc.Parked() == n+1 })
	// The client's n connections hold no goroutine either (h2get reads
	// its response on the test's); a few come and go (the poller, timers).
	deadline := time.Now().Add(20 * time.Second)
	for gs := runtime.NumGoroutine() - g0; gs > 8; gs = runtime.NumGoroutine() - g0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d more goroutines with %d parked HTTP/2 connections, want none per connection", gs, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC() // what is live: both ends of every connection
	runtime.GC() // dead goroutines' stacks too
	runtime.ReadMemStats(&after)
	stack := (int64(after.StackInuse) - int64(before.StackInuse)) / n
	heap := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	// StackInuse counts stack spans, the free stacks of ended goroutines
	// in them too: logged, not bounded (the goroutines are, above).
	t.Logf("per parked HTTP/2 connection: %d bytes of stack spans, %d bytes of live heap (server and client ends)", stack, heap)
	if h2c := g.Frontends[0].H2.Counters; h2c.OpenConns.Load() != n+1 {
		t.Fatalf("h2 open connections %d, want %d", h2c.OpenConns.Load(), n+1)
	}
	for _, c := range conns {
		c.Close()
	}
	waitFor(t, "the closed parked connections to end", func() bool {
		return g.Proc.Parked() == 1 && g.Proc.ActConn.Load() == 1 && g.Frontends[0].Counters.CurSess.Load() == 1 &&
			g.Frontends[0].H2.Counters.OpenConns.Load() == 1
	})
}

// h2get opens an h2c connection, exchanges SETTINGS, reads one GET's
// response to its end and leaves the connection open (closed with the
// test), and returns it.
func h2get(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	fr := http2.NewFramer(nc, nc)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "app.test"}, {Name: ":path", Value: "/"}} {
		_ = enc.WriteField(f)
	}
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(fr.WriteSettings())
	must(fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				must(fr.WriteSettingsAck())
			}
		case *http2.MetaHeadersFrame:
			if s := f.PseudoValue("status"); s != "" && s != "200" {
				t.Fatalf("status %s", s)
			}
			if f.StreamEnded() {
				_ = nc.SetDeadline(time.Time{})
				return nc
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				_ = nc.SetDeadline(time.Time{})
				return nc
			}
		case *http2.GoAwayFrame, *http2.RSTStreamFrame:
			t.Fatalf("got %v", f)
		}
	}
}
