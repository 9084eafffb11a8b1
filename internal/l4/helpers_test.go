package l4

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// clientHello returns the first flight crypto/tls sends for sni ("" for
// none), captured from a pipe.
func clientHello(t testing.TB, sni string) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Client(a, &tls.Config{ServerName: sni, InsecureSkipVerify: sni == ""}).Handshake()
	buf := make([]byte, 16<<10)
	_ = b.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// cond compiles a condition written as HAProxy terms.
func cond(t testing.TB, terms string) *acl.Cond {
	t.Helper()
	set, err := acl.NewSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := set.Cond(&config.Cond{Terms: strings.Fields(terms)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// backend is a server behind a Backend: it runs serve on each connection.
func backend(t testing.TB, name string, serve func(net.Conn)) *Backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	cs := &config.Server{Name: "s1", Host: ap.Addr().String(), Port: int(ap.Port()), Weight: 1}
	srv := upstream.NewServer(cs, 1, ap)
	farm, err := upstream.NewFarm(name, []*upstream.Server{srv}, config.Balance{}, upstream.FarmOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &Backend{Name: name, Counters: &counters.Proxy{}, Farm: farm,
		Timeouts: config.Timeouts{Connect: time.Second, Server: 5 * time.Second}}
}

func echo(c net.Conn) { io.Copy(c, c) }

// logSink receives a frontend's log lines over UDP.
type logSink struct {
	pc    net.PacketConn
	lines chan string
}

func newLogSink(t testing.TB) (*logSink, *logging.Logger) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &logSink{pc: pc, lines: make(chan string, 100)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				close(s.lines)
				return
			}
			s.lines <- string(buf[:n])
		}
	}()
	lg, err := logging.NewLogger([]*config.Log{{Target: "udp@" + pc.LocalAddr().String(), Format: "raw"}}, logging.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close(); pc.Close() })
	return s, lg
}

func (s *logSink) next(t testing.TB) string {
	t.Helper()
	select {
	case l := <-s.lines:
		return strings.TrimSpace(l)
	case <-time.After(20 * time.Second):
		t.Fatal("no log line")
	}
	return ""
}

// serve runs l on a loopback listener and returns its address.
func serve(t testing.TB, l *Listener) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var live atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			live.Add(1)
			go func() { defer live.Add(-1); l.ServeConn(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		waitFor(t, func() bool { return live.Load() == 0 }, "sessions still running")
	})
	return ln.Addr().String()
}

func waitFor(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// resources counts goroutines and open file descriptors.
func resources() (int, int) {
	fds, _ := os.ReadDir("/proc/self/fd")
	return runtime.NumGoroutine(), len(fds)
}

// noLeaks fails t if goroutines or fds stay above what they were when it
// was called, once the test's cleanups ran.
func noLeaks(t *testing.T) {
	runtime.GC()
	g0, f0 := resources()
	t.Cleanup(func() {
		var g, f int
		deadline := time.Now().Add(5 * time.Second)
		for {
			g, f = resources()
			if g <= g0 && f <= f0 || time.Now().After(deadline) {
				break
			}
			// splice(2) pipes are pooled; a GC frees idle ones.
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
		if g > g0 || f > f0 {
			buf := make([]byte, 1<<16)
			t.Errorf("leak: goroutines %d -> %d, fds %d -> %d\n%s", g0, g, f0, f, buf[:runtime.Stack(buf, true)])
		}
	})
}

func addr(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

var _ = fmt.Sprint
