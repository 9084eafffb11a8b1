package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestDialCountsSSLConns: a TLS connection to a server holds a maxsslconn
// slot from before its handshake until Close (once, however often it is
// closed); past the limit the dial fails without connecting; clear-text
// connections are not counted.
func TestDialCountsSSLConns(t *testing.T) {
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "s.example")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake() }()
		}
	}()
	addr := netip.MustParseAddrPort(ln.Addr().String())
	srv := NewServer(&config.Server{Name: "s", Weight: 1}, 1, addr)
	srv.SSLConns = ratelimit.NewSSLConns(1)
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "s.example"}
	dial := func(tc *tls.Config) (*Conn, error) {
		return DialTo(context.Background(), srv, netip.AddrPort{}, PoolKey{}, tc, 10*time.Second, nil)
	}
	a, err := dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(cfg); !errors.Is(err, errTooManySSL) {
		t.Fatalf("second TLS dial: %v, want %v", err, errTooManySSL)
	}
	plain, err := dial(nil)
	if err != nil {
		t.Fatalf("clear-text dial: %v", err)
	}
	plain.Close()
	a.Close()
	a.Close()
	if n := srv.SSLConns.Cur(); n != 0 {
		t.Fatalf("%d counted after Close, want 0", n)
	}
	b, err := dial(cfg)
	if err != nil {
		t.Fatalf("TLS dial after Close: %v", err)
	}
	b.Close()
}
