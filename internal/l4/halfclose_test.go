package l4

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestHalfClosedTimeouts: once one direction of a tunnel has ended, the
// side Gatehouse shut for writing gets "timeout client-fin" (or
// "server-fin") instead of the long inactivity timeout, as in HAProxy.
func TestHalfClosedTimeouts(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	for _, tc := range []struct {
		name   string
		server func(net.Conn)
		client func(c *net.TCPConn, hello []byte)
		term   string
	}{
		// The server says goodbye and closes; the client reads it all but
		// never closes: client-fin ends the session.
		{name: "client-fin", term: "cD",
			server: func(c net.Conn) {
				c.Write([]byte("bye"))
				c.(*net.TCPConn).CloseWrite()
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				io.Copy(io.Discard, c)
			},
			client: func(c *net.TCPConn, hello []byte) {
				c.Write(hello)
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				io.ReadAll(c)
			}},
		// The client ends its direction; the server reads to the end but
		// neither answers nor closes: server-fin ends the session.
		{name: "server-fin", term: "sD",
			server: func(c net.Conn) {
				io.Copy(io.Discard, c)
				select {
				case <-hold:
				case <-time.After(30 * time.Second):
				}
			},
			client: func(c *net.TCPConn, hello []byte) { c.Write(hello); c.CloseWrite() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink, lg := newLogSink(t)
			be := backend(t, "be", tc.server)
			be.Timeouts.Server = 30 * time.Second
			be.Timeouts.ServerFin = 300 * time.Millisecond
			fe := frontend(t, be, lg)
			fe.Timeouts.Client = 30 * time.Second
			fe.Timeouts.ClientFin = 300 * time.Millisecond
			a := serve(t, &Listener{FE: fe, BindName: "x"})
			raw, err := net.Dial("tcp", a)
			if err != nil {
				t.Fatal(err)
			}
			c := raw.(*net.TCPConn)
			defer c.Close()
			start := time.Now()
			go tc.client(c, clientHello(t, "a.test"))
			var line string
			select {
			case line = <-sink.lines:
			case <-time.After(15 * time.Second):
				t.Fatalf("no log line 15 s into the session: the half-closed side kept its 30 s timeout")
			}
			m := tcplogRE.FindStringSubmatch(strings.TrimSpace(line))
			if m == nil {
				t.Fatalf("log line %q does not have the tcplog shape", line)
			}
			if m[8] != tc.term {
				t.Errorf("log %q: state %s, want %s", line, m[8], tc.term)
			}
			if el := time.Since(start); el < 300*time.Millisecond {
				t.Errorf("session ended after %v, before the 300 ms half-closed timeout", el)
			}
		})
	}
}
