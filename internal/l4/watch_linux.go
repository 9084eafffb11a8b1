package l4

import (
	"net"

	"golang.org/x/sys/unix"
)

func tcpInfo(c net.Conn) (*unix.TCPInfo, bool) {
	rc, ok := rawConn(c)
	if !ok {
		return nil, false
	}
	var info *unix.TCPInfo
	var err error
	if cerr := rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); cerr != nil || err != nil {
		return nil, false
	}
	return info, true
}

// progress is what the peer did on c: bytes it sent plus bytes it acknowledged.
func progress(c net.Conn) (uint64, bool) {
	info, ok := tcpInfo(c)
	if !ok {
		return 0, false
	}
	return info.Bytes_received + info.Bytes_acked, true
}

// closedByPeer reports a socket in state CLOSE: reset by its peer.
func closedByPeer(c net.Conn) bool {
	info, ok := tcpInfo(c)
	return ok && info.State == 7 // TCP_CLOSE
}
