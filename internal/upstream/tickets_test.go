package upstream

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"
)

func TestAliveAfterTLS13Tickets(t *testing.T) {
	cert, roots := testCert(t, "gw.example")
	addr := listen(t, func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		tc.Handshake()
		buf := make([]byte, 1)
		tc.Read(buf)
		tc.Close()
	})
	c, err := DialAddr(context.Background(), addr, PoolKey{SNI: "gw.example"}, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13}, time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // let the session tickets arrive
	if !c.Alive() {
		t.Fatal("conn with only unread TLS 1.3 session tickets reported dead")
	}
}

func TestAliveTLSPeerData(t *testing.T) {
	cert, roots := testCert(t, "gw.example")
	tests := []struct {
		name  string
		after func(tc *tls.Conn)
	}{
		{"application data", func(tc *tls.Conn) { tc.Write([]byte("HTTP/1.1 408 Request Timeout\r\n\r\n")) }},
		{"close_notify", func(tc *tls.Conn) { tc.CloseWrite() }},
		{"tcp close", func(tc *tls.Conn) { tc.NetConn().Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := listen(t, func(c net.Conn) {
				tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
				if tc.Handshake() != nil {
					return
				}
				tt.after(tc)
				buf := make([]byte, 1)
				tc.Read(buf)
				c.Close()
			})
			c, err := DialAddr(context.Background(), addr, PoolKey{SNI: "gw.example"}, &tls.Config{RootCAs: roots}, time.Second, false)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			waitFor(t, "dead conn detected", func() bool { return !c.Alive() })
		})
	}
}
