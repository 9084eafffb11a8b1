package integration

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestMaxSSLConnAsHAProxy: maxsslconn 1, side by side with HAProxy 2.6.
// While one TLS client connection is open, a second one is not served
// (Gatehouse closes it before its handshake; HAProxy leaves it open,
// unanswered), and a clear-text bind still serves; once the first
// closes, a new one is served.
func TestMaxSSLConnAsHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "www.example.com")
	for _, kind := range []string{"haproxy", "gatehouse"} {
		t.Run(kind, func(t *testing.T) {
			tlsPort, plainPort := testenv.FreePort(t), testenv.FreePort(t)
			cfg := fmt.Sprintf(`global
    maxsslconn 1

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d ssl crt %s
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string ok
`, tlsPort, cert.PEMFile, plainPort)
			if kind == "haproxy" {
				testenv.StartHAProxy(t, cfg)
			} else {
				testenv.StartGatehouse(t, cfg)
			}
			// HAProxy 2.6 leaves a refused connection open and unanswered,
			// Gatehouse closes it: neither serves it within the timeout.
			timeout := 10 * time.Second
			dial := func() (*tls.Conn, error) {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", testenv.LocalAddr(tlsPort),
					&tls.Config{InsecureSkipVerify: true, ServerName: "www.example.com"})
				if err != nil {
					return nil, err
				}
				c.SetDeadline(time.Now().Add(20 * time.Second))
				if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					c.Close()
					return nil, err
				}
				buf := make([]byte, 1)
				if _, err := io.ReadFull(c, buf); err != nil {
					c.Close()
					return nil, err
				}
				return c, nil
			}
			// The harness's readiness probe held a slot until its close was
			// seen: the first connection is the first one served.
			var first *tls.Conn
			testenv.Eventually(t, 20*time.Second, func() bool {
				c, err := dial()
				first = c
				return err == nil
			}, "no TLS connection served")
			timeout = 3 * time.Second
			if c, err := dial(); err == nil {
				c.Close()
				t.Fatal("a second TLS connection was served while the first is open")
			}
			timeout = 10 * time.Second
			plain := dialEdge(t, plainPort)
			plain.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if st, _ := plain.response("GET"); st != 200 {
				t.Fatalf("clear-text bind: %d", st)
			}
			first.Close()
			testenv.Eventually(t, 20*time.Second, func() bool {
				c, err := dial()
				if err == nil {
					c.Close()
				}
				return err == nil
			}, "no TLS connection served after the first closed")
		})
	}
}
