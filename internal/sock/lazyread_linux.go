package sock

import (
	"io"
	"net"
	"sync"
	"syscall"
)

// LazyBufSize is how much one of a LazyReader's recv calls may take.
const LazyBufSize = 16 << 10

var lazyBufs = sync.Pool{New: func() any { return new([LazyBufSize]byte) }}

// LazyReader is a buffered reader of a TCP connection that holds its buffer
// only while unread bytes are in it: the buffer is taken from a pool when
// the socket is readable and given back once it is drained, and a wait for
// the next bytes holds none. A bufio.Reader keeps its buffer through the
// wait, so every idle connection would hold one (an HTTP/2 connection sits
// in its read loop between streams: bench/run.sh idle_h2). The system calls
// are a net.Conn's: a recv, and a wait in the netpoller when it would block.
type LazyReader struct {
	tc    *net.TCPConn
	rc    syscall.RawConn
	buf   *[LazyBufSize]byte
	r, w  int
	got   int
	errno syscall.Errno
	fill  func(fd uintptr) bool
}

// NewLazyReader reads c through a LazyReader; ok is false (and c is to be
// read otherwise) unless c is a TCP connection, a Conn or a *net.TCPConn.
// Nothing else may read c then.
func NewLazyReader(c net.Conn) (lr *LazyReader, ok bool) {
	tc, ok := Unwrap(c)
	if !ok {
		return nil, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, false
	}
	lr = &LazyReader{tc: tc, rc: rc}
	lr.fill = lr.recv
	return lr, true
}

func (r *LazyReader) recv(fd uintptr) bool {
	if r.buf == nil {
		r.buf = lazyBufs.Get().(*[LazyBufSize]byte)
	}
	n, e := recvOnce(fd, r.buf[:])
	if e == syscall.EAGAIN {
		r.release()
		return false
	}
	r.got, r.errno = n, e
	return true
}

func (r *LazyReader) release() {
	if r.buf != nil {
		lazyBufs.Put(r.buf)
		r.buf = nil
	}
	r.r, r.w = 0, 0
}

// Read reads buffered bytes, or waits for the socket and reads it. A
// deadline or a Close ends the wait with the error a net.Conn's Read gives.
func (r *LazyReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := r.Fill(); err != nil {
		return 0, err
	}
	n := copy(p, r.buf[r.r:r.w])
	r.r += n
	if r.r == r.w {
		r.release()
	}
	return n, nil
}

// Buffered is how many received bytes wait to be read.
func (r *LazyReader) Buffered() int { return r.w - r.r }

// Fill waits until bytes are buffered, consuming none, with Read's errors.
// An idle HTTP/2 connection waits with it, under a deadline, before it
// gives up its goroutine: the bytes that end the wait stay for the frame
// reader, and a wait that times out leaves nothing read.
func (r *LazyReader) Fill() error {
	if r.r < r.w {
		return nil
	}
	r.got, r.errno = 0, 0
	if err := r.rc.Read(r.fill); err != nil {
		r.release()
		return err
	}
	if r.errno != 0 {
		r.release()
		return opError(r.tc, "read", "recvfrom", r.errno)
	}
	if r.got == 0 {
		r.release()
		return io.EOF
	}
	r.r, r.w = 0, r.got
	return nil
}
