package h2

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawClient speaks HTTP/2 frame by frame, for protocol and attack tests.
type rawClient struct {
	t        testing.TB
	nc       net.Conn
	fr       *http2.Framer
	enc      *hpack.Encoder
	hbuf     bytes.Buffer
	settings map[http2.SettingID]uint32
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return newRaw(t, nc)
}

func newRaw(t testing.TB, nc net.Conn) *rawClient {
	c := &rawClient{t: t, nc: nc, settings: map[http2.SettingID]uint32{}}
	c.fr = http2.NewFramer(nc, nc)
	c.fr.AllowIllegalWrites = true // attacks write what a sane client would not
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.enc = hpack.NewEncoder(&c.hbuf)
	return c
}

// handshake sends the preface and empty SETTINGS, reads the server's SETTINGS
// (and its connection WINDOW_UPDATE) and acknowledges them.
func (c *rawClient) handshake(settings ...http2.Setting) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, http2.ClientPreface); err != nil {
		c.t.Fatal(err)
	}
	c.must(c.fr.WriteSettings(settings...))
	f := c.read()
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		c.t.Fatalf("first server frame %v, want SETTINGS", f)
	}
	_ = sf.ForeachSetting(func(s http2.Setting) error { c.settings[s.ID] = s.Val; return nil })
	c.must(c.fr.WriteSettingsAck())
}

func (c *rawClient) must(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
}

// block HPACK-encodes name/value pairs.
func (c *rawClient) block(kv ...string) []byte {
	c.hbuf.Reset()
	for i := 0; i < len(kv); i += 2 {
		_ = c.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return append([]byte(nil), c.hbuf.Bytes()...)
}

var getReq = []string{":method", "GET", ":scheme", "https", ":path", "/", ":authority", "example.com"}

func (c *rawClient) headers(id uint32, end bool, kv ...string) {
	c.t.Helper()
	c.must(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block(kv...),
		EndStream: end, EndHeaders: true}))
}

// readErr reads the next frame within 5 seconds.
func (c *rawClient) readErr() (http2.Frame, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c.fr.ReadFrame()
}

func (c *rawClient) read() http2.Frame {
	c.t.Helper()
	f, err := c.readErr()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

// until reads frames until match returns true; it fails on EOF or timeout.
func (c *rawClient) until(what string, match func(http2.Frame) bool) http2.Frame {
	c.t.Helper()
	for {
		f, err := c.readErr()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(f) {
			return f
		}
	}
}

func (c *rawClient) expectRST(id uint32, code http2.ErrCode) {
	c.t.Helper()
	f := c.until("RST_STREAM", func(f http2.Frame) bool {
		if g, ok := f.(*http2.GoAwayFrame); ok {
			c.t.Fatalf("got GOAWAY %v (%s), want RST_STREAM %v on %d", g.ErrCode, g.DebugData(), code, id)
		}
		r, ok := f.(*http2.RSTStreamFrame)
		return ok && r.StreamID == id
	}).(*http2.RSTStreamFrame)
	if f.ErrCode != code {
		c.t.Fatalf("RST_STREAM %d code %v, want %v", id, f.ErrCode, code)
	}
}

// expectGoAway reads until GOAWAY with code, then until the server closes.
func (c *rawClient) expectGoAway(code http2.ErrCode) *http2.GoAwayFrame {
	c.t.Helper()
	g := c.until("GOAWAY", func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok }).(*http2.GoAwayFrame)
	if g.ErrCode != code {
		c.t.Fatalf("GOAWAY code %v (%s), want %v", g.ErrCode, g.DebugData(), code)
	}
	c.expectClosed()
	return g
}

func (c *rawClient) expectClosed() {
	c.t.Helper()
	for {
		_, err := c.readErr()
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatal("connection still open")
		}
		return
	}
}

// response reads one stream's response: status, body, trailers.
func (c *rawClient) response(id uint32) (status string, body []byte, trailers []hpack.HeaderField) {
	c.t.Helper()
	for {
		f := c.read()
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamID != id {
				continue
			}
			if s := f.PseudoValue("status"); s != "" {
				if s[0] == '1' {
					continue
				}
				status = s
			} else {
				trailers = f.Fields
			}
			if f.StreamEnded() {
				return
			}
		case *http2.DataFrame:
			if f.StreamID != id {
				continue
			}
			body = append(body, f.Data()...)
			if len(f.Data()) > 0 {
				c.must(c.fr.WriteWindowUpdate(0, uint32(len(f.Data()))))
				c.must(c.fr.WriteWindowUpdate(id, uint32(len(f.Data()))))
			}
			if f.StreamEnded() {
				return
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				c.t.Fatalf("stream %d reset: %v", id, f.ErrCode)
			}
		case *http2.GoAwayFrame:
			if f.ErrCode != http2.ErrCodeNo {
				c.t.Fatalf("GOAWAY %v: %s", f.ErrCode, f.DebugData())
			}
		}
	}
}

// ping proves the connection still works.
func (c *rawClient) ping() {
	c.t.Helper()
	data := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	c.must(c.fr.WritePing(false, data))
	c.until("PING ACK", func(f http2.Frame) bool {
		p, ok := f.(*http2.PingFrame)
		return ok && p.IsAck() && p.Data == data
	})
}

// get does a full GET on a fresh stream and checks the 200.
func (c *rawClient) get(id uint32) {
	c.t.Helper()
	c.headers(id, true, getReq...)
	if st, _, _ := c.response(id); st != "200" {
		c.t.Fatalf("stream %d status %q", id, st)
	}
}
