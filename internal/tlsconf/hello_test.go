package tlsconf

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/hashfn"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

func TestDropGREASE(t *testing.T) {
	in := []byte{0x0a, 0x0a, 0x13, 0x01, 0xfa, 0xfa, 0x1a, 0x1a, 0x1a, 0x2a, 0xc0}
	want := []byte{0x13, 0x01, 0x1a, 0x2a, 0xc0}
	if got := DropGREASE(in); !bytes.Equal(got, want) {
		t.Errorf("DropGREASE = % x, want % x", got, want)
	}
}

// handshakeCapture runs a Go client against a server reading through a
// CaptureConn; it returns the capture and what crypto/tls saw.
func handshakeCapture(t *testing.T) (*CaptureConn, *tls.ClientHelloInfo) {
	t.Helper()
	ca := tlstest.NewCA(t)
	cs, cc := net.Pipe()
	defer cs.Close()
	defer cc.Close()
	capc := NewCaptureConn(cs)
	var info *tls.ClientHelloInfo
	srv := tls.Server(capc, &tls.Config{
		Certificates: []tls.Certificate{ca.TLSCertificate(t, "a.example")},
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			info = h
			return nil, nil
		},
	})
	errc := make(chan error, 1)
	go func() {
		cl := tls.Client(cc, &tls.Config{ServerName: "a.example", RootCAs: ca.CertPool()})
		_ = cl.SetDeadline(time.Now().Add(10 * time.Second))
		errc <- cl.Handshake()
	}()
	_ = srv.SetDeadline(time.Now().Add(10 * time.Second))
	if err := srv.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return capc, info
}

func u16s(vs []uint16) []byte {
	b := make([]byte, 0, 2*len(vs))
	for _, v := range vs {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

func TestCaptureClientHello(t *testing.T) {
	c, info := handshakeCapture(t)
	h := c.Hello(1 << 14)
	if h == nil {
		t.Fatal("no ClientHello captured")
	}
	if want := u16s(info.CipherSuites); !bytes.Equal(h.Ciphers, want) {
		t.Errorf("ciphers % x, want % x", h.Ciphers, want)
	}
	if h.CipherXXH64 != hashfn.XXH64(string(u16s(info.CipherSuites)), 0) {
		t.Errorf("xxh64 %#x does not hash the cipher list", h.CipherXXH64)
	}
	var curves []uint16
	for _, c := range info.SupportedCurves {
		curves = append(curves, uint16(c))
	}
	if want := u16s(curves); !bytes.Equal(h.Curves, want) {
		t.Errorf("curves % x, want % x", h.Curves, want)
	}
	if !bytes.Equal(h.PointFormats, info.SupportedPoints) {
		t.Errorf("point formats % x, want % x", h.PointFormats, info.SupportedPoints)
	}
	// HAProxy's loop leaves out a last extension without data: the rest
	// must be crypto/tls's list in order.
	ext := u16s(info.Extensions)
	if !bytes.HasPrefix(ext, h.Extensions) || len(ext)-len(h.Extensions) > 2 {
		t.Errorf("extensions % x, want (a prefix of) % x", h.Extensions, ext)
	}
	if h.Version != tls.VersionTLS12 {
		t.Errorf("hello version %#x, want the legacy 0x0303", h.Version)
	}

	// A small buffer keeps the start of the cipher list, then as many
	// extension types as fit, and no curve list; the hash stays whole.
	small := c.Hello(len(h.Ciphers) + 3)
	if !bytes.Equal(small.Ciphers, h.Ciphers) || !bytes.Equal(small.Extensions, h.Extensions[:2]) || len(small.Curves) != 0 || small.CipherXXH64 != h.CipherXXH64 {
		t.Errorf("capture at %d bytes: %+v", len(h.Ciphers)+3, small)
	}
	if cut := c.Hello(4); !bytes.Equal(cut.Ciphers, h.Ciphers[:4]) || len(cut.Extensions) != 0 {
		t.Errorf("capture at 4 bytes: %+v", cut)
	}
}

func TestHelloMessageAcrossRecords(t *testing.T) {
	msg := []byte{1, 0, 0, 6, 1, 2, 3, 4, 5, 6}
	recs := []byte{22, 3, 1, 0, 3}
	recs = append(recs, msg[:3]...)
	recs = append(recs, 22, 3, 1, 0, byte(len(msg)-3))
	recs = append(recs, msg[3:]...)
	for i := 0; i < len(recs); i++ {
		if _, done := helloMessage(recs[:i]); done {
			t.Fatalf("complete after %d of %d bytes", i, len(recs))
		}
	}
	if got, done := helloMessage(recs); !done || !bytes.Equal(got, msg) {
		t.Errorf("helloMessage = % x, %v", got, done)
	}
	if _, done := helloMessage([]byte{23, 3, 3, 0, 1}); !done {
		t.Error("a non-handshake record must end the capture")
	}
}

func TestCaptureRelease(t *testing.T) {
	c, _ := handshakeCapture(t)
	if c.Hello(1<<14) == nil {
		t.Fatal("no ClientHello captured")
	}
	c.Release()
	if c.Hello(1<<14) != nil || c.msg != nil {
		t.Error("the ClientHello is still held after Release")
	}
}
