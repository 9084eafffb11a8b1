//go:build !linux

package proxy

// Elsewhere idle keep-alive connections keep their goroutine.
const parkSupported = false

type poller struct{}

func newPoller() (*poller, error)  { return nil, errRetired }
func (*poller) park(*parked) error { return errRetired }
func (*poller) close() []*parked   { return nil }
func (*poller) count() int         { return 0 }
