package h2

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// fuzzConn plays a server's bytes to a ClientConn once ready is closed,
// then ends; what the client writes is dropped.
type fuzzConn struct {
	r     *bytes.Reader
	ready chan struct{}
}

func (c *fuzzConn) Read(p []byte) (int, error) {
	<-c.ready
	return c.r.Read(p)
}
func (c *fuzzConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *fuzzConn) Close() error                     { return nil }
func (c *fuzzConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *fuzzConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *fuzzConn) SetDeadline(time.Time) error      { return nil }
func (c *fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fuzzConn) SetWriteDeadline(time.Time) error { return nil }

// serverFrames builds a server's byte stream: its SETTINGS, then frames.
func serverFrames(build func(fr *http2.Framer, block func(kv ...string) []byte)) []byte {
	var out, hb bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	enc := hpack.NewEncoder(&hb)
	block := func(kv ...string) []byte {
		hb.Reset()
		for i := 0; i < len(kv); i += 2 {
			_ = enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return append([]byte(nil), hb.Bytes()...)
	}
	_ = fr.WriteSettings()
	build(fr, block)
	return out.Bytes()
}

// FuzzClientResponse feeds arbitrary server frames to two requests in
// flight (streams 1 and 3) and checks what the client delivers: no panic,
// no hang, and only well-formed heads and bodies true to their length.
func FuzzClientResponse(f *testing.F) {
	f.Add(serverFrames(func(fr *http2.Framer, block func(kv ...string) []byte) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "200", "content-length", "5"), EndHeaders: true})
		_ = fr.WriteData(1, true, []byte("hello"))
	}))
	f.Add(serverFrames(func(fr *http2.Framer, block func(kv ...string) []byte) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block(":status", "103", "link", "<a>"), EndHeaders: true})
		b := block(":status", "200", "trailer", "x-t", "x-long", string(bytes.Repeat([]byte{'v'}, 100)))
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: b[:10]})
		_ = fr.WriteContinuation(3, true, b[10:])
		_ = fr.WriteData(3, false, []byte("body"))
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block("x-t", "1"), EndStream: true, EndHeaders: true})
		_ = fr.WriteRSTStream(1, http2.ErrCodeRefusedStream)
	}))
	f.Add(serverFrames(func(fr *http2.Framer, block func(kv ...string) []byte) {
		_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1}, http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 20})
		_ = fr.WritePing(false, [8]byte{1})
		_ = fr.WriteWindowUpdate(0, 100)
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(":status", "204"), EndStream: true, EndHeaders: true})
		_ = fr.WriteGoAway(1, http2.ErrCodeNo, nil)
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		nc := &fuzzConn{r: bytes.NewReader(data), ready: make(chan struct{})}
		c, err := NewClientConn(nc, nil, &ClientConfig{MaxHeaderListSize: 4096, StreamWindow: 1000, ConnWindow: 65535})
		if err != nil {
			t.Fatal(err)
		}
		var streams [2]ClientStream
		for i := range streams {
			if !c.TryReserve() {
				t.Fatal("no slot")
			}
			req := &ClientRequest{Method: "GET", Scheme: "http", Authority: "a", Path: "/", EndStream: i == 0}
			if err := c.Start(&streams[i], req); err != nil {
				t.Fatal(err)
			}
		}
		close(nc.ready)
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the connection did not end with its input")
		}
		for i := range streams {
			checkFuzzStream(t, &streams[i])
		}
	})
}

func checkFuzzStream(t *testing.T, st *ClientStream) {
	var resp httpmsg.Response
	for range maxInterim + 1 {
		final, err := st.ReadHead(&resp)
		if err != nil {
			return
		}
		if resp.Status < 100 || resp.Status > 999 || final != (resp.Status >= 200) {
			t.Fatalf("head status %d final %v", resp.Status, final)
		}
		for _, f := range resp.Header {
			if checkResponseField(f) != nil {
				t.Fatalf("field %q: %q delivered", f.Name, f.Value)
			}
		}
		if final {
			break
		}
	}
	body, err := io.ReadAll(st)
	if err != nil {
		return
	}
	if resp.NoBody && len(body) > 0 {
		t.Fatalf("%d body bytes in a response without body", len(body))
	}
	if resp.ContentLength >= 0 && !resp.NoBody && int64(len(body)) != resp.ContentLength {
		t.Fatalf("complete body of %d bytes, content-length %d", len(body), resp.ContentLength)
	}
	for _, f := range st.Trailers() {
		if checkResponseField(f) != nil {
			t.Fatalf("trailer %q delivered", f.Name)
		}
	}
}
