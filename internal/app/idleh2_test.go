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

// An idle HTTP/2 connection costs one goroutine, on a small stack: its
// read loop does not run on the accept path's goroutine, whose stack the
// handshakes and rules had grown to 8 KiB, and its writer ends with its
// last stream. (Stacks shrink only in a collection, which is off here so
// that none hides a grown one.)
func TestIdleH2ConnectionHoldsOneSmallStack(t *testing.T) {
	be := echoBackend(t, "b1")
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    default_backend app
backend app
    server s1 %s
`, port, be.Listener.Addr().String()))
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	h2get(t, addr) // the backend's connection and the pools are warm
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	const n = 200
	for range n {
		h2get(t, addr)
	}
	deadline := time.Now().Add(20 * time.Second)
	for g := runtime.NumGoroutine() - g0; g > n+8; g = runtime.NumGoroutine() - g0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines for %d idle connections after 20s, want one each", g, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.ReadMemStats(&after)
	per := (int64(after.StackInuse) - int64(before.StackInuse)) / n
	t.Logf("stack per idle HTTP/2 connection: %d bytes", per)
	limit := int64(6 << 10)
	if raceEnabled {
		limit *= 2 // instrumented frames: a 4 KiB stack grows to 8 KiB (the race CI run measured 10,321)
	}
	if per > limit {
		t.Fatalf("each idle HTTP/2 connection holds %d bytes of stack, want at most %d", per, limit)
	}
}

// h2get opens an h2c connection, exchanges SETTINGS, reads one GET's
// response to its end and leaves the connection open (closed with the test).
func h2get(t *testing.T, addr string) {
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
				return
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				_ = nc.SetDeadline(time.Time{})
				return
			}
		case *http2.GoAwayFrame, *http2.RSTStreamFrame:
			t.Fatalf("got %v", f)
		}
	}
}
