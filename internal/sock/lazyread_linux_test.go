package sock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// A LazyReader delivers what the peer sent in order, holds a buffer only
// while bytes wait in it (none across a wait), and ends a wait with the
// errors a net.Conn's Read gives: a deadline, then EOF. It reads through a
// Conn as well as a *net.TCPConn.
func TestLazyReaderHoldsNoBufferWhileWaiting(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		tc, peer := tcpPair(t)
		var c net.Conn = tc
		if wrapped {
			c = Wrap(tc)
		}
		r, ok := NewLazyReader(c)
		if !ok {
			t.Fatalf("wrapped=%v: no LazyReader for a TCP connection", wrapped)
		}
		msg := bytes.Repeat([]byte("0123456789abcdef"), LazyBufSize/16+100) // more than one buffer
		go func() { _, _ = peer.Write(msg) }()
		got := make([]byte, 0, len(msg))
		p := make([]byte, 1000)
		for len(got) < len(msg) {
			n, err := r.Read(p)
			if err != nil {
				t.Fatalf("wrapped=%v: read after %d bytes: %v", wrapped, len(got), err)
			}
			got = append(got, p[:n]...)
			if (r.buf != nil) != (r.r < r.w) {
				t.Fatalf("wrapped=%v: holds a buffer %v with %d bytes unread", wrapped, r.buf != nil, r.w-r.r)
			}
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("wrapped=%v: bytes differ from what was sent", wrapped)
		}
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := r.Read(p); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("wrapped=%v: a read past its deadline gave %v", wrapped, err)
		}
		if r.buf != nil {
			t.Fatalf("wrapped=%v: a wait that timed out kept a buffer", wrapped)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		peer.Close()
		if _, err := r.Read(p); err != io.EOF {
			t.Fatalf("wrapped=%v: read after the peer closed: %v, want EOF", wrapped, err)
		}
	}
}

// Anything but a TCP connection is read otherwise.
func TestLazyReaderOnlyForTCP(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, ok := NewLazyReader(a); ok {
		t.Fatal("NewLazyReader accepted a net.Pipe")
	}
}

// Fill waits for bytes without consuming any: a wait that times out holds
// no buffer and loses nothing, and what arrives afterwards is all read.
func TestLazyReaderFillConsumesNothing(t *testing.T) {
	tc, peer := tcpPair(t)
	r, ok := NewLazyReader(tc)
	if !ok {
		t.Fatal("no LazyReader for a TCP connection")
	}
	_ = tc.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if err := r.Fill(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Fill past its deadline: %v", err)
	}
	if r.buf != nil || r.Buffered() != 0 {
		t.Fatalf("a Fill that timed out holds a buffer (%v) or %d bytes", r.buf != nil, r.Buffered())
	}
	_ = tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := peer.Write([]byte("frame")); err != nil {
		t.Fatal(err)
	}
	if err := r.Fill(); err != nil {
		t.Fatal(err)
	}
	if err := r.Fill(); err != nil || r.Buffered() != 5 {
		t.Fatalf("Fill again: %v with %d bytes buffered, want 5", err, r.Buffered())
	}
	p := make([]byte, 16)
	if n, err := r.Read(p); err != nil || string(p[:n]) != "frame" {
		t.Fatalf("read %q, %v", p[:n], err)
	}
	if r.buf != nil {
		t.Fatal("drained, it still holds its buffer")
	}
}
