package app

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

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
		ln, err := listen(context.Background(), "127.0.0.1:0", sockOpts(&c.p, &c.bd, &config.Global{}))
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

// TestListenTFO: bind "tfo" sets TCP_FASTOPEN on the listening socket with
// the listen backlog as its queue, as HAProxy's listener_backlog(); none
// without it.
func TestListenTFO(t *testing.T) {
	for _, c := range []struct {
		o    SockOpts
		want int
	}{
		{SockOpts{V6Only: -1}, 0},
		{SockOpts{V6Only: -1, TFO: true, Backlog: 77}, 77},
		{SockOpts{V6Only: -1, TFO: true}, somaxconn()},
	} {
		ln, err := listen(context.Background(), "127.0.0.1:0", c.o)
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := ln.(*net.TCPListener).SyscallConn()
		var got int
		var gerr error
		_ = rc.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_FASTOPEN) })
		ln.Close()
		if gerr != nil || got != c.want {
			t.Errorf("%+v: TCP_FASTOPEN %d (%v), want %d", c.o, got, gerr, c.want)
		}
	}
}

// TestAutoIDs: fixed ids are kept, the others take the first free id from
// a counter every object advances, as HAProxy numbers servers (sid) and
// listeners.
func TestAutoIDs(t *testing.T) {
	got := serverIDs([]*config.Server{{}, {ID: 1}, {}, {ID: 10}, {}})
	want := []int{2, 1, 4, 10, 6}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("serverIDs: %v, want %v", got, want)
	}
	got = bindIDs([]*config.Bind{{ID: 2}, {}, {}})
	want = []int{2, 3, 4}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bindIDs: %v, want %v", got, want)
	}
}

// TestListenNoReusePort: a listener has SO_REUSEPORT unless the global
// "noreuseport" is set.
func TestListenNoReusePort(t *testing.T) {
	for _, no := range []bool{false, true} {
		o := sockOpts(&config.Proxy{Mode: config.ModeHTTP}, &config.Bind{}, &config.Global{NoReusePort: no})
		ln, err := listen(context.Background(), "127.0.0.1:0", o)
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := ln.(*net.TCPListener).SyscallConn()
		var got int
		var gerr error
		_ = rc.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT) })
		ln.Close()
		if want := map[bool]int{false: 1, true: 0}[no]; gerr != nil || got != want {
			t.Errorf("noreuseport %v: SO_REUSEPORT %d (%v), want %d", no, got, gerr, want)
		}
	}
	if !sameSocket(SockOpts{NoReusePort: true}, SockOpts{}) || sameSocket(SockOpts{TFO: true}, SockOpts{}) {
		t.Error("sameSocket must ignore NoReusePort only")
	}
}

// TestNoReusePortReload: under "noreuseport" a reload that keeps a bind's
// socket applies; one that must re-open it (its options changed) is
// refused, as its new socket could not bind beside the running one, and
// the running configuration keeps serving.
func TestNoReusePortReload(t *testing.T) {
	be, _, _ := versionBackend(t)
	port := freePort(t)
	global := "global\n    noreuseport\n"
	rt := start(t, global+versionConfig(port, "", "one", be))
	get := func(want string) {
		c := dialPort(t, port)
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		expect(t, bufio.NewReader(c), "/", want)
	}
	if err := rt.Apply(buildGraph(t, global+versionConfig(port, "", "two", be))); err != nil {
		t.Fatalf("reload keeping the socket: %v", err)
	}
	get("v=two")
	err := rt.Apply(buildGraph(t, global+versionConfig(port, " defer-accept", "three", be)))
	if err == nil || !strings.Contains(err.Error(), "'noreuseport' is set") {
		t.Fatalf("reload re-opening the socket: %v", err)
	}
	get("v=two")
}
