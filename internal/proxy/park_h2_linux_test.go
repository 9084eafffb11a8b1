package proxy

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/h2"
)

// h2ParkListener is parkListener serving h2c (bind ... proto h2).
func h2ParkListener(t *testing.T) *parkEnv {
	return parkListener(t, 30*time.Second, nil, func(l *Listener) {
		l.Bind = &config.Bind{Proto: "h2"}
		l.FE.H2 = &h2.Config{Counters: new(h2.Counters)}
	})
}

// rawH2 is an h2c client whose encoder indexes every field.
type rawH2 struct {
	t    *testing.T
	nc   net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hb   bytes.Buffer
	next uint32
}

func dialRawH2(t *testing.T, addr string) *rawH2 {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawH2{t: t, nc: nc, fr: http2.NewFramer(nc, nc), next: 1}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.hb)
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return c
}

// get sends a GET and reads its response; it returns the status, the body
// and the size of the request's header block.
func (c *rawH2) get() (string, string, int) {
	t := c.t
	t.Helper()
	c.hb.Reset()
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "h"}, {Name: ":path", Value: "/p"}, {Name: "x-kept", Value: "across parking"}} {
		_ = c.enc.WriteField(f)
	}
	id := c.next
	c.next += 2
	_ = c.nc.SetDeadline(time.Now().Add(20 * time.Second))
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	var status string
	var body bytes.Buffer
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = c.fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID == id && status == "" {
				status = f.PseudoValue("status")
			}
			if f.StreamID == id && f.StreamEnded() {
				return status, body.String(), c.hb.Len()
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				body.Write(f.Data())
				if f.StreamEnded() {
					return status, body.String(), c.hb.Len()
				}
			}
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v", f.ErrCode)
		case *http2.RSTStreamFrame:
			t.Fatalf("RST_STREAM %v", f.ErrCode)
		}
	}
}

// TestParkH2: an idle h2c connection parks; a PING is answered from
// parked; the next request, its header block all references to the HPACK
// tables, is served; the client's close ends it exactly once.
func TestParkH2(t *testing.T) {
	e := h2ParkListener(t)
	proc := e.l.FE.Proc
	c := dialRawH2(t, e.addr)
	if status, body, _ := c.get(); status != "200" || body != "ok\n" {
		t.Fatalf("first request: %s %q", status, body)
	}
	waitFor(t, "the connection to park", func() bool { return proc.Parked() == 1 })
	data := [8]byte{'p', 'i', 'n', 'g'}
	if err := c.fr.WritePing(false, data); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			t.Fatalf("waiting for the PING's answer: %v", err)
		}
		if p, ok := f.(*http2.PingFrame); ok && p.IsAck() && p.Data == data {
			break
		}
	}
	waitFor(t, "the connection to park again", func() bool { return proc.Parked() == 1 })
	status, body, block := c.get()
	if status != "200" || body != "ok\n" {
		t.Fatalf("request after parking: %s %q", status, body)
	}
	if block != 5 {
		t.Fatalf("second header block %d bytes, want 5 one-byte references", block)
	}
	waitFor(t, "the connection to park after its second request", func() bool { return proc.Parked() == 1 })
	// Parked, it keeps no table of streams in progress.
	proc.h2conns.mu.Lock()
	for hc := range proc.h2conns.conns {
		s := hc.cur.Load().s
		s.h2mu.Lock()
		if s.h2live != nil {
			t.Error("a parked connection keeps its (empty) table of streams in progress")
		}
		s.h2mu.Unlock()
	}
	proc.h2conns.mu.Unlock()
	c.nc.Close()
	waitFor(t, "the end of the connection", func() bool { return e.done.Load() == 1 && proc.Parked() == 0 })
	time.Sleep(50 * time.Millisecond) // a second end would come now
	fe := e.l.FE
	if e.done.Load() != 1 || fe.Counters.CurSess.Load() != 0 || proc.ActConn.Load() != 0 || fe.H2.Counters.OpenConns.Load() != 0 {
		t.Fatalf("after the close: done %d, cur %d, act %d, h2 open %d", e.done.Load(), fe.Counters.CurSess.Load(),
			proc.ActConn.Load(), fe.H2.Counters.OpenConns.Load())
	}
}

// TestParkH2Retire: a runtime that retires with nothing to take over
// sends its parked HTTP/2 connections a GOAWAY and closes them.
func TestParkH2Retire(t *testing.T) {
	e := h2ParkListener(t)
	proc := e.l.FE.Proc
	c := dialRawH2(t, e.addr)
	if status, _, _ := c.get(); status != "200" {
		t.Fatalf("status %s", status)
	}
	waitFor(t, "the connection to park", func() bool { return proc.Parked() == 1 })
	proc.Stop()
	gotAway := false
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			if !gotAway {
				t.Fatalf("closed without a GOAWAY: %v", err)
			}
			break
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			gotAway = true
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = c.fr.WritePing(true, f.Data)
			}
		}
	}
	waitFor(t, "the end of the connection", func() bool { return e.done.Load() == 1 })
}
