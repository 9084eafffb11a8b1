package integration

import (
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestSSLCipherLogMatchesHAProxy: %sslc logs the cipher under OpenSSL's
// name (ECDHE-ECDSA-AES128-GCM-SHA256 for TLS 1.2), as HAProxy 2.6 does.
func TestSSLCipherLogMatchesHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "www.example.com")
	cfg := func(port int) string {
		return fmt.Sprintf(`
global
    log stdout format raw local0
defaults
    mode http
    log global
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d ssl crt %s ciphers ECDHE-ECDSA-AES128-GCM-SHA256 ssl-max-ver TLSv1.2
    log-format "sslc=%%sslc sslv=%%sslv"
    http-request return status 200 content-type text/plain string ok
`, port, cert.PEMFile)
	}
	hp, gp := testenv.FreePort(t), testenv.FreePort(t)
	h := testenv.StartHAProxy(t, cfg(hp))
	g := testenv.StartGatehouse(t, cfg(gp))
	for _, port := range []int{hp, gp} {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", testenv.LocalAddr(port), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.Close()
	}
	want := "sslc=ECDHE-ECDSA-AES128-GCM-SHA256 sslv=TLSv1.2"
	h.WaitOutput(t, want, 20*time.Second)
	g.WaitOutput(t, want, 20*time.Second)
}
