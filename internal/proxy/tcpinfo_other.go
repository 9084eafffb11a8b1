//go:build !linux

package proxy

import (
	"net"

	"github.com/gatehouse/gatehouse/internal/acl"
)

// tcpInfo: TCP_INFO is Linux's; the fc_rtt family has no value elsewhere,
// as in HAProxy without it.
func tcpInfo(net.Conn) (acl.TCPInfo, bool) { return acl.TCPInfo{}, false }
