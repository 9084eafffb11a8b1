package proxy

import (
	"net"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/sock"
)

// tcpInfo reads TCP_INFO from c's socket.
func tcpInfo(c net.Conn) (acl.TCPInfo, bool) {
	tc, ok := sock.Unwrap(c)
	if !ok {
		return acl.TCPInfo{}, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return acl.TCPInfo{}, false
	}
	var ti *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) { ti, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil || gerr != nil {
		return acl.TCPInfo{}, false
	}
	return acl.TCPInfo{
		RTT: time.Duration(ti.Rtt) * time.Microsecond, RTTVar: time.Duration(ti.Rttvar) * time.Microsecond,
		Unacked: int64(ti.Unacked), Sacked: int64(ti.Sacked), Retrans: int64(ti.Retrans),
		Fackets: int64(ti.Fackets), Lost: int64(ti.Lost), Reordering: int64(ti.Reordering),
	}, true
}
