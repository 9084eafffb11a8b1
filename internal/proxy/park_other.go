//go:build !linux

package proxy

// Elsewhere idle keep-alive connections keep their goroutine.
const parkSupported = false

type poller struct{}

func newPoller() (*poller, error)    { return nil, errRetired }
func (*poller) park(pollable) error  { return errRetired }
func (*poller) unpark(pollable) bool { return false }
func (*poller) close() []pollable    { return nil }
func (*poller) count() int           { return 0 }
