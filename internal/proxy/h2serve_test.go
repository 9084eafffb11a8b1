package proxy

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/gatehouse/gatehouse/internal/sock"
)

// TestWireH2 checks that a cleartext h2c connection is served through a
// sock.Conn (raw system calls), and that a TLS one keeps its tls.Conn (its
// TCP connection was wrapped under the TLS layer at accept).
func TestWireH2(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()

	s := &session{raw: sc, conn: sc}
	s.wireH2()
	w, ok := s.conn.(*sock.Conn)
	if !ok || s.raw != s.conn {
		t.Fatalf("h2c connection served as %T (raw %T), want one *sock.Conn", s.conn, s.raw)
	}
	// It still carries the bytes both ways.
	if _, err := cc.Write([]byte("PRI")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if n, err := w.Read(buf); err != nil || string(buf[:n]) != "PRI" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}

	tc := tls.Server(sc, &tls.Config{})
	s = &session{raw: sc, conn: tc}
	s.wireH2()
	if s.conn != net.Conn(tc) || s.raw != sc {
		t.Fatalf("a TLS session's connections changed: %T, %T", s.conn, s.raw)
	}
}
