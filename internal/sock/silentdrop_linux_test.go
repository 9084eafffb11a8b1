package sock

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestSilentDrop: with TCP_REPAIR (root) the client is told nothing and
// its read runs into its own deadline; without, the reset reaches it
// (loopback is one hop).
func TestSilentDrop(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	quiet := SilentDrop(Wrap(server.(*net.TCPConn)))
	if os.Geteuid() == 0 && !quiet {
		t.Fatal("TCP_REPAIR was refused to root")
	}
	_ = client.SetReadDeadline(time.Now().Add(time.Second))
	_, err = client.Read(make([]byte, 1))
	timedOut := errors.Is(err, os.ErrDeadlineExceeded)
	if quiet != timedOut {
		t.Fatalf("TCP_REPAIR used: %v; the client's read: %v", quiet, err)
	}
}
