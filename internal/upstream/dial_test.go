package upstream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func testCert(t *testing.T, names ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}

// listen starts a loopback listener whose accepted conns go to handle.
func listen(t *testing.T, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func TestDialTLS(t *testing.T) {
	cert, roots := testCert(t, "gw.example", "other.example")
	sni := make(chan string, 4)
	addr := listen(t, func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"h2", "http/1.1"},
			GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
				sni <- h.ServerName
				return nil, nil
			},
		})
		if tc.Handshake() == nil {
			buf := make([]byte, 1)
			tc.Read(buf) // hold until the client closes
		}
		tc.Close()
	})
	base := &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}}
	tests := []struct {
		key       PoolKey
		wantSNI   string
		wantProto string
	}{
		{PoolKey{SNI: "gw.example"}, "gw.example", "http/1.1"},
		{PoolKey{SNI: "other.example", ALPN: "h2,http/1.1"}, "other.example", "h2"},
	}
	for _, tt := range tests {
		c, err := DialAddr(context.Background(), addr, tt.key, base, time.Second, false)
		if err != nil {
			t.Fatalf("%+v: %v", tt.key, err)
		}
		if got := <-sni; got != tt.wantSNI {
			t.Errorf("server saw SNI %q, want %q", got, tt.wantSNI)
		}
		if c.Proto != tt.wantProto || c.Key != tt.key {
			t.Errorf("proto %q key %+v", c.Proto, c.Key)
		}
		if _, ok := c.Conn.(*tls.Conn); !ok || c.Raw == nil || !c.Alive() {
			t.Errorf("conn %T raw %v alive %v", c.Conn, c.Raw, c.Alive())
		}
		c.Close()
	}
	if base.ServerName != "" || len(base.NextProtos) != 1 {
		t.Error("caller's tls.Config was modified")
	}
}

func TestDialErrors(t *testing.T) {
	cert, _ := testCert(t, "gw.example")
	closed := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(testenv.RefusedPort(t)))
	silent := listen(t, func(c net.Conn) { time.Sleep(2 * time.Second); c.Close() })
	plain := listen(t, func(c net.Conn) { c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n")); c.Close() })
	untrusted := listen(t, func(c net.Conn) {
		tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
		c.Close()
	})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tlsConf := &tls.Config{}
	tests := []struct {
		name string
		ctx  context.Context
		addr netip.AddrPort
		conf *tls.Config
		want ErrKind
		term string
	}{
		{"refused", context.Background(), closed, nil, ErrRefused, "SC"},
		{"handshake timeout", context.Background(), silent, tlsConf, ErrTimeout, "sC"},
		{"not TLS", context.Background(), plain, tlsConf, ErrTLS, "SC"},
		{"untrusted cert", context.Background(), untrusted, tlsConf, ErrTLS, "SC"},
		{"client gone", canceled, silent, nil, ErrCanceled, "CC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := 5 * time.Second
			if tt.want == ErrTimeout {
				timeout = 100 * time.Millisecond
			}
			c, err := DialAddr(tt.ctx, tt.addr, PoolKey{SNI: "gw.example"}, tt.conf, timeout, false)
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded")
			}
			var de *DialError
			if !errors.As(err, &de) || de.Kind != tt.want || KindOf(err) != tt.want {
				t.Fatalf("err %v (kind %v), want kind %v", err, KindOf(err), tt.want)
			}
			if de.Kind.TermState() != tt.term {
				t.Errorf("term state %s, want %s", de.Kind.TermState(), tt.term)
			}
			if de.Retryable() != (tt.want != ErrCanceled) {
				t.Errorf("retryable = %v", de.Retryable())
			}
		})
	}
}

func TestDialServerAndPool(t *testing.T) {
	addr := listen(t, func(c net.Conn) {
		buf := make([]byte, 1)
		c.Read(buf)
		c.Close()
	})
	srv := mkServers(srvSpec{name: "gw1", weight: 1})[0]
	srv.addr.Store(&addr)
	k := PoolKey{}
	c, err := Dial(context.Background(), srv, k, nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	srv.Pool().Put(c)
	if got := srv.Pool().Get(k); got != c {
		t.Fatal("pooled conn not reused")
	}
	if srv.Counters.Connect.Load() != 1 || srv.Counters.Reuse.Load() != 1 {
		t.Errorf("connect %d reuse %d", srv.Counters.Connect.Load(), srv.Counters.Reuse.Load())
	}
	c.Close()
}

func TestResolve(t *testing.T) {
	tests := []struct {
		host string
		port int
		want string
		err  bool
	}{
		{"127.0.0.1", 80, "127.0.0.1:80", false},
		{"[::1]", 443, "[::1]:443", false},
		{"::ffff:10.0.0.1", 8080, "10.0.0.1:8080", false},
		{"localhost", 9000, "", false},
		{"", 80, "", true},
		{"127.0.0.1", 70000, "", true},
	}
	for _, tt := range tests {
		got, err := Resolve(context.Background(), tt.host, tt.port)
		if (err != nil) != tt.err {
			t.Errorf("Resolve(%q): err %v", tt.host, err)
			continue
		}
		if tt.want != "" && got.String() != tt.want {
			t.Errorf("Resolve(%q) = %s, want %s", tt.host, got, tt.want)
		}
		if tt.host == "localhost" && !got.Addr().IsLoopback() {
			t.Errorf("localhost resolved to %s", got)
		}
	}
}
