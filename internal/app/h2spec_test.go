package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/h2spectest"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestH2SpecEdge runs h2spec against a Gatehouse TLS frontend negotiating
// h2, proxying to an HTTP/1.1 server: the whole path, not the engine alone.
// It runs the same suite against cleartext h2c ("proto h2").
func TestH2SpecEdge(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.WritePEMFile(t, dir, "edge.pem", "localhost")
	be := echoBackend(t, "b1")
	tlsPort, clearPort := freePort(t), freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1
    bind 127.0.0.1:%d proto h2
    default_backend app
backend app
    server s1 %s
`, tlsPort, dir, clearPort, hostPort(be)))
	for _, tc := range []struct {
		name string
		port int
		tls  bool
	}{{"tls", tlsPort, true}, {"h2c", clearPort, false}} {
		t.Run(tc.name, func(t *testing.T) {
			total, failed := h2spectest.Run(t, "127.0.0.1", tc.port, tc.tls)
			if len(failed) > 0 {
				t.Fatalf("h2spec: %d of %d cases failed:\n%s", len(failed), total, strings.Join(failed, "\n"))
			}
			t.Logf("h2spec: %d/%d passed", total, total)
		})
	}
}
