package integration

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// socks4Server is a SOCKS4 proxy for the tests: it grants every CONNECT,
// relays, and counts the connections asked for each destination.
type socks4Server struct {
	addr string
	mu   sync.Mutex
	seen map[string]int
}

func startSocks4(t *testing.T) *socks4Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &socks4Server{addr: ln.Addr().String(), seen: map[string]int{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *socks4Server) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var head [8]byte
	if _, err := io.ReadFull(c, head[:]); err != nil || head[0] != 4 || head[1] != 1 {
		return
	}
	for b := [1]byte{1}; b[0] != 0; { // the user ID, up to its NUL
		if _, err := c.Read(b[:]); err != nil {
			return
		}
	}
	dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(head[4:8])), binary.BigEndian.Uint16(head[2:4]))
	s.mu.Lock()
	s.seen[dst.String()]++
	s.mu.Unlock()
	up, err := net.DialTimeout("tcp", dst.String(), 5*time.Second)
	if err != nil {
		c.Write([]byte{0, 91, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	c.Write([]byte{0, 90, 0, 0, 0, 0, 0, 0})
	c.SetDeadline(time.Time{})
	go io.Copy(up, c)
	io.Copy(c, up)
}

func (s *socks4Server) count(dst string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[dst]
}

// TestSocks4LikeHAProxy: a server with "socks4" is reached through the
// SOCKS4 proxy (CONNECT to the server's address), in mode tcp and http;
// its health checks go through the proxy only with "check-via-socks4".
// Side by side with HAProxy 2.6.
func TestSocks4LikeHAProxy(t *testing.T) {
	echo := startTCPEcho(t)
	web := testenv.StartEchoServer(t)
	for _, proxy := range []string{"haproxy", "gatehouse"} {
		t.Run(proxy, func(t *testing.T) {
			socks := startSocks4(t)
			tcpPort, httpPort := testenv.FreePort(t), testenv.FreePort(t)
			cfg := fmt.Sprintf(`defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen tun
    mode tcp
    bind 127.0.0.1:%d
    server echo %s socks4 %s check-via-socks4 check inter 500ms
listen web
    mode http
    bind 127.0.0.1:%d
    server web %s socks4 %s check inter 500ms
`, tcpPort, echo, socks.addr, httpPort, web.Addr, socks.addr)
			if proxy == "haproxy" {
				testenv.StartHAProxy(t, cfg)
			} else {
				testenv.StartGatehouse(t, cfg)
			}
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, "through socks")
			buf := make([]byte, len("through socks"))
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "through socks" {
				t.Errorf("tcp: %q %v", buf, err)
			}
			c.Close()
			if got := body(t, httpPort); got == "" {
				t.Errorf("http: empty answer")
			}
			// Checks every 500ms: the tcp server's go through the proxy,
			// the web server's (no check-via-socks4) go straight.
			before := socks.count(echo)
			testenv.Eventually(t, 20*time.Second, func() bool { return socks.count(echo) >= before+2 }, "%s: the checks of 'echo' do not go through the SOCKS4 proxy", proxy)
			if n := socks.count(web.Addr); n != 1 {
				t.Errorf("%s: %d SOCKS4 connections to the web server, want 1 (the request; its checks go straight)", proxy, n)
			}
		})
	}
}
