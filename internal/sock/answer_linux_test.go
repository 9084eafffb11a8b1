package sock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// exhaustYields makes the next answer reads skip their yields (and so
// their tries), as under load: the wait that follows the send is blind.
func exhaustYields(t *testing.T) {
	yieldsSincePoll.Store(yieldBudget + 1000)
	t.Cleanup(func() { yieldsSincePoll.Store(0) })
}

// serveOne reads req from peer and answers it, in the background; the
// returned channel reports what the peer read, or an error.
func serveOne(t *testing.T, peer *net.TCPConn, req, answer string, delay time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		_ = peer.SetReadDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, len(req))
		if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != req {
			done <- errors.New("peer read " + string(buf) + ": " + errString(err))
			return
		}
		time.Sleep(delay)
		_, err := peer.Write([]byte(answer))
		done <- err
	}()
	return done
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func result(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the peer never finished")
	}
}

// The answer to a held request is read without a recv that fails: the
// request goes out from the read's callback and the read waits at once
// (no yields: under load), or after its yields, which do not add a
// failed recv of their own before the wait.
func TestHeldRequestAnswerWithoutFailedRecv(t *testing.T) {
	for _, yields := range []bool{false, true} {
		c, peer := pair(t)
		if !yields {
			exhaustYields(t)
		}
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		c.HoldForAnswer()
		if n, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); n != 18 || err != nil {
			t.Fatalf("held write: %d %v", n, err)
		}
		done := serveOne(t, peer, "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n", 30*time.Millisecond)
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if string(buf[:n]) != "HTTP/1.1 200 OK\r\n\r\n" || err != nil {
			t.Fatalf("answer: %q %v", buf[:n], err)
		}
		result(t, done)
		// A yield returns at once when nothing else runs, so the tries
		// fail; the wait adds none.
		want := uint32(0)
		if yields {
			want = answerYields
		}
		if c.fails > want {
			t.Errorf("yields %v: %d failed recvs, want at most %d", yields, c.fails, want)
		}
		if c.ans.kicks != 0 {
			t.Errorf("a check ended a wait for an answer that came in %v", 30*time.Millisecond)
		}
		yieldsSincePoll.Store(0)
	}
}

// Writes past holdMax go out at once, in order; so does the rest of a
// held request that met a full send buffer in the read's callback.
func TestHeldRequestLarge(t *testing.T) {
	t.Run("past holdMax", func(t *testing.T) {
		c, peer := pair(t)
		exhaustYields(t)
		c.HoldForAnswer()
		first := bytes.Repeat([]byte("a"), holdMax-10)
		second := bytes.Repeat([]byte("b"), 20)
		c.Write(first)
		c.Write(second)
		want := string(first) + string(second)
		// Sent already: the peer gets it all before any read.
		done := serveOne(t, peer, want, "ok", 0)
		result(t, done)
		buf := make([]byte, 8)
		if n, err := c.Read(buf); string(buf[:n]) != "ok" || err != nil {
			t.Fatalf("answer: %q %v", buf[:n], err)
		}
	})
	t.Run("full send buffer", func(t *testing.T) {
		tc, peer := tcpPair(t)
		tc.SetWriteBuffer(4096)
		peer.SetReadBuffer(4096)
		c := Wrap(tc).(*Conn)
		exhaustYields(t)
		c.HoldForAnswer()
		req := bytes.Repeat([]byte("0123456789abcdef"), holdMax/16)
		bufs := net.Buffers{req[:100], req[100:]}
		if n, err := c.WriteBuffers(&bufs); n != int64(len(req)) || err != nil {
			t.Fatalf("held writev: %d %v", n, err)
		}
		done := serveOne(t, peer, string(req), "ok", 20*time.Millisecond)
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, 8)
		if n, err := c.Read(buf); string(buf[:n]) != "ok" || err != nil {
			t.Fatalf("answer: %q %v", buf[:n], err)
		}
		result(t, done)
		if cap(c.ans.held) > 4<<10 {
			t.Fatalf("the connection keeps a %d-byte buffer for held requests", cap(c.ans.held))
		}
	})
}

// consumeReadiness has the netpoller report what the peer sent and drops
// that report, as a read's reset does after a pooled connection's idle
// time: a wait that starts now hears of nothing already there.
func consumeReadiness(t *testing.T, c *Conn) {
	t.Helper()
	rc, err := c.TCPConn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	// Woken by the report, or (if the netpoller took it before this
	// read's reset) by the deadline: either way it is gone after.
	c.TCPConn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	calls := 0
	_ = rc.Read(func(uintptr) bool { calls++; return calls > 1 })
	c.TCPConn.SetReadDeadline(time.Time{})
}

