package upstream

import (
	"syscall"
	"unsafe"
)

// peek is the RawConn.Read callback of Alive: a non-blocking MSG_PEEK of
// one byte. EAGAIN means nothing to read: the idle connection is alive.
func (c *Conn) peek(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(&c.peekBuf[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		c.peekLive = errno == syscall.EAGAIN || errno == syscall.EWOULDBLOCK
		c.peekData = errno == 0 && n > 0
		return true
	}
}
