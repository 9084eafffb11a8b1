//go:build !linux

package sock

import "net"

// SilentDrop closes c with a reset: other systems have neither TCP_REPAIR
// nor a portable way to keep the reset from the client.
func SilentDrop(c net.Conn) bool {
	if tc, ok := Unwrap(c); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
	return false
}
