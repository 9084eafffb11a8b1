package sock

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// Requests held by readers that run in the same scheduling round go out
// in one batch: with one P, the batch's goroutine yields until every
// runnable reader has queued its request, then sends them together.
func TestHeldRequestsGoOutTogether(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 8
	conns := make([]*Conn, n)
	peers := make([]*net.TCPConn, n)
	for i := range conns {
		conns[i], peers[i] = pair(t)
	}
	dones := make([]<-chan error, n)
	for i, p := range peers {
		dones[i] = serveOne(t, p, fmt.Sprintf("req %d", i), fmt.Sprintf("ans %d", i), 0)
	}
	errs := make(chan error, n)
	var start sync.WaitGroup
	start.Add(1)
	for i, c := range conns {
		go func() {
			start.Wait()
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			c.HoldForAnswer()
			c.Write([]byte(fmt.Sprintf("req %d", i)))
			buf := make([]byte, 16)
			m, err := c.Read(buf)
			if want := fmt.Sprintf("ans %d", i); string(buf[:m]) != want || err != nil {
				err = fmt.Errorf("reader %d: %q %v, want %q", i, buf[:m], err, want)
			}
			errs <- err
		}()
	}
	most := func() (m int) {
		for i := range batches.all {
			b := &batches.all[i]
			b.mu.Lock()
			m = max(m, b.most)
			b.mu.Unlock()
		}
		return m
	}
	for i := range batches.all {
		b := &batches.all[i]
		b.mu.Lock()
		b.most = 0
		b.mu.Unlock()
	}
	start.Done()
	for range conns {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a reader never got its answer")
		}
	}
	for _, d := range dones {
		result(t, d)
	}
	if m := most(); m < 2 {
		t.Fatalf("the largest batch held %d requests: each reader sent its own", m)
	}
}

// fillSendBuffer sends until the socket's send buffer is full, with a
// peer that does not read, and returns how much it sent.
func fillSendBuffer(t *testing.T, c *Conn) int {
	t.Helper()
	chunk := make([]byte, 4096)
	sent := 0
	err := c.rc.Write(func(fd uintptr) bool {
		for {
			n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&chunk[0])), uintptr(len(chunk)), syscall.MSG_NOSIGNAL|syscall.MSG_DONTWAIT, 0, 0)
			switch e {
			case 0:
				sent += int(n)
			case syscall.EINTR:
			default:
				return true
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return sent
}

// A held request the batch cannot send whole (the send buffer is full)
// ends the reader's wait; the reader sends the rest as a write does and
// reads the answer.
func TestBatchedRequestFullSendBuffer(t *testing.T) {
	c, peer := pair(t)
	filler := fillSendBuffer(t, c)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	c.HoldForAnswer()
	c.Write([]byte("req"))
	done := make(chan error, 1)
	go func() {
		// Reads the filler and the request only once the batch met
		// the full buffer: the reader is waiting by then.
		time.Sleep(100 * time.Millisecond)
		peer.SetReadDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, filler+3)
		if _, err := io.ReadFull(peer, buf); err != nil {
			done <- err
			return
		}
		if string(buf[filler:]) != "req" {
			done <- fmt.Errorf("peer read %q after the filler", buf[filler:])
			return
		}
		_, err := peer.Write([]byte("ans"))
		done <- err
	}()
	buf := make([]byte, 8)
	if n, err := c.Read(buf); string(buf[:n]) != "ans" || err != nil {
		t.Fatalf("answer: %q %v", buf[:n], err)
	}
	result(t, done)
	if c.ans.kicked {
		t.Fatal("the read deadline the batch replaced was not put back")
	}
}

// A server that reset the connection while it sat in the pool: the
// batch's send fails, and the reader returns that error at once rather
// than wait for an answer that cannot come.
func TestBatchedRequestAfterReset(t *testing.T) {
	c, peer := pair(t)
	peer.SetLinger(0)
	peer.Close()
	consumeReadiness(t, c)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	c.HoldForAnswer()
	c.Write([]byte("req"))
	start := time.Now()
	_, err := c.Read(make([]byte, 8))
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("read after the reset: %v, want a reset", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the reset was seen after %v", took)
	}
}
