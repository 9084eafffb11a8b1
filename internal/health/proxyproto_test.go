package health

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxyproto"
)

// TestChecksSendTheServersProxyHeader pins the bytes HAProxy 2.6 sends
// before a check (captured from it): v1 with the check connection's own
// addresses, v2 as a LOCAL command without addresses, with the SSL TLV
// (client=0, verify=0) for "proxy-v2-options ssl" and nothing for the
// options that need a client (authority, unique-id).
func TestChecksSendTheServersProxyHeader(t *testing.T) {
	local := proxyproto.Signature + "\x20\x00\x00\x00"
	cases := []struct {
		name string
		tg   Target
		px   *config.Proxy
		want func(checkPort, srvPort int) string
	}{
		{"send-proxy-v2", Target{SendProxy: true, ProxyV2: &proxyproto.Options{}}, &config.Proxy{},
			func(_, _ int) string { return local }},
		{"send-proxy-v2 ssl,authority,unique-id", Target{SendProxy: true, ProxyV2: &proxyproto.Options{SSL: true, Authority: true, UniqueID: true}}, &config.Proxy{},
			func(_, _ int) string {
				return proxyproto.Signature + "\x20\x00\x00\x08" + "\x20\x00\x05\x00\x00\x00\x00\x00"
			}},
		{"send-proxy-v2 pp2-never-send-local", Target{SendProxy: true, ProxyV2: &proxyproto.Options{SSL: true}, PP2NeverSendLocal: true}, &config.Proxy{},
			func(c, s int) string {
				return proxyproto.Signature + "\x21\x11\x00\x14" + "\x7f\x00\x00\x01\x7f\x00\x00\x01" +
					string([]byte{byte(c >> 8), byte(c), byte(s >> 8), byte(s)}) + "\x20\x00\x05\x00\x00\x00\x00\x00"
			}},
		{"send-proxy", Target{SendProxy: true}, &config.Proxy{},
			func(c, s int) string { return fmt.Sprintf("PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n", c, s) }},
		{"http check after v2", Target{SendProxy: true, ProxyV2: &proxyproto.Options{}}, &config.Proxy{HTTPCheck: &config.HTTPCheck{Method: "GET", URI: "/healthz", Version: "HTTP/1.0"}},
			func(_, _ int) string { return local + "GET /healthz HTTP/1.0\r\n\r\n" }},
		{"tcp-check connect send-proxy", Target{ProxyV2: &proxyproto.Options{}}, &config.Proxy{TCPCheck: &config.TCPCheck{Steps: []*config.TCPCheckStep{
			{Kind: "connect", Connect: &config.CheckConnect{SendProxy: true}}, {Kind: "send", Data: "PING\r\n"}}}},
			func(_, _ int) string { return local + "PING\r\n" }},
		{"no header", Target{ProxyV2: &proxyproto.Options{}}, &config.Proxy{HTTPCheck: &config.HTTPCheck{Method: "GET", URI: "/", Version: "HTTP/1.0"}},
			func(_, _ int) string { return "GET / HTTP/1.0\r\n\r\n" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			type got struct {
				b    string
				port int
			}
			ch := make(chan got, 1)
			addr := serve(t, func(c net.Conn) {
				_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
				// Read what the check should send (it may stop early and
				// close), then answer so that an HTTP check ends at once.
				port := c.RemoteAddr().(*net.TCPAddr).Port
				b := make([]byte, len(tc.want(port, c.LocalAddr().(*net.TCPAddr).Port)))
				n, _ := io.ReadFull(c, b)
				c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n"))
				ch <- got{string(b[:n]), port}
			})
			sp, err := NewSpec(tc.px)
			if err != nil {
				t.Fatal(err)
			}
			tg := tc.tg
			tg.Addr = addr
			sp.Run(context.Background(), &tg, Timing{Inter: 20 * time.Second}, true)
			select {
			case g := <-ch:
				want := tc.want(g.port, int(addr.Port()))
				if g.b != want {
					t.Errorf("server got %q, want %q", g.b, want)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the server saw no check connection")
			}
		})
	}
}
