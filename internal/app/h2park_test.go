//go:build linux

package app

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// h2peer is a raw HTTP/2 client: its HPACK encoder indexes every field,
// so a header sent twice goes the second time as a reference to the
// server's dynamic table.
type h2peer struct {
	t      *testing.T
	nc     net.Conn
	scheme string
	fr     *http2.Framer
	enc    *hpack.Encoder
	hb     bytes.Buffer
	next   uint32
}

// dialH2 connects (TLS with ALPN h2 when ca is set) and sends the preface
// and SETTINGS.
func dialH2(t *testing.T, addr string, ca *tlstest.CA) *h2peer {
	t.Helper()
	var nc net.Conn
	var err error
	if ca != nil {
		nc, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.CertPool(), ServerName: "edge.example", NextProtos: []string{"h2"}})
		if err == nil && nc.(*tls.Conn).ConnectionState().NegotiatedProtocol != "h2" {
			t.Fatal("ALPN did not select h2")
		}
	} else {
		nc, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	p := &h2peer{t: t, nc: nc, next: 1, scheme: "http"}
	if ca != nil {
		p.scheme = "https"
	}
	p.fr = http2.NewFramer(nc, nc)
	p.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	p.enc = hpack.NewEncoder(&p.hb)
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := p.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return p
}

// get sends a GET with fields and reads its response. It returns the
// status, the body and the size of the request's header block.
func (p *h2peer) get(path string, fields ...hpack.HeaderField) (status, body string, block int) {
	t := p.t
	t.Helper()
	p.hb.Reset()
	all := append([]hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: p.scheme},
		{Name: ":authority", Value: "edge.example"}, {Name: ":path", Value: path}}, fields...)
	for _, f := range all {
		if err := p.enc.WriteField(f); err != nil {
			t.Fatal(err)
		}
	}
	block = p.hb.Len()
	id := p.next
	p.next += 2
	_ = p.nc.SetDeadline(time.Now().Add(20 * time.Second))
	if err := p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the response to %s: %v", path, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = p.fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID == id && status == "" {
				status = f.PseudoValue("status")
			}
			if f.StreamID == id && f.StreamEnded() {
				return status, b.String(), block
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				b.Write(f.Data())
				if f.StreamEnded() {
					return status, b.String(), block
				}
			}
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v while waiting for the response to %s", f.ErrCode, path)
		case *http2.RSTStreamFrame:
			t.Fatalf("RST_STREAM %v on stream %d", f.ErrCode, f.StreamID)
		}
	}
}

// ping sends a PING and waits for its answer.
func (p *h2peer) ping(data [8]byte) {
	t := p.t
	t.Helper()
	_ = p.nc.SetDeadline(time.Now().Add(20 * time.Second))
	if err := p.fr.WritePing(false, data); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			t.Fatalf("waiting for the PING's answer: %v", err)
		}
		if pf, ok := f.(*http2.PingFrame); ok && pf.IsAck() && pf.Data == data {
			return
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			t.Fatalf("GOAWAY %v while waiting for the PING's answer", ga.ErrCode)
		}
	}
}

// awaitGoAway reads until a GOAWAY, then until the server closes; it
// returns the GOAWAY's code and when it came.
func (p *h2peer) awaitGoAway(within time.Duration) (http2.ErrCode, time.Time) {
	t := p.t
	t.Helper()
	_ = p.nc.SetDeadline(time.Now().Add(within))
	var code http2.ErrCode
	var at time.Time
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			if at.IsZero() {
				t.Fatalf("the connection ended without a GOAWAY: %v", err)
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("after the GOAWAY: %v, want the server to close", err)
			}
			return code, at
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			if at.IsZero() {
				at = time.Now()
			}
			code = f.ErrCode
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = p.fr.WritePing(true, f.Data)
			}
		}
	}
}

