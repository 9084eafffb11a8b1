//go:build !linux

package h2

import (
	"errors"
	"net"
)

// rawReader is Linux's (rawread_linux.go); elsewhere newConnReader takes
// another reader.
type rawReader struct{ process func() error }

var errStopBatch = errors.New("h2: batch stopped")

func newRawReader(net.Conn) (*rawReader, bool) { return nil, false }

func (r *rawReader) Read([]byte) (int, error) { return 0, errors.ErrUnsupported }
func (r *rawReader) Buffered() int            { return 0 }
func (r *rawReader) Fill() error              { return errors.ErrUnsupported }
func (r *rawReader) FillWith() error          { return errors.ErrUnsupported }
func (r *rawReader) wholeFrame() bool         { return false }
