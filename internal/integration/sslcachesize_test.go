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

// TestSSLCacheSizeZeroAsHAProxy: "tune.ssl.cachesize 0" (no session
// cache), side by side with HAProxy 2.6: a client resumes its session with
// a ticket, over TLS 1.2 and 1.3, and with no-tls-tickets on the bind it
// cannot resume at all: nothing is kept by session ID.
func TestSSLCacheSizeZeroAsHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "www.example.com")
	resumed := func(port int, max uint16) bool {
		cache := tls.NewLRUClientSessionCache(4)
		var did bool
		for range 2 {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", testenv.LocalAddr(port),
				&tls.Config{InsecureSkipVerify: true, ServerName: "www.example.com", ClientSessionCache: cache, MaxVersion: max})
			if err != nil {
				t.Fatalf("port %d: %v", port, err)
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			// A request, so that TLS 1.3 tickets (sent after the handshake) arrive.
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			io.Copy(io.Discard, c)
			did = c.ConnectionState().DidResume
			c.Close()
		}
		return did
	}
	for _, kind := range []string{"haproxy", "gatehouse"} {
		tickets, none := testenv.FreePort(t), testenv.FreePort(t)
		cfg := fmt.Sprintf(`global
    tune.ssl.cachesize 0

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d ssl crt %s
    bind 127.0.0.1:%d ssl crt %s no-tls-tickets
    http-request return status 200 content-type text/plain string ok
`, tickets, cert.PEMFile, none, cert.PEMFile)
		if kind == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			if !resumed(tickets, v) {
				t.Errorf("%s, TLS %x: no resumption with tickets", kind, v)
			}
			if resumed(none, v) {
				t.Errorf("%s, TLS %x: resumed without tickets nor session cache", kind, v)
			}
		}
	}
}