// A pooled connection the server closed (FIN) before the request: the
// blind wait cannot hear of the FIN, and a server that only half-closed
// sends nothing more; the check ends the wait with EOF within a
// blindCheck or two, not at the read deadline. A server that closed its
// socket answers the request with a reset, which wakes the wait at once.
// The read deadline set before is the one in force after.
func TestHeldRequestAfterServerClose(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(peer *net.TCPConn)
		kick  bool
	}{
		{"half-close", func(p *net.TCPConn) { p.CloseWrite() }, true},
		{"close", func(p *net.TCPConn) { p.Close() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, peer := pair(t)
			tc.close(peer)
			consumeReadiness(t, c)
			exhaustYields(t)
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			c.HoldForAnswer()
			c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
			start := time.Now()
			_, err := c.Read(make([]byte, 64))
			took := time.Since(start)
			if err != io.EOF && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("read after the server's close: %v (after %v), want EOF or a reset", err, took)
			}
			if took > 10*time.Second {
				t.Fatalf("the server's close was seen after %v", took)
			}
			if tc.kick && c.ans.kicks != 1 {
				t.Fatalf("%d checks ended the wait, want 1", c.ans.kicks)
			}
			if c.ans.kicked {
				t.Fatal("the check's deadline was not put back")
			}
		})
	}
}

// Bytes that arrived before the request (a server's early answer on a
// connection it then left open) are read as the first recv would have
// read them, once the check sees them; and the read deadline in force
// afterwards is the one set before the read, not the check's.
func TestHeldRequestEarlyBytes(t *testing.T) {
	c, peer := pair(t)
	peer.Write([]byte("HTTP/1.1 408 Request Timeout\r\n\r\n"))
	consumeReadiness(t, c)
	exhaustYields(t)
	c.SetReadDeadline(time.Now().Add(time.Second))
	c.HoldForAnswer()
	c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if string(buf[:n]) != "HTTP/1.1 408 Request Timeout\r\n\r\n" || err != nil {
		t.Fatalf("early bytes: %q %v", buf[:n], err)
	}
	if c.ans.kicks != 1 {
		t.Fatalf("%d checks ended the wait, want 1", c.ans.kicks)
	}
	start := time.Now()
	_, err = c.Read(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("next read: %v, want the deadline set before", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("next read timed out after %v: the check's past deadline stayed", took)
	}
}

// A slow answer: the check finds nothing, leaves the wait alone, and the
// answer (after several blindChecks) is read; with none, the read deadline
// ends the wait as it would without the hold.
func TestHeldRequestSlowAnswer(t *testing.T) {
	c, peer := pair(t)
	exhaustYields(t)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	c.HoldForAnswer()
	c.Write([]byte("req"))
	done := serveOne(t, peer, "req", "slow", 500*time.Millisecond)
	buf := make([]byte, 8)
	if n, err := c.Read(buf); string(buf[:n]) != "slow" || err != nil {
		t.Fatalf("slow answer: %q %v", buf[:n], err)
	}
	result(t, done)
	if c.ans.kicks != 0 {
		t.Fatalf("a check ended the wait for a slow answer (%d)", c.ans.kicks)
	}

	c.SetReadDeadline(time.Now().Add(5 * blindCheck))
	c.HoldForAnswer()
	c.Write([]byte("req"))
	done = serveOne(t, peer, "req", "", 0)
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("no answer: %v, want the deadline", err)
	}
	result(t, done)
}

// Nothing held (the request went out whole before HoldForAnswer's read,
// or was empty): the read is the usual one.
func TestHoldWithNothingHeld(t *testing.T) {
	c, peer := pair(t)
	c.HoldForAnswer()
	peer.Write([]byte("x"))
	buf := make([]byte, 4)
	if n, err := c.Read(buf); string(buf[:n]) != "x" || err != nil {
		t.Fatalf("read: %q %v", buf[:n], err)
	}
	if c.ans.hold.Load() {
		t.Fatal("the hold outlived the read")
	}
}

// The held path allocates nothing per request once warm.
func TestHeldRequestNoAllocs(t *testing.T) {
	c, peer := pair(t)
	req, ans := []byte("GET / HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 204 No Content\r\n\r\n")
	pbuf, buf := make([]byte, len(req)), make([]byte, 64)
	allocs := testing.AllocsPerRun(100, func() {
		c.HoldForAnswer()
		c.Write(req)
		go func() {
			io.ReadFull(peer, pbuf)
			peer.Write(ans)
		}()
		c.Read(buf)
	})
	// The goroutine the test starts is one allocation.
	if allocs > 1 {
		t.Fatalf("%.1f allocations per held request", allocs)
	}
}
