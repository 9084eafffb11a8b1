package sock

import (
	"net"

	"golang.org/x/sys/unix"
)

// SilentDrop closes c so that the client is not told: it still sees an
// established connection, as HAProxy's silent-drop does. TCP_REPAIR
// (CAP_NET_ADMIN) closes the socket without a FIN or a reset; without the
// privilege, the hop limit drops to 1 and lingering is off, so the reset
// the close sends dies at the first router (on a local network it still
// arrives, as HAProxy documents). It reports whether TCP_REPAIR was used.
func SilentDrop(c net.Conn) (quiet bool) {
	tc, ok := Unwrap(c)
	if !ok {
		_ = c.Close()
		return false
	}
	if rc, err := tc.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			// Acknowledge what arrived, so the client does not
			// retransmit into a socket that will answer with a reset.
			_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
			if unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_REPAIR, 1) == nil {
				quiet = true
				return
			}
			if sa, err := unix.Getsockname(int(fd)); err == nil {
				if _, v6 := sa.(*unix.SockaddrInet6); v6 {
					_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 1)
				} else {
					_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, 1)
				}
			}
		})
	}
	if !quiet {
		_ = tc.SetLinger(0)
	}
	_ = tc.Close()
	return quiet
}
