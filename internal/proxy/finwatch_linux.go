package proxy

import (
	"context"
	"net"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// finWatch watches an HTTP/1 client connection for the client's FIN while
// its request waits for a server ("option abortonclose"). It peeks with
// MSG_PEEK, so no byte is taken from the connection: data arriving first
// (a pipelined request, a TLS record) ends the watch without a verdict.
type finWatch struct {
	ctx    context.Context
	raw    net.Conn
	sawFIN atomic.Bool
	broken atomic.Bool // the connection failed (a reset)
	done   chan struct{}
}

// watchFIN starts watching raw; nil when raw gives no file descriptor.
func watchFIN(raw net.Conn) *finWatch {
	sc, ok := raw.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &finWatch{ctx: ctx, raw: raw, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var b [1]byte
		_ = rc.Read(func(fd uintptr) bool {
			for {
				n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
					syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
				switch {
				case errno == syscall.EINTR:
					continue
				case errno == syscall.EAGAIN || errno == syscall.EWOULDBLOCK:
					return false // nothing yet: wait for the socket to be readable
				case errno == 0 && n == 0:
					w.sawFIN.Store(true)
					cancel()
				case errno != 0:
					w.broken.Store(true)
				}
				return true
			}
		})
	}()
	return w
}

// stop ends the watch and reports whether the client closed its side. It
// leaves the connection without a read deadline: the caller's reader must
// arm its own again.
func (w *finWatch) stop() bool {
	_ = w.raw.SetReadDeadline(time.Unix(1, 0))
	<-w.done
	_ = w.raw.SetReadDeadline(time.Time{})
	return w.sawFIN.Load()
}

// fin and failed are the verdict once done is closed: the client closed
// its side, or its connection failed. Neither: data arrived first.
func (w *finWatch) fin() bool    { return w.sawFIN.Load() }
func (w *finWatch) failed() bool { return w.broken.Load() }
