package sock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pair returns a wrapped client connection and the server's end.
func pair(t *testing.T) (*Conn, *net.TCPConn) {
	t.Helper()
	tc, peer := tcpPair(t) // closed by cleanup; w may be released by then
	w, ok := Wrap(tc).(*Conn)
	if !ok {
		t.Fatal("Wrap did not wrap a TCP connection")
	}
	return w, peer
}

func TestReadWriteBothWays(t *testing.T) {
	c, peer := pair(t)
	if n, err := c.Write([]byte("ping")); n != 4 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	if c.WriteWaited() {
		t.Fatal("a write with room to spare reports it waited")
	}
	buf := make([]byte, 16)
	if n, err := io.ReadFull(peer, buf[:4]); n != 4 || err != nil || string(buf[:4]) != "ping" {
		t.Fatalf("peer read: %q %v", buf[:n], err)
	}
	// A read parks on the netpoller until the peer writes.
	go func() {
		time.Sleep(50 * time.Millisecond)
		peer.Write([]byte("pong"))
	}()
	if n, err := c.Read(buf); string(buf[:n]) != "pong" || err != nil {
		t.Fatalf("read: %q %v", buf[:n], err)
	}
	if n, err := c.Read(nil); n != 0 || err != nil {
		t.Fatalf("empty read: %d %v", n, err)
	}
	if n, err := c.Write(nil); n != 0 || err != nil {
		t.Fatalf("empty write: %d %v", n, err)
	}
}

// A write larger than the socket buffers waits for the peer to drain
// (EAGAIN, then the netpoller) and completes whole.
func TestLargeWriteWaitsForPeer(t *testing.T) {
	tc, peer := tcpPair(t)
	// Small buffers on both ends: 4 MiB goes out through one write call
	// that meets a full buffer many times over, whenever the reader runs
	// (with loopback autotuning the buffers could take it all).
	if err := tc.SetWriteBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	if err := peer.SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	c, ok := Wrap(tc).(*Conn)
	if !ok {
		t.Fatal("Wrap did not wrap a TCP connection")
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.CopyN(&got, peer, int64(len(big)))
	}()
	if n, err := c.Write(big); n != len(big) || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	if !c.WriteWaited() {
		t.Fatal("a write that waited for the peer reports it did not")
	}
	wg.Wait()
	if !bytes.Equal(got.Bytes(), big) {
		t.Fatalf("peer got %d bytes, not what was written", got.Len())
	}
}

func TestWriteBuffers(t *testing.T) {
	c, peer := pair(t)
	// More buffers than one writev takes, an empty one among them, and a
	// large one that needs several calls.
	parts := [][]byte{[]byte("head "), {}, []byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e"),
		[]byte("f"), []byte("g"), []byte("h"), []byte("i"), bytes.Repeat([]byte("z"), 3<<20)}
	var want []byte
	for _, p := range parts {
		want = append(want, p...)
	}
	bufs := net.Buffers(parts)
	var got bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.CopyN(&got, peer, int64(len(want)))
		close(done)
	}()
	n, err := c.WriteBuffers(&bufs)
	if n != int64(len(want)) || err != nil || len(bufs) != 0 {
		t.Fatalf("writev: %d %v, %d buffers left", n, err, len(bufs))
	}
	<-done
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("peer got %d bytes, want %d", got.Len(), len(want))
	}
}

