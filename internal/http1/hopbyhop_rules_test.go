package http1

import (
	"strings"
	"testing"
)

// TestPrepareThenStripFixed: before the rules the Connection options close
// and keep-alive go (a Connection left empty too) and the fields a
// Connection names go, except Host, Content-Length and the fixed list;
// after the rules the fixed list goes and a field a rule added under a
// name the client's Connection named stays.
func TestPrepareThenStripFixed(t *testing.T) {
	h := hdrs("Host", "a", "Connection", "close, X-Private, content-length, host, Upgrade", "Keep-Alive", "timeout=5", "X-Private", "secret", "TE", "trailers", "Transfer-Encoding", "chunked", "Upgrade", "websocket", "Proxy-Connection", "close", "Content-Length", "1", "connection", " Keep-Alive ,, ", "Accept", "*/*")
	PrepareRequestFields(&h)
	var got []string
	for _, f := range h {
		got = append(got, f.Name+": "+f.Value)
	}
	want := "Host: a|Connection: X-Private, content-length, host, Upgrade|Keep-Alive: timeout=5|TE: trailers|Transfer-Encoding: chunked|Upgrade: websocket|Proxy-Connection: close|Content-Length: 1|Accept: */*"
	if g := strings.Join(got, "|"); g != want {
		t.Fatalf("before the rules:\n got %s\nwant %s", g, want)
	}
	h.Add("X-Private", "set by a rule")
	StripFixedHopByHop(&h)
	got = got[:0]
	for _, f := range h {
		got = append(got, f.Name+": "+f.Value)
	}
	if g := strings.Join(got, "|"); g != "Host: a|Content-Length: 1|Accept: */*|X-Private: set by a rule" {
		t.Fatalf("after the rules: %s", g)
	}
	// No Connection field: nothing changes, nothing is allocated.
	h = hdrs("Host", "a", "TE", "trailers")
	if n := testing.AllocsPerRun(10, func() { PrepareRequestFields(&h) }); n != 0 || len(h) != 2 {
		t.Fatalf("%v allocations, %d fields", n, len(h))
	}
}

// TestDropConnectionOptions: only the close and keep-alive options go,
// in any case and among empty list elements; other fields stay.
func TestDropConnectionOptions(t *testing.T) {
	h := hdrs("Connection", "Keep-Alive", "X-A", "1", "connection", ",close,, X-Hop ,keep-alive", "Keep-Alive", "timeout=5")
	DropConnectionOptions(&h)
	var got []string
	for _, f := range h {
		got = append(got, f.Name+": "+f.Value)
	}
	if g := strings.Join(got, "|"); g != "X-A: 1|connection: X-Hop|Keep-Alive: timeout=5" {
		t.Fatalf("got %s", g)
	}
}
