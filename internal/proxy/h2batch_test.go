package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// readAll collects what arrives on c until it closes, into got.
func readAll(c net.Conn) chan []byte {
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(c)
		got <- b
	}()
	return got
}

// TestBatchConnSharesWrites: frames written in one scheduling round (the
// requests of streams that run one after the other) leave in one send, in
// order; Close sends what is left.
func TestBatchConnSharesWrites(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one P: the round is well defined
	a, b := net.Pipe()
	defer b.Close()
	under := &countingConn{Conn: a}
	bc := newBatchConn(under)
	got := readAll(b)
	var want bytes.Buffer
	for i := range 10 {
		frame := []byte("frame " + strconv.Itoa(i) + ";")
		want.Write(frame)
		if n, err := bc.Write(frame); n != len(frame) || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	// Let the flusher run, and wait until it sent.
	deadline := time.Now().Add(10 * time.Second)
	for under.writes.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the flusher never sent the buffered frames")
		}
		time.Sleep(time.Millisecond)
	}
	if n := under.writes.Load(); n != 1 {
		t.Fatalf("10 frames written together took %d sends, want 1", n)
	}
	tail := []byte("goaway")
	want.Write(tail)
	if _, err := bc.Write(tail); err != nil {
		t.Fatal(err)
	}
	if err := bc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, want.Bytes()) {
			t.Fatalf("the server read %q, want %q", b, want.Bytes())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the connection close")
	}
	if _, err := bc.Write([]byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
}

// TestBatchConnLargeWriteGoesAtOnce: past batchMax nothing waits for the
// flusher, and the bytes keep their order.
func TestBatchConnLargeWriteGoesAtOnce(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	bc := newBatchConn(a)
	got := readAll(b)
	small, big := []byte("headers;"), bytes.Repeat([]byte{'d'}, batchMax)
	if _, err := bc.Write(small); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.Write(big); err != nil {
		t.Fatal(err)
	}
	bc.Close()
	select {
	case b := <-got:
		if !bytes.Equal(b, append(small, big...)) {
			t.Fatalf("the server read %d bytes, want %d in order", len(b), len(small)+len(big))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the connection close")
	}
}

// TestBatchConnSendErrorSticks: a failed send fails the writes after it.
func TestBatchConnSendErrorSticks(t *testing.T) {
	a, b := net.Pipe()
	b.Close()
	bc := newBatchConn(a)
	defer bc.Close()
	_, _ = bc.Write([]byte("x"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := bc.Write([]byte("y")); err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("writes still succeed after the send failed")
		}
		time.Sleep(time.Millisecond)
	}
}
