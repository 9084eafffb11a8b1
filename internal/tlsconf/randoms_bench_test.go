package tlsconf

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// BenchmarkServerRandoms: a TLS 1.3 handshake and 64 KiB each way over
// loopback TCP, the server conn bare or under NewRandomsConn (what every
// TLS frontend connection now reads through).
func BenchmarkServerRandoms(b *testing.B) {
	ca := tlstest.NewCA(b)
	conf := &tls.Config{Certificates: []tls.Certificate{ca.TLSCertificate(b, "a.example")}}
	ccfg := &tls.Config{ServerName: "a.example", RootCAs: ca.CertPool()}
	payload := make([]byte, 64<<10)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	for _, wrap := range []bool{false, true} {
		name := map[bool]string{false: "bare", true: "randoms"}[wrap]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				cc, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				sc, err := ln.Accept()
				if err != nil {
					b.Fatal(err)
				}
				var under net.Conn = sc
				if wrap {
					under = NewRandomsConn(sc)
				}
				done := make(chan error, 1)
				go func() {
					cl := tls.Client(cc, ccfg)
					_ = cl.SetDeadline(time.Now().Add(10 * time.Second))
					if _, err := cl.Write(payload); err != nil {
						done <- err
						return
					}
					_, err := io.ReadFull(cl, make([]byte, len(payload)))
					done <- err
				}()
				srv := tls.Server(under, conf)
				_ = srv.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, len(payload))
				if _, err := io.ReadFull(srv, buf); err != nil {
					b.Fatal(err)
				}
				if _, err := srv.Write(buf); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				srv.Close()
				cc.Close()
			}
		})
	}
}
