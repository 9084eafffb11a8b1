package app

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestBothModesOnOnePort: one tcp frontend routes by SNI; one name is
// passed through untouched to a TLS server, another is handed in process
// (no network hop) to an http frontend that terminates TLS and applies its
// rules; an unknown name is refused.
func TestBothModesOnOnePort(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	edgeCert := ca.WritePEMFile(t, dir, "edge.pem", "term.example")

	// The passthrough target: a TLS server of its own.
	passCert := ca.TLSCertificate(t, "pass.example")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{passCert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "passthrough backend\n")
	}))
	l7 := echoBackend(t, "l7")

	front, term := freePort(t), freePort(t)
	start(t, fmt.Sprintf(`
defaults
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend sni
    mode tcp
    bind 127.0.0.1:%d
    tcp-request inspect-delay 2s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend pass if { req.ssl_sni -i pass.example }
    use_backend term if { req.ssl_sni -i term.example }

backend pass
    mode tcp
    server p1 %s

backend term
    mode tcp
    server handoff 127.0.0.1:%d

frontend https
    mode http
    bind 127.0.0.1:%d ssl crt %s
    http-request set-header X-Custom terminated-at-edge
    default_backend app

backend app
    mode http
    server s1 %s
`, front, ln.Addr(), term, term, edgeCert, hostPort(l7)))

	fetch := func(sni string) (string, error) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp",
			fmt.Sprintf("127.0.0.1:%d", front), &tls.Config{ServerName: sni, RootCAs: ca.CertPool()})
		if err != nil {
			return "", err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "GET /x HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", sni)
		b, err := io.ReadAll(conn)
		return string(b), err
	}
	if out, err := fetch("pass.example"); err != nil || !strings.Contains(out, "passthrough backend") {
		t.Errorf("passthrough: %v %q", err, out)
	}
	if out, err := fetch("term.example"); err != nil || !strings.Contains(out, "x-custom=terminated-at-edge") {
		t.Errorf("handoff to the http frontend: %v %q", err, out)
	}
	if _, err := fetch("unknown.example"); err == nil {
		t.Error("an unknown SNI was not refused")
	}
}
