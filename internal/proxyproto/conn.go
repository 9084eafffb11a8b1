package proxyproto

import (
	"net"
	"net/netip"
)

// Conn is a connection whose addresses come from a PROXY header and whose
// first bytes (read past the header) are replayed before the socket's.
type Conn struct {
	net.Conn
	hdr    *Header
	rest   []byte
	remote net.Addr
	local  net.Addr
}

// NewConn wraps c after ReadHeader returned hdr and rest. A LOCAL or UNKNOWN
// header keeps c's own addresses.
func NewConn(c net.Conn, hdr *Header, rest []byte) *Conn {
	pc := &Conn{Conn: c, hdr: hdr, rest: rest, remote: c.RemoteAddr(), local: c.LocalAddr()}
	if hdr != nil && !hdr.Local {
		pc.remote = net.TCPAddrFromAddrPort(hdr.Src)
		pc.local = net.TCPAddrFromAddrPort(hdr.Dst)
	}
	return pc
}

// Header is the header received (nil when none).
func (c *Conn) Header() *Header { return c.hdr }

func (c *Conn) Read(p []byte) (int, error) {
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// RemoteAddr is the client's address from the header.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// LocalAddr is the destination address from the header.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// AddrPort converts a net.Addr to a netip.AddrPort (zero when not TCP).
func AddrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}
