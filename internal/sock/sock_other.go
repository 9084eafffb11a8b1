//go:build !linux

// Package sock: on other systems connections are used as they are.
package sock

import (
	"errors"
	"io"
	"net"
)

// Wrap returns c.
func Wrap(c *net.TCPConn) net.Conn { return c }

// Unwrap returns the TCP connection c is.
func Unwrap(c net.Conn) (*net.TCPConn, bool) {
	tc, ok := c.(*net.TCPConn)
	return tc, ok
}

// Release does nothing here.
func Release(net.Conn) {}

// Pipe is not used here: relays copy with (*net.TCPConn).ReadFrom.
type Pipe struct{}

// GetPipe reports that raw splicing is not available here.
func GetPipe() (*Pipe, error) { return nil, errors.ErrUnsupported }

// PutPipe does nothing here.
func PutPipe(*Pipe) {}

// Copy moves up to limit bytes from src to dst with ReadFrom.
func Copy(dst, src *net.TCPConn, limit int64) (int64, bool, error) {
	lr := &io.LimitedReader{R: src, N: limit}
	n, err := dst.ReadFrom(lr)
	return n, err == nil && lr.N > 0, err
}

// Splice is not available here.
func Splice(dst, src *net.TCPConn, limit int64, p *Pipe) (int64, bool, error) {
	return 0, false, errors.ErrUnsupported
}

// SetMaxPipes does nothing here: there is no splicing.
func SetMaxPipes(int) {}

// SetPipeSize does nothing here: there is no splicing.
func SetPipeSize(int) {}

// PipeCounts reports no limit and no pipe.
func PipeCounts() (limit, inUse, free int64) { return -1, 0, 0 }

// LazyReader is not available here: NewLazyReader reports false.
type LazyReader struct{ io.Reader }

// NewLazyReader reports false: read c with a bufio.Reader.
func NewLazyReader(c net.Conn) (*LazyReader, bool) { return nil, false }
