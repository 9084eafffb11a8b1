package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestHalfClosedTunnelLikeHAProxy: in a CONNECT tunnel, once the server
// has ended its direction, the client side is bounded by "timeout
// client-fin" (not the 30 s tunnel timeout); once the client has ended its
// direction, the server side is bounded by "timeout server-fin". Both
// proxies close the tunnel within a few seconds.
func TestHalfClosedTunnelLikeHAProxy(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	for _, side := range []string{"client-fin", "server-fin"} {
		t.Run(side, func(t *testing.T) {
			results := map[string]string{}
			for _, name := range []string{"haproxy", "gatehouse"} {
				// ended receives how long the server's connection lived
				// after the tunnel became half-closed.
				ended := make(chan time.Duration, 1)
				be := startEdgeBackend(t, func(id int, c net.Conn, br *bufio.Reader, req *http.Request) bool {
					io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
					if side == "client-fin" {
						io.WriteString(c, "bye")
						c.(*net.TCPConn).CloseWrite()
						start := time.Now()
						io.Copy(io.Discard, br) // until the proxy closes
						ended <- time.Since(start)
						return false
					}
					io.Copy(io.Discard, br) // the client's end of its direction
					// Neither answer nor close; the client sees when the
					// proxy gives up.
					select {
					case <-hold:
					case <-time.After(30 * time.Second):
					}
					return false
				})
				port := testenv.FreePort(t)
				cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout tunnel 30s
    timeout client-fin 500ms
    timeout server-fin 500ms

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    server s1 %s
`, port, be.addr())
				if name == "haproxy" {
					testenv.StartHAProxy(t, cfg)
				} else {
					testenv.StartGatehouse(t, cfg)
				}
				c := dialEdge(t, port)
				c.send("CONNECT ok.example:443 HTTP/1.1\r\nHost: ok.example:443\r\n\r\n")
				got := "connect=" + c.statusLine()
				if side == "client-fin" {
					got += " data=" + c.readN(3)
				} else {
					c.c.(*net.TCPConn).CloseWrite()
					go func() {
						start := time.Now()
						io.Copy(io.Discard, c.br) // until the proxy closes
						ended <- time.Since(start)
					}()
				}
				select {
				case d := <-ended:
					got += fmt.Sprintf(" closed-within-10s=%v", d < 10*time.Second)
				case <-time.After(25 * time.Second):
					got += " still-open-after-25s"
				}
				results[name] = got
				t.Logf("%s: %s", name, got)
			}
			if results["haproxy"] != results["gatehouse"] {
				t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
			}
			if results["gatehouse"] != map[string]string{"client-fin": "connect=200 data=bye closed-within-10s=true", "server-fin": "connect=200 closed-within-10s=true"}[side] {
				t.Errorf("gatehouse: %s", results["gatehouse"])
			}
		})
	}
}