func parkedConfig(port int, bind, version, be string) string {
	return testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d %s
    http-request set-header X-Version %s
    default_backend app
backend app
    server s1 %s
`, port, bind, version, be)
}

// TestH2ParkedConnectionResumes: an idle HTTP/2 connection, h2c and over
// TLS, parks (no goroutine); a PING is answered from parked; the next
// request is served with the HPACK state from before (its header block
// made only of references to the dynamic table); the connection parks
// again; and the client's close ends it, its accounting to zero.
func TestH2ParkedConnectionResumes(t *testing.T) {
	ca := tlstest.NewCA(t)
	crt := ca.WritePEMFile(t, t.TempDir(), "edge.pem", "edge.example")
	be := echoBackend(t, "b1")
	for _, tc := range []struct {
		name string
		bind string
		ca   *tlstest.CA
	}{
		{"h2c", "proto h2", nil},
		{"tls", "ssl crt " + crt + " alpn h2", ca},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			rt := start(t, parkedConfig(port, tc.bind, "one", hostPort(be)))
			g := rt.Graph()
			p := dialH2(t, fmt.Sprintf("127.0.0.1:%d", port), tc.ca)
			custom := hpack.HeaderField{Name: "x-custom", Value: "parked-and-back"}
			status, body, first := p.get("/a", custom)
			if status != "200" || !strings.Contains(body, "x-custom=parked-and-back\n") {
				t.Fatalf("first request: %s %q", status, body)
			}
			waitFor(t, "the idle connection to park", func() bool { return g.Proc.Parked() == 1 })
			p.ping([8]byte{'p', 'a', 'r', 'k', 'e', 'd', '!', '?'})
			waitFor(t, "the connection to park again after the PING", func() bool { return g.Proc.Parked() == 1 })
			status, body, again := p.get("/a", custom)
			if status != "200" || !strings.Contains(body, "x-custom=parked-and-back\n") {
				t.Fatalf("request after parking: %s %q", status, body)
			}
			if again != 5 || first <= again {
				t.Fatalf("second header block is %d bytes (first %d), want 5 one-byte references to the tables", again, first)
			}
			waitFor(t, "the connection to park after its second request", func() bool { return g.Proc.Parked() == 1 })
			if cur := g.Frontends[0].Counters.CurSess.Load(); cur != 1 {
				t.Fatalf("current sessions while parked: %d, want 1", cur)
			}
			p.nc.Close()
			h2c := g.Frontends[0].H2.Counters
			waitFor(t, "the closed connection to end", func() bool {
				return g.Proc.Parked() == 0 && g.Proc.ActConn.Load() == 0 && h2c.OpenConns.Load() == 0 &&
					g.Frontends[0].Counters.CurSess.Load() == 0
			})
		})
	}
}

// TestH2ParkedIdleTimeout: timeout client still ends a parked connection
// with GOAWAY(NO_ERROR) and a close, as it ends an unparked idle one.
func TestH2ParkedIdleTimeout(t *testing.T) {
	be := echoBackend(t, "b1")
	port := freePort(t)
	cfg := strings.Replace(parkedConfig(port, "proto h2", "one", hostPort(be)),
		"    default_backend app", "    timeout client 2s\n    default_backend app", 1)
	rt := start(t, cfg)
	g := rt.Graph()
	p := dialH2(t, fmt.Sprintf("127.0.0.1:%d", port), nil)
	if status, _, _ := p.get("/a"); status != "200" {
		t.Fatalf("status %s", status)
	}
	answered := time.Now()
	waitFor(t, "the idle connection to park", func() bool { return g.Proc.Parked() == 1 })
	if d := time.Since(answered); d > 1500*time.Millisecond {
		t.Fatalf("parked only %v after the response; the idle timeout (2s) may have ended it first", d)
	}
	code, at := p.awaitGoAway(20 * time.Second)
	if code != http2.ErrCodeNo {
		t.Fatalf("GOAWAY %v, want NO_ERROR", code)
	}
	if d := at.Sub(answered); d < 1500*time.Millisecond || d > 10*time.Second {
		t.Fatalf("GOAWAY %v after the response, want timeout client (2s)", d)
	}
	waitFor(t, "the timed-out connection to end", func() bool {
		return g.Proc.Parked() == 0 && g.Proc.ActConn.Load() == 0 && g.Frontends[0].H2.Counters.OpenConns.Load() == 0
	})
}

// TestH2ParkedReloadAndStop: a reload moves a parked connection to the new
// runtime, parked there, without a GOAWAY, and its next request is served
// by the new configuration; a stop sends it a GOAWAY and closes it.
func TestH2ParkedReloadAndStop(t *testing.T) {
	be := echoBackend(t, "b1")
	port := freePort(t)
	rt := start(t, strings.Replace(parkedConfig(port, "proto h2", "one", hostPort(be)), "X-Version", "X-Custom", 1))
	g1 := rt.Graph()
	p := dialH2(t, fmt.Sprintf("127.0.0.1:%d", port), nil)
	if status, body, _ := p.get("/a"); status != "200" || !strings.Contains(body, "x-custom=one\n") {
		t.Fatalf("before the reload: %s %q", status, body)
	}
	waitFor(t, "the idle connection to park", func() bool { return g1.Proc.Parked() == 1 })
	g2 := buildGraph(t, strings.Replace(parkedConfig(port, "proto h2", "two", hostPort(be)), "X-Version", "X-Custom", 1))
	if err := rt.Apply(g2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the connection to park in the new runtime", func() bool {
		return g2.Proc.Parked() == 1 && g1.Proc.Parked() == 0 && g1.Proc.ActConn.Load() == 0
	})
	if status, body, _ := p.get("/b"); status != "200" || !strings.Contains(body, "x-custom=two\n") {
		t.Fatalf("after the reload: %s %q", status, body)
	}
	waitFor(t, "the connection to park again", func() bool { return g2.Proc.Parked() == 1 })
	stopped := make(chan error, 1)
	go func() { stopped <- rt.Shutdown() }()
	if code, _ := p.awaitGoAway(20 * time.Second); code != http2.ErrCodeNo {
		t.Fatalf("GOAWAY %v at the stop, want NO_ERROR", code)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the stop did not end within 20s")
	}
	if n := g2.Proc.ActConn.Load(); n != 0 {
		t.Fatalf("%d connections left after the stop", n)
	}
}
