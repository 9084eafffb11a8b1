package l4

import (
	"bytes"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// frontend builds the SNI router of the issue:
//
//	tcp-request inspect-delay 300ms
//	tcp-request content accept if { req.ssl_hello_type 1 }
//	tcp-request content reject
//	use_backend be if { req.ssl_sni -i a.test }
//	use_backend be if { req.ssl_sni -m end .b.test }
//	(no default_backend: an unknown SNI finds no server)
func frontend(t *testing.T, be *Backend, lg *logging.Logger) *Frontend {
	t.Helper()
	f, err := logging.Compile(logging.TCPLogFormat, config.Pos{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sni, err := SNIExpr()
	if err != nil {
		t.Fatal(err)
	}
	return &Frontend{
		Name: "fe", Counters: &counters.Proxy{}, ActConn: new(atomic.Int64),
		Timeouts:     config.Timeouts{Client: 2 * time.Second},
		InspectDelay: 300 * time.Millisecond,
		ContentRules: []Rule{{Cond: cond(t, "{ req.ssl_hello_type 1 }")}, {Reject: true}},
		Routes: []Route{
			{Cond: cond(t, "{ req.ssl_sni -i a.test }"), Backend: be},
			{Cond: cond(t, "{ req.ssl_sni -m end .b.test }"), Backend: be},
		},
		Log: lg, LogFormat: f, SNI: sni,
	}
}

// tcplog: %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
var tcplogRE = regexp.MustCompile(`^127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] (\S+) (\S+)/(\S+) (-1|\d+)/(-1|\d+)/(\d+) (\d+) (\S\S) \d+/\d+/\d+/\d+/\d+ 0/0$`)

// resetAfterPartial is a server that answers a few bytes, then resets.
func resetAfterPartial(c net.Conn) {
	io.ReadFull(c, make([]byte, 5))
	c.Write([]byte("partial"))
	c.(*net.TCPConn).SetLinger(0)
}

func TestSessions(t *testing.T) {
	// A name so long the ClientHello overflows the inspection buffer: the
	// rules then run on an incomplete hello, as HAProxy's do on a full buffer.
	long := strings.Repeat("x", 16000) + ".b.test"
	for _, tc := range []struct {
		name string
		// send writes to the proxy; the test then reads everything back.
		send     func(t *testing.T, c *net.TCPConn, hello []byte)
		sni      string
		server   func(net.Conn)
		wantEcho bool   // the client reads back what it sent
		srv      string // %b/%s
		term     string
		minTt    time.Duration
		// option splice-* on the frontend and the backend: the same
		// outcomes, with the bytes moved by splice(2) instead of copied.
		feSplice, beSplice Splice
	}{
		{name: "sni routed, replayed, half-closed", sni: "a.test", server: echo, wantEcho: true, srv: "be/s1", term: "--",
			send: func(t *testing.T, c *net.TCPConn, h []byte) { c.Write(h); c.Write([]byte("more")); c.CloseWrite() }},
		{name: "hello split in many segments", sni: "x.b.test", server: echo, wantEcho: true, srv: "be/s1", term: "--",
			send: func(t *testing.T, c *net.TCPConn, h []byte) {
				c.SetNoDelay(true)
				// The record header split too, then 100-byte segments.
				for _, n := range []int{1, 2} {
					c.Write(h[:n])
					h = h[n:]
					time.Sleep(time.Millisecond)
				}
				for len(h) > 0 {
					n := min(100, len(h))
					c.Write(h[:n])
					h = h[n:]
					time.Sleep(time.Millisecond)
				}
				c.Write([]byte("more"))
				c.CloseWrite()
			}},
		{name: "garbage rejected at once", server: echo, srv: "fe/<NOSRV>", term: "PR",
			send: func(t *testing.T, c *net.TCPConn, _ []byte) {
				c.Write([]byte("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"))
			}},
		{name: "no sni finds no backend", sni: "", server: echo, srv: "fe/<NOSRV>", term: "SC",
			send: func(t *testing.T, c *net.TCPConn, h []byte) { c.Write(h) }},
		{name: "unknown sni finds no backend", sni: "c.test", server: echo, srv: "fe/<NOSRV>", term: "SC",
			send: func(t *testing.T, c *net.TCPConn, h []byte) { c.Write(h) }},
		{name: "sni overflowing the buffer", sni: long, server: echo, srv: "fe/<NOSRV>", term: "PR",
			send: func(t *testing.T, c *net.TCPConn, h []byte) { c.Write(h) }},
		{name: "silent client rejected when inspect-delay ends", server: echo, srv: "fe/<NOSRV>", term: "PR", minTt: 300 * time.Millisecond,
			send: func(t *testing.T, c *net.TCPConn, _ []byte) {}},
		{name: "client closes without a byte", server: echo, srv: "fe/<NOSRV>", term: "PR",
			send: func(t *testing.T, c *net.TCPConn, _ []byte) { c.CloseWrite() }},
		{name: "server resets mid-stream", sni: "a.test", srv: "be/s1", term: "SD",
			server: resetAfterPartial,
			send:   func(t *testing.T, c *net.TCPConn, h []byte) { c.Write(h) }},
		{name: "client timeout in the data phase", sni: "a.test", srv: "be/s1", term: "cD", minTt: 2 * time.Second,
			server: func(c net.Conn) { io.Copy(io.Discard, c) },
			send:   func(t *testing.T, c *net.TCPConn, h []byte) { c.Write(h) }},
		{name: "spliced both ways, half-closed", sni: "a.test", server: echo, wantEcho: true, srv: "be/s1", term: "--",
			feSplice: Splice{Request: true, Response: true},
			send:     func(t *testing.T, c *net.TCPConn, h []byte) { c.Write(h); c.Write([]byte("more")); c.CloseWrite() }},
		{name: "spliced response, server resets mid-stream", sni: "a.test", srv: "be/s1", term: "SD",
			beSplice: Splice{Response: true},
			server:   resetAfterPartial,
			send:     func(t *testing.T, c *net.TCPConn, h []byte) { c.Write(h) }},
		{name: "spliced request, client timeout in the data phase", sni: "a.test", srv: "be/s1", term: "cD", minTt: 2 * time.Second,
			beSplice: Splice{Request: true},
			server:   func(c net.Conn) { io.Copy(io.Discard, c) },
			send:     func(t *testing.T, c *net.TCPConn, h []byte) { c.Write(h) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			sink, lg := newLogSink(t)
			be := backend(t, "be", tc.server)
			fe := frontend(t, be, lg)
			fe.Splice, be.Splice = tc.feSplice, tc.beSplice
			a := serve(t, &Listener{FE: fe, BindName: "x"})
			raw, err := net.Dial("tcp", a)
			if err != nil {
				t.Fatal(err)
			}
			c := raw.(*net.TCPConn)
			defer c.Close()
			var hello []byte
			if tc.name != "garbage rejected at once" {
				hello = clientHello(t, tc.sni)
			}
			tc.send(t, c, hello)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, _ := io.ReadAll(c)
			if tc.wantEcho {
				want := append(append([]byte{}, hello...), "more"...)
				if !bytes.Equal(got, want) {
					t.Errorf("echo: got %d bytes, want %d (peeked bytes must be replayed)", len(got), len(want))
				}
			}
			line := sink.next(t)
			m := tcplogRE.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("log line %q does not have the tcplog shape", line)
			}
			if m[2]+"/"+m[3] != tc.srv || m[8] != tc.term {
				t.Errorf("log %q: want %s and state %s", line, tc.srv, tc.term)
			}
			if tt, _ := strconv.Atoi(m[6]); time.Duration(tt)*time.Millisecond < tc.minTt {
				t.Errorf("Tt = %sms, want at least %v", m[6], tc.minTt)
			}
			if tc.wantEcho {
				if in := fe.Counters.BytesIn.Load(); in != uint64(len(hello)+4) {
					t.Errorf("frontend bytes in = %d, want %d", in, len(hello)+4)
				}
				if out := be.Counters.BytesOut.Load(); out != uint64(len(got)) {
					t.Errorf("backend bytes out = %d, want %d", out, len(got))
				}
			}
		})
	}
}
