package h2

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/gatehouse/gatehouse/internal/sock"
)

// rawReader reads an h2c connection's socket. Like sock.LazyReader it
// holds a buffer only while unread bytes are in it; what it adds is
// FillWith, which processes the frames a recv brought while still inside
// the descriptor's read (syscall.RawConn.Read), so the wait for the next
// bytes needs no recv of its own.
//
// Go's RawConn.Read forgets the descriptor's readiness before its callback
// first runs, so every wait began with a recv that, between requests,
// fails (EAGAIN): one per request under h2load 256 x 1, a third of the
// recvfrom calls, where HAProxy, which keeps the readiness, makes none.
// Within one RawConn.Read the readiness is kept: a recv that returned less
// than it asked for drained the socket, any byte after it sets the
// readiness, and the callback can ask for the wait at once.
type rawReader struct {
	tc    *net.TCPConn
	rc    syscall.RawConn
	buf   *[rawBufSize]byte
	r, w  int
	got   int
	errno syscall.Errno
	fill  func(fd uintptr) bool // recv, for Read and Fill

	// FillWith: process is the connection's (set once), perr what it
	// returned.
	process func() error
	batch   func(fd uintptr) bool
	eof     bool
	perr    error
}

// rawBufSize is how much one recv may take: a frame of the default
// SETTINGS_MAX_FRAME_SIZE and its header do not fit, and are read by the
// plain path (Read), as any frame that does not arrive whole.
const rawBufSize = 16 << 10

// rawAgain counts FillWith's recvs that found nothing (TestReadLoopWaitsWithoutFailedRecv).
var rawAgain atomic.Int64

var rawBufs = sync.Pool{New: func() any { return new([rawBufSize]byte) }}

func newRawReader(c net.Conn) (*rawReader, bool) {
	tc, ok := sock.Unwrap(c)
	if !ok {
		return nil, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, false
	}
	r := &rawReader{tc: tc, rc: rc}
	r.fill = r.recv
	r.batch = r.recvBatch
	return r, true
}

func recvRaw(fd uintptr, p []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}

func (r *rawReader) take() {
	if r.buf == nil {
		r.buf = rawBufs.Get().(*[rawBufSize]byte)
	}
}

func (r *rawReader) release() {
	if r.buf != nil {
		rawBufs.Put(r.buf)
		r.buf = nil
	}
	r.r, r.w = 0, 0
}

func (r *rawReader) recv(fd uintptr) bool {
	r.take()
	n, e := recvRaw(fd, r.buf[:])
	if e == syscall.EAGAIN {
		r.release()
		return false
	}
	r.got, r.errno = n, e
	return true
}

// Read reads buffered bytes, or waits for the socket and reads it, with a
// net.Conn's errors.
func (r *rawReader) Read(p []byte) (int, error) {
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
func (r *rawReader) Buffered() int { return r.w - r.r }

// Fill waits until bytes are buffered, consuming none.
func (r *rawReader) Fill() error {
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
		return r.opError(r.errno)
	}
	if r.got == 0 {
		r.release()
		return io.EOF
	}
	r.r, r.w = 0, r.got
	return nil
}

func (r *rawReader) opError(errno syscall.Errno) error {
	return &net.OpError{Op: "read", Net: "tcp", Source: r.tc.LocalAddr(), Addr: r.tc.RemoteAddr(), Err: os.NewSyscallError("recvfrom", errno)}
}

// errStopBatch: process stops FillWith without an error.
var errStopBatch = errors.New("h2: batch stopped")

// FillWith is Fill for a reader with nothing buffered whose bytes are
// frames: after each recv, process reads the frames that arrived whole
// (through Read), before the next recv or wait. It returns with bytes
// buffered (a frame that did not arrive whole), when process returns an
// error (that error; errStopBatch: nil), or with Fill's errors.
func (r *rawReader) FillWith() error {
	if r.r < r.w {
		return nil
	}
	r.errno, r.eof, r.perr = 0, false, nil
	err := r.rc.Read(r.batch)
	switch {
	case err != nil:
	case r.perr != nil:
		if err = r.perr; err == errStopBatch {
			err = nil
		}
		r.perr = nil
	case r.errno != 0:
		err = r.opError(r.errno)
	case r.eof:
		err = io.EOF
	}
	if err != nil || r.r == r.w {
		r.release()
	}
	return err
}

func (r *rawReader) recvBatch(fd uintptr) bool {
	for {
		r.take()
		n, e := recvRaw(fd, r.buf[:])
		switch {
		case e == syscall.EAGAIN:
			rawAgain.Add(1)
			r.release()
			return false
		case e != 0:
			r.errno = e
			return true
		case n == 0:
			r.eof = true
			return true
		}
		r.r, r.w = 0, n
		if r.perr = r.process(); r.perr != nil || r.r < r.w {
			return true
		}
		r.release()
		if n < rawBufSize {
			return false // drained: the next byte sets the readiness
		}
	}
}

// wholeFrame reports whether a whole frame is buffered.
func (r *rawReader) wholeFrame() bool {
	if r.buf == nil { // the last Read emptied and released it
		return false
	}
	b := r.buf[r.r:r.w]
	if len(b) < 9 {
		return false
	}
	return len(b)-9 >= int(b[0])<<16|int(b[1])<<8|int(b[2])
}
