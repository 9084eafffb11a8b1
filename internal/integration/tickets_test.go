package integration

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestTicketKeysAcrossReplicasMatchHAProxy: two replicas sharing a
// tls-ticket-keys file resume each other's TLS sessions, with HAProxy 2.6
// as with Gatehouse; replicas with different key files do not.
func TestTicketKeysAcrossReplicasMatchHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "www.example.com")
	dir := t.TempDir()
	keyFile := func(name string) string {
		var b strings.Builder
		for range 3 {
			k := make([]byte, 80)
			if _, err := rand.Read(k); err != nil {
				t.Fatal(err)
			}
			b.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
		}
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	shared, other := keyFile("shared.key"), keyFile("other.key")
	cfg := func(port int, keys string) string {
		return fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d ssl crt %s tls-ticket-keys %s
    http-request return status 200 content-type text/plain string ok
`, port, cert.PEMFile, keys)
	}
	// resumed: a session from port a resumed on port b.
	resumed := func(a, b int, max uint16) bool {
		cache := tls.NewLRUClientSessionCache(4)
		var did bool
		for _, port := range []int{a, b} {
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
		p1, p2, p3 := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
		start := testenv.StartHAProxy
		if kind == "gatehouse" {
			start = func(t testing.TB, cfg string) *testenv.HAProxy {
				testenv.StartGatehouse(t, cfg)
				return nil
			}
		}
		start(t, cfg(p1, shared))
		start(t, cfg(p2, shared))
		start(t, cfg(p3, other))
		for _, max := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			if !resumed(p1, p2, max) {
				t.Errorf("%s %x: replicas sharing the key file did not resume each other's sessions", kind, max)
			}
			if resumed(p1, p3, max) {
				t.Errorf("%s %x: a replica with another key file resumed the session", kind, max)
			}
		}
	}
}
