package tlsconf

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// result is what each side of a test handshake saw.
type result struct {
	client, server       tls.ConnectionState
	clientErr, serverErr error
	sni                  string // the SNI the server received (when it succeeded)
}

// handshake runs one TLS connection over loopback TCP (buffered, unlike
// net.Pipe, so close_notify alerts cannot deadlock). The server sends one
// byte after the handshake so that the client reads TLS 1.3 session tickets.
func handshake(t *testing.T, server, client *tls.Config) result {
	t.Helper()
	return handshakeOn(t, listen(t), server, client)
}

// handshakeOn is handshake on a given listener, for tests that need the same
// server address each time.
func handshakeOn(t *testing.T, ln net.Listener, server, client *tls.Config) result {
	t.Helper()
	cc, sc := testenv.TCPPair(t, ln)
	deadline := time.Now().Add(10 * time.Second)
	_ = cc.SetDeadline(deadline)
	_ = sc.SetDeadline(deadline)
	var r result
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sc.Close()
		s := tls.Server(sc, server)
		if r.serverErr = s.Handshake(); r.serverErr != nil {
			return
		}
		r.server = s.ConnectionState()
		r.sni = r.server.ServerName
		_, _ = s.Write([]byte("x"))
		_ = s.Close()
	}()
	c := tls.Client(cc, client)
	if r.clientErr = c.Handshake(); r.clientErr == nil {
		r.client = c.ConnectionState()
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			r.clientErr = err
		}
	}
	_ = c.Close()
	<-done
	return r
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
