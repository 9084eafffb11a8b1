//go:build !linux

package l4

import "net"

// progress is unknown without TCP_INFO: inactivity timeouts are not applied.
func progress(net.Conn) (uint64, bool) { return 0, false }

func closedByPeer(net.Conn) bool { return false }
