package proxy

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// batchConn is the connection x/net's ClientConn writes an HTTP/2 server's
// frames to. x/net flushes after every request's HEADERS, so each request
// cost a send(2) of its own, one TCP segment and a wake-up of the server
// (h2load 32x10 through 'proto h2' to nginx: 1.17 sends per request,
// HAProxy 0.34). Writes here are appended to a buffer that a flusher
// goroutine sends after letting the other runnable goroutines go first, so
// the requests that leave in the same scheduling round share one send; as
// in h2.Conn's writeLoop, a lone request waits for no one (the yield
// returns at once). Order is kept: one buffer, taken and sent under wmu.
type batchConn struct {
	net.Conn
	wmu  sync.Mutex // held while a batch is taken and sent
	mu   sync.Mutex // guards buf, err, queued, closed
	buf  []byte
	next []byte // the spare the flusher swaps in
	err  error  // sticky: a failed send ends the connection
	// queued: the flusher has been signalled for what buf holds.
	queued bool
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

// batchMax bounds what waits for the flusher; a write that would pass it
// sends what is buffered at once, itself included.
const batchMax = 64 << 10

func newBatchConn(c net.Conn) *batchConn {
	b := &batchConn{Conn: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go b.flushLoop()
	return b
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.err != nil {
		err := b.err
		b.mu.Unlock()
		return 0, err
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= batchMax {
		b.mu.Unlock()
		if err := b.flush(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	signal := !b.queued
	b.queued = true
	b.mu.Unlock()
	if signal {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// flush sends what is buffered now.
func (b *batchConn) flush() error {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.mu.Lock()
	out := b.buf
	b.buf, b.next = b.next[:0], nil
	b.queued = false
	err := b.err
	b.mu.Unlock()
	if err == nil && len(out) > 0 {
		if _, err = b.Conn.Write(out); err != nil {
			b.mu.Lock()
			b.err = err
			b.mu.Unlock()
			_ = b.Conn.Close() // x/net's reader sees the end and fails the streams
		}
	}
	b.mu.Lock()
	if b.next == nil && cap(out) <= batchMax {
		b.next = out[:0]
	}
	b.mu.Unlock()
	return err
}

func (b *batchConn) flushLoop() {
	for {
		select {
		case <-b.wake:
		case <-b.done:
			return
		}
		runtime.Gosched()
		_ = b.flush()
	}
}

// Close sends what is still buffered (a last RST_STREAM or GOAWAY), then
// closes the connection.
func (b *batchConn) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return b.Conn.Close()
	}
	b.closed = true
	b.mu.Unlock()
	// Bounded: x/net may close a connection whose server stopped reading.
	_ = b.Conn.SetWriteDeadline(time.Now().Add(250 * time.Millisecond))
	_ = b.flush()
	close(b.done)
	b.mu.Lock()
	if b.err == nil {
		b.err = net.ErrClosed
	}
	b.mu.Unlock()
	return b.Conn.Close()
}
