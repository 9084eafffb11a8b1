package app

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/logforward"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// buildLogForwards builds the "log-forward" sections. Their sockets are
// bound when the graph starts, with SO_REUSEPORT so that a reload's new
// graph binds beside the one it replaces; the old one closes its own.
func (b *builder) buildLogForwards() error {
	for _, lf := range b.cfg.LogForwards {
		out, err := b.logger(lf.Logs, "")
		if err != nil {
			return err
		}
		if out == nil {
			out, _ = logging.NewLogger(nil, logging.Options{}) // no targets: received and dropped, as in HAProxy
		}
		lf, g, sys := lf, b.g, b.sys
		var fw *logforward.Forwarder
		b.g.starters = append(b.g.starters, func() {
			o := logforward.Options{Name: lf.Name, MaxConn: lf.MaxConn, TimeoutClient: lf.TimeoutClient, Out: out}
			for _, a := range lf.Binds {
				ln, err := listen(context.Background(), a, SockOpts{})
				if err != nil {
					logBindFailure(sys, lf.Name, a, err)
					continue
				}
				o.Streams = append(o.Streams, ln)
			}
			for _, a := range lf.DgramBinds {
				pc, err := listenUDPReusePort(a)
				if err != nil {
					logBindFailure(sys, lf.Name, a, err)
					continue
				}
				o.Dgrams = append(o.Dgrams, pc)
			}
			fw = logforward.New(o)
			fw.Start()
		})
		stop := func() {
			if fw != nil {
				fw.Stop()
			}
		}
		g.retirers = append(g.retirers, stop)
		g.stoppers = append(g.stoppers, stop)
	}
	return nil
}

func logBindFailure(sys *logging.Logger, name, addr string, err error) {
	if sys != nil {
		sys.Printf(logging.LevelAlert, "log-forward '%s': cannot bind %s: %v", name, addr, err)
	}
}

func listenUDPReusePort(addr string) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	return lc.ListenPacket(context.Background(), "udp", addr)
}