// EOF, deadlines, resets and close read as they do on a *net.TCPConn.
func TestErrors(t *testing.T) {
	t.Run("EOF", func(t *testing.T) {
		c, peer := pair(t)
		peer.Write([]byte("x"))
		peer.CloseWrite()
		b, err := io.ReadAll(c)
		if string(b) != "x" || err != nil {
			t.Fatalf("read all: %q %v", b, err)
		}
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("after FIN: %v, want io.EOF", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		c, _ := pair(t)
		c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past deadline: %v", err)
		}
		c.SetWriteDeadline(time.Now().Add(-time.Second))
		if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write past deadline: %v", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		c, peer := pair(t)
		c.Write([]byte("unread")) // closing with unread data sends a RST
		time.Sleep(20 * time.Millisecond)
		peer.SetLinger(0)
		peer.Close()
		time.Sleep(20 * time.Millisecond)
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read after reset: %v, want ECONNRESET", err)
		}
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "read" {
			t.Fatalf("read after reset: %T %v, want a *net.OpError", err, err)
		}
		if _, err := c.Write([]byte("x")); err == nil {
			// The first write after a reset may still be accepted by
			// the kernel; the next fails.
			time.Sleep(20 * time.Millisecond)
			if _, err = c.Write([]byte("x")); err == nil {
				t.Fatal("writes to a reset connection succeed")
			}
		}
	})
	t.Run("closed", func(t *testing.T) {
		c, _ := pair(t)
		c.Close()
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("write after close: %v", err)
		}
	})
	t.Run("close wakes a blocked read", func(t *testing.T) {
		c, _ := pair(t)
		go func() {
			time.Sleep(30 * time.Millisecond)
			c.Close()
		}()
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked read on close: %v", err)
		}
	})
}

func TestUnwrap(t *testing.T) {
	c, peer := pair(t)
	if tc, ok := Unwrap(c); !ok || tc != c.TCPConn {
		t.Fatal("Unwrap(Conn)")
	}
	if tc, ok := Unwrap(peer); !ok || tc != peer {
		t.Fatal("Unwrap(*net.TCPConn)")
	}
	if _, ok := Unwrap(&net.UnixConn{}); ok {
		t.Fatal("Unwrap of a non-TCP connection")
	}
}

// The hot path allocates nothing per read or write.
func TestNoAllocs(t *testing.T) {
	c, peer := pair(t)
	msg := []byte("0123456789")
	buf := make([]byte, 64)
	allocs := testing.AllocsPerRun(200, func() {
		c.Write(msg)
		io.ReadFull(peer, buf[:len(msg)])
		peer.Write(msg)
		c.Read(buf)
	})
	if allocs > 0 {
		t.Fatalf("%.1f allocations per round trip", allocs)
	}
}

// A read awaiting an answer gets it whether it is already there, comes
// later (after the yields the read waits on the netpoller), never comes
// (the deadline), or is an EOF; and a wait seen resets the yield budget.
func TestAwaitAnswer(t *testing.T) {
	c, peer := pair(t)
	buf := make([]byte, 16)

	peer.Write([]byte("ready"))
	time.Sleep(20 * time.Millisecond)
	c.AwaitAnswer()
	if n, err := c.Read(buf); string(buf[:n]) != "ready" || err != nil {
		t.Fatalf("answer already there: %q %v", buf[:n], err)
	}

	yieldsSincePoll.Store(yieldBudget + 100)
	go func() {
		time.Sleep(50 * time.Millisecond)
		peer.Write([]byte("late"))
	}()
	c.AwaitAnswer()
	if n, err := c.Read(buf); string(buf[:n]) != "late" || err != nil {
		t.Fatalf("late answer: %q %v", buf[:n], err)
	}
	if y := yieldsSincePoll.Load(); y != 0 {
		t.Fatalf("a read woken by the netpoller left %d yields counted", y)
	}

	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	c.AwaitAnswer()
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("no answer: %v, want the deadline", err)
	}
	c.SetReadDeadline(time.Time{})

	peer.CloseWrite()
	c.AwaitAnswer()
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("closed instead of an answer: %v, want io.EOF", err)
	}
}

// A released Conn serves the next connection it wraps, with nothing of
// the previous one's state.
func TestReleaseReuse(t *testing.T) {
	c, _ := pair(t)
	c.AwaitAnswer()
	tc := c.TCPConn
	tc.Close()
	Release(c)
	Release(tc) // not a Conn: ignored

	d, peer := pair(t)
	if d.await {
		t.Fatal("a reused Conn kept the previous connection's AwaitAnswer")
	}
	peer.Write([]byte("fresh"))
	buf := make([]byte, 8)
	if n, err := d.Read(buf); string(buf[:n]) != "fresh" || err != nil {
		t.Fatalf("read on a reused Conn: %q %v", buf[:n], err)
	}
}
