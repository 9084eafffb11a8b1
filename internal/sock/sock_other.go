//go:build !linux

// Package sock: on other systems connections are used as they are.
package sock

import "net"

// Wrap returns c.
func Wrap(c *net.TCPConn) net.Conn { return c }

// Unwrap returns the TCP connection c is.
func Unwrap(c net.Conn) (*net.TCPConn, bool) {
	tc, ok := c.(*net.TCPConn)
	return tc, ok
}

// Release does nothing here.
func Release(net.Conn) {}
