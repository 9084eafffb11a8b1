package sock

import (
	"net"
	"sync"
	"syscall"
)

// copyBufSize is how much one recv may take. 16 KiB (HAProxy's bufsize)
// and 64 KiB moved as many bytes per second in bench/run.sh
// l4_passthrough; 64 KiB takes a quarter of the system calls.
const copyBufSize = 64 << 10

// copyBufs holds Copy's buffers. A buffer is taken when the source is
// readable and given back when a read would wait, so a quiet tunnel holds
// none: ten thousand idle passthrough connections cost no buffer memory.
var copyBufs = sync.Pool{New: func() any { return new([copyBufSize]byte) }}

// Copy moves up to limit bytes from src to dst with recv(2) and send(2)
// issued as raw system calls, and returns how many reached dst. eof: src
// ended (read returned 0) before limit. Deadlines end a wait with
// os.ErrDeadlineExceeded, as a Read or Write would.
//
// It is the default for passthrough tunnels, as copying is HAProxy's
// default (splice only with "option splice-*"). On loopback it delivered
// more than Splice: bench/run.sh l4_passthrough, 534 against 433 req/s of
// 1 MiB (HAProxy 509). Spliced pages reach the receiver as many small
// fragments, which cost wrk, on the loaded CPU, more to read than the
// full segments a send(2) builds; Splice costs the proxy less CPU.
func Copy(dst, src *net.TCPConn, limit int64) (n int64, eof bool, err error) {
	dstRC, srcRC, err := rawConns(dst, src)
	if err != nil {
		return 0, false, err
	}
	var buf *[copyBufSize]byte
	defer func() {
		if buf != nil {
			copyBufs.Put(buf)
		}
	}()
	var got, sent int
	var errno syscall.Errno
	read := func(fd uintptr) bool {
		if buf == nil {
			buf = copyBufs.Get().(*[copyBufSize]byte)
		}
		r, e := recvOnce(fd, buf[:min(limit-n, copyBufSize)])
		if e == syscall.EAGAIN {
			copyBufs.Put(buf)
			buf = nil
			return false
		}
		got, errno = r, e
		return true
	}
	write := func(fd uintptr) bool {
		w, e := sendAll(fd, buf[sent:got])
		sent += w
		if e == syscall.EAGAIN {
			return false
		}
		errno = e
		return true
	}
	for n < limit {
		got, sent, errno = 0, 0, 0
		if err := srcRC.Read(read); err != nil {
			return n, false, err
		}
		if errno != 0 {
			return n, false, opError(src, "read", "recvfrom", errno)
		}
		if got == 0 {
			return n, true, nil
		}
		err := dstRC.Write(write)
		n += int64(sent)
		if err != nil {
			return n, false, err
		}
		if errno != 0 {
			return n, false, opError(dst, "write", "sendto", errno)
		}
	}
	return n, false, nil
}

func rawConns(dst, src *net.TCPConn) (dstRC, srcRC syscall.RawConn, err error) {
	if dstRC, err = dst.SyscallConn(); err == nil {
		srcRC, err = src.SyscallConn()
	}
	return dstRC, srcRC, err
}
