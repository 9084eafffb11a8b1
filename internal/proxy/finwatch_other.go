//go:build !linux

package proxy

import (
	"context"
	"net"
)

// finWatch is not wired up without MSG_PEEK|MSG_DONTWAIT: requests wait in
// the queue as without "option abortonclose".
type finWatch struct {
	ctx  context.Context
	done chan struct{}
}

func watchFIN(net.Conn) *finWatch { return nil }

func (w *finWatch) stop() bool { return false }

func (w *finWatch) fin() bool    { return false }
func (w *finWatch) failed() bool { return false }
