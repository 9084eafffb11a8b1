package upstream

import (
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// SockOpts are the options of the sockets that connect to a server, set
// before connect(2) as HAProxy 2.6's tcp_connect_server sets them. A nil
// *SockOpts sets none. Safe for concurrent use.
type SockOpts struct {
	// NoLinger ("option nolinger" on the backend): SO_LINGER 0, so a
	// close resets the connection instead of lingering in FIN_WAIT.
	NoLinger bool
	// SmartConnect ("option tcp-smart-connect"): TCP_QUICKACK off, so the
	// handshake's last ACK leaves with the request instead of alone.
	SmartConnect bool
	// TFO (server "tfo"): TCP_FASTOPEN_CONNECT, the SYN carries the first
	// data when the kernel holds a Fast Open cookie for the server.
	TFO bool
	// Source ("source"): the address bound before connecting; invalid:
	// the system chooses. PortLow..PortHigh: its port, 0: any; a range
	// is walked in turn, skipping ports in use.
	Source            netip.Addr
	PortLow, PortHigh int
	// Interface ("source ... interface"): SO_BINDTODEVICE.
	Interface string
	// SndBuf, RcvBuf (tune.sndbuf.server, tune.rcvbuf.server): SO_SNDBUF
	// and SO_RCVBUF, set before connect(2) so the window the SYN offers
	// follows them; 0: the kernel's.
	SndBuf, RcvBuf int

	next atomic.Uint32 // the range's next port to try
}

// Control is a net.Dialer Control: it applies o to the new socket.
func (o *SockOpts) Control(network, address string, c syscall.RawConn) error {
	if o == nil {
		return nil
	}
	var serr error
	if err := c.Control(func(fd uintptr) { serr = o.apply(int(fd)) }); err != nil {
		return err
	}
	return serr
}

func (o *SockOpts) apply(fd int) error {
	if o.Interface != "" {
		if err := unix.BindToDevice(fd, o.Interface); err != nil {
			return fmt.Errorf("cannot bind to device '%s': %w", o.Interface, err)
		}
	}
	if o.Source.IsValid() {
		if err := o.bind(fd); err != nil {
			return err
		}
	}
	if o.SmartConnect {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_QUICKACK, 0); err != nil {
			return fmt.Errorf("TCP_QUICKACK: %w", err)
		}
	}
	if o.TFO {
		// EOPNOTSUPP: net.ipv4.tcp_fastopen does not allow clients; the
		// connection is then an ordinary one, as with HAProxy, which
		// does not check this call either.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("TCP_FASTOPEN_CONNECT: %w", err)
		}
	}
	// Unchecked, as HAProxy's setsockopt calls: the kernel clamps them.
	if o.SndBuf != 0 {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, o.SndBuf)
	}
	if o.RcvBuf != 0 {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, o.RcvBuf)
	}
	if o.NoLinger {
		if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
			return fmt.Errorf("SO_LINGER: %w", err)
		}
	}
	return nil
}

// bind binds the socket to the source address. Without a port, as
// HAProxy: SO_REUSEADDR and IP_BIND_ADDRESS_NO_PORT, so the port is chosen
// at connect time and the 64k ports serve every destination. A fixed port
// takes SO_REUSEADDR too. A range is walked from where the last
// connection left it; a port in use (EADDRINUSE) is skipped, and when
// every port is, the connection fails (HAProxy: no free port).
func (o *SockOpts) bind(fd int) error {
	if o.PortHigh <= o.PortLow {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if o.PortLow == 0 {
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		}
		if err := unix.Bind(fd, sockaddr(o.Source, o.PortLow)); err != nil {
			return fmt.Errorf("cannot bind to source address %s: %w", netip.AddrPortFrom(o.Source, uint16(o.PortLow)), err)
		}
		return nil
	}
	n := o.PortHigh - o.PortLow + 1
	for range n {
		port := o.PortLow + int((o.next.Add(1)-1)%uint32(n))
		err := unix.Bind(fd, sockaddr(o.Source, port))
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EADDRINUSE) {
			return fmt.Errorf("cannot bind to source address %s: %w", netip.AddrPortFrom(o.Source, uint16(port)), err)
		}
	}
	return fmt.Errorf("no free source port in %s:%d-%d", o.Source, o.PortLow, o.PortHigh)
}

func sockaddr(a netip.Addr, port int) unix.Sockaddr {
	if a.Is4() {
		return &unix.SockaddrInet4{Addr: a.As4(), Port: port}
	}
	return &unix.SockaddrInet6{Addr: a.As16(), Port: port}
}
