package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestL7ClientAddressIntoTheMesh: behind a load balancer that speaks the
// PROXY protocol (accept-proxy), an L7 frontend forwards the original
// client's address both as X-Forwarded-For and in a PROXY v2 header to a
// gateway with proxy_protocol on (Istio's gatewayTopology.proxyProtocol),
// over TLS with SNI.
func TestL7ClientAddressIntoTheMesh(t *testing.T) {
	g := testenv.StartGateway(t, testenv.GatewayOptions{ProxyProtocol: true})
	port := testenv.FreePort(t)
	gh := testenv.StartGatehouse(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend edge
    bind 127.0.0.1:%d accept-proxy
    option forwardfor
    default_backend mesh

backend mesh
    http-request set-header Host %s
    server gw 127.0.0.1:%d ssl sni str(%s) verify required ca-file %s send-proxy-v2 proxy-v2-options authority
`, port, testenv.SeedHost, g.PPPort, testenv.SeedHost, g.CAFile))
	gh.WaitTCP(t, testenv.LocalAddr(port), 10*time.Second)

	c, err := net.Dial("tcp", testenv.LocalAddr(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// What a cloud load balancer writes before the client's bytes.
	fmt.Fprintf(c, "PROXY TCP4 203.0.113.7 127.0.0.1 40000 %d\r\n", port)
	fmt.Fprintf(c, "GET /who HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var e testenv.Echo
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("status %d, body %s", resp.StatusCode, b)
	}
	if e.ClientAddr != "203.0.113.7" {
		t.Errorf("the gateway saw client %q, want 203.0.113.7 from the PROXY header", e.ClientAddr)
	}
	if xff := e.Headers["X-Forwarded-For"]; len(xff) != 1 || xff[0] != "203.0.113.7" {
		t.Errorf("X-Forwarded-For %v", xff)
	}
	if e.SNI != testenv.SeedHost {
		t.Errorf("SNI %q", e.SNI)
	}

	// A connection without the PROXY header is refused on an accept-proxy bind.
	c2, err := net.Dial("tcp", testenv.LocalAddr(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c2, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if out, _ := io.ReadAll(c2); len(out) != 0 {
		t.Errorf("a request without a PROXY header got an answer: %q", out)
	}
}
