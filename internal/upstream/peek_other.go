//go:build !linux

package upstream

// peek assumes the connection alive where MSG_PEEK|MSG_DONTWAIT is not
// wired up; a dead connection then fails on first use and is retried.
func (c *Conn) peek(fd uintptr) bool {
	c.peekLive = true
	c.peekData = false
	return true
}
