package app

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestSmartAcceptSockOpt: option tcp-smart-accept turns TCP_QUICKACK off on
// the listening socket, by default for HTTP frontends and TLS binds, as
// HAProxy 2.6 does; "no option tcp-smart-accept" leaves it on, the option
// forces it in mode tcp. The kernel shows it through getsockopt.
func TestSmartAcceptSockOpt(t *testing.T) {
	on, off := true, false
	cases := []struct {
		name  string
		p     config.Proxy
		bd    config.Bind
		quick int
	}{
		{"http", config.Proxy{Mode: config.ModeHTTP}, config.Bind{}, 0},
		{"tcp", config.Proxy{Mode: config.ModeTCP}, config.Bind{}, 1},
		{"tcp ssl", config.Proxy{Mode: config.ModeTCP}, config.Bind{SSL: true}, 0},
		{"http no option", config.Proxy{Mode: config.ModeHTTP, SmartAccept: &off}, config.Bind{}, 1},
		{"tcp option", config.Proxy{Mode: config.ModeTCP, SmartAccept: &on}, config.Bind{}, 0},
	}
	for _, c := range cases {
		ln, err := listen(context.Background(), "127.0.0.1:0", sockOpts(&c.p, &c.bd, 0))
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := ln.(*net.TCPListener).SyscallConn()
		var got int
		var gerr error
		_ = rc.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK) })
		ln.Close()
		if gerr != nil || got != c.quick {
			t.Errorf("%s: TCP_QUICKACK %d (%v), want %d", c.name, got, gerr, c.quick)
		}
	}
}
