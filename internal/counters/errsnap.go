package counters

import (
	"net/netip"
	"sync"
	"time"
)

// MaxErrorCapture bounds the bytes an error capture keeps, HAProxy's
// buffer size: a capture never holds more than a request head.
const MaxErrorCapture = 16384

// ErrorSnapshot is the last invalid message a proxy refused, HAProxy's
// error capture ("show errors"): an invalid request on a frontend, an
// invalid response on a backend.
type ErrorSnapshot struct {
	When  time.Time
	Event uint64         // the process's capture number (from 0)
	Src   netip.AddrPort // the client
	// The proxy on the other side (for a request: the backend, when one
	// was chosen; for a response: the frontend), and the server.
	Other, Server     string
	OtherID, ServerID int    // -1: none
	Input             []byte // the refused bytes, at most MaxErrorCapture
	Reason            string // the parser's diagnostic
	BufSize           int    // the size of the buffer the input was read into
}

// ErrorCapture keeps a proxy's last invalid request and response. The
// zero value is ready; it is safe for concurrent use.
type ErrorCapture struct {
	mu        sync.Mutex
	req, resp *ErrorSnapshot
}

// Record keeps s as the last invalid request (response false) or
// response, copying its input so that the caller's buffer can be reused.
func (c *ErrorCapture) Record(response bool, s ErrorSnapshot) {
	s.Input = append([]byte(nil), s.Input[:min(len(s.Input), MaxErrorCapture)]...)
	c.mu.Lock()
	if response {
		c.resp = &s
	} else {
		c.req = &s
	}
	c.mu.Unlock()
}

// Last returns the last invalid request and response (nil: none). The
// snapshots are never modified once recorded.
func (c *ErrorCapture) Last() (req, resp *ErrorSnapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.req, c.resp
}
