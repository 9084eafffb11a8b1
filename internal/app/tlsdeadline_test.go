package app

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestTLSOutlivesHandshakeDeadline: a TLS connection lives past the
// deadline that bounded its handshake (timeout http-request, here 1 s):
// its first request, answered after 1.5 s, and the next one, on the same
// connection, get their answers over HTTP/2 (which arms no read deadline of its own: the handshake's
// ended the connection under its streams, an "unexpected EOF" that
// TestReloadUnderLoadInProcess met on a busy machine) and over HTTP/1.1
// without timeout client (no inactivity deadline re-arms the writes).
func TestTLSOutlivesHandshakeDeadline(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.WritePEMFile(t, dir, "site.pem", "site.example")
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond) // past the handshake's deadline
		_, _ = io.WriteString(w, "slow")
	})
	h2Port, h1Port := freePort(t), freePort(t)
	start(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 2s
    timeout server 30s
    timeout http-request 1s
frontend h2
    timeout client 30s
    bind 127.0.0.1:%d ssl crt %s alpn h2
    default_backend app
frontend h1
    bind 127.0.0.1:%d ssl crt %s alpn http/1.1
    default_backend app
backend app
    server s1 %s
`, h2Port, dir, h1Port, dir, hostPort(be)))

	t.Run("h2", func(t *testing.T) {
		c := h2Client(t, ca, "site.example")
		c.Timeout = 20 * time.Second
		url := fmt.Sprintf("https://127.0.0.1:%d/", h2Port)
		for i := 0; i < 2; i++ {
			resp, err := c.Get(url)
			if err != nil {
				t.Fatalf("request on a connection older than its handshake deadline: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
				t.Fatalf("%s %d", resp.Proto, resp.StatusCode)
			}
		}
	})
	t.Run("http/1.1", func(t *testing.T) {
		c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", h1Port),
			&tls.Config{RootCAs: ca.CertPool(), ServerName: "site.example"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for i := 0; i < 2; i++ {
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("request on a connection older than its handshake deadline: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Close {
				t.Fatalf("status %d, close %v", resp.StatusCode, resp.Close)
			}
		}
	})
}
