package upstream

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestSockOptsControl: the options read back with getsockopt on the
// socket right after they are set, before connect (TCP_QUICKACK is
// switched back on by the kernel when the handshake completes).
func TestSockOptsControl(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cases := []struct {
		name                   string
		o                      *SockOpts
		linger, quick, tfoConn int
	}{
		{"none", &SockOpts{}, 0, 1, 0},
		{"nolinger", &SockOpts{NoLinger: true}, 1, 1, 0},
		{"smart-connect", &SockOpts{SmartConnect: true}, 0, 0, 0},
		{"tfo", &SockOpts{TFO: true}, 0, 1, 1},
	}
	for _, c := range cases {
		var linger *unix.Linger
		var quick, tfo int
		var gerr error
		d := net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, rc syscall.RawConn) error {
			if err := c.o.Control(network, address, rc); err != nil {
				return err
			}
			return rc.Control(func(fd uintptr) {
				linger, gerr = unix.GetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER)
				if gerr == nil {
					quick, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK)
				}
				if gerr == nil {
					tfo, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT)
				}
			})
		}}
		conn, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		conn.Close()
		if gerr != nil {
			t.Fatalf("%s: getsockopt: %v", c.name, gerr)
		}
		if int(linger.Onoff) != c.linger || linger.Linger != 0 || quick != c.quick || tfo != c.tfoConn {
			t.Errorf("%s: SO_LINGER %+v TCP_QUICKACK %d TCP_FASTOPEN_CONNECT %d, want linger on=%d quickack %d tfo %d",
				c.name, *linger, quick, tfo, c.linger, c.quick, c.tfoConn)
		}
	}
}

// TestDialSource: a server's "source" binds its connections: the address
// the server sees, a fixed port, a port range walked in turn with a port
// in use skipped, and the device of "interface".
func TestDialSource(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan netip.AddrPort, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c.RemoteAddr().(*net.TCPAddr).AddrPort()
			defer c.Close()
		}
	}()
	dst := ln.Addr().(*net.TCPAddr).AddrPort()
	dial := func(so *SockOpts) (*Conn, netip.AddrPort) {
		t.Helper()
		srv := NewServer(&config.Server{Name: "s", Weight: 1}, 1, dst)
		srv.Sock = so
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := Dial(ctx, srv, PoolKey{}, nil, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case from := <-accepted:
			return c, from
		case <-time.After(20 * time.Second):
			t.Fatal("the server accepted nothing")
		}
		return nil, netip.AddrPort{}
	}
	src2 := netip.MustParseAddr("127.0.0.2")
	c, from := dial(&SockOpts{Source: src2})
	c.Close()
	if from.Addr() != src2 {
		t.Errorf("source 127.0.0.2: the server saw %s", from)
	}
	// A port in the range already taken is skipped.
	busy, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	lo := busy.Addr().(*net.TCPAddr).Port
	if lo > 65000 {
		t.Skipf("ephemeral port %d too high for a range", lo)
	}
	so := &SockOpts{Source: netip.MustParseAddr("127.0.0.3"), PortLow: lo, PortHigh: lo + 2}
	var ports []int
	for range 2 {
		c, from := dial(so)
		defer c.Close()
		ports = append(ports, int(from.Port()))
	}
	if ports[0] != lo+1 || ports[1] != lo+2 {
		t.Errorf("range %d-%d with %d busy: ports %v, want [%d %d]", lo, lo+2, lo, ports, lo+1, lo+2)
	}
	// All three are taken now: the next connection fails.
	srv := NewServer(&config.Server{Name: "s", Weight: 1}, 1, dst)
	srv.Sock = so
	if c, err := Dial(context.Background(), srv, PoolKey{}, nil, 10*time.Second); err == nil {
		c.Close()
		t.Error("a full port range still connected")
	}

	c, _ = dial(&SockOpts{Source: src2, Interface: "lo"})
	defer c.Close()
	rc, _ := c.Raw.SyscallConn()
	var dev string
	var derr error
	rc.Control(func(fd uintptr) { dev, derr = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE) })
	if derr != nil || dev != "lo" {
		t.Errorf("interface lo: SO_BINDTODEVICE %q (%v)", dev, derr)
	}
}
