package proxy

import "io"

// countingWriter counts what the client connection's writer sends, so the
// log's %B and the stats' bytes out are exact wire bytes.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
