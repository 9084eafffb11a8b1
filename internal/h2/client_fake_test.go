package h2

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// fakeServer is the server end of a ClientConn, driven frame by frame by
// a test: what a real server would rarely do on demand (GOAWAY between
// two streams, a refused stream, a window held shut) it does when told.
type fakeServer struct {
	t      testing.TB
	nc     net.Conn
	fr     *http2.Framer
	enc    *hpack.Encoder
	encBuf bytes.Buffer
}

// newFakePair connects a ClientConn to a fakeServer over loopback TCP. The
// server has read the client's preface and sent its SETTINGS.
func newFakePair(t testing.TB, cfg *ClientConfig, settings ...http2.Setting) (*ClientConn, *fakeServer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- nc
	}()
	cn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClientConn(cn, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var sn net.Conn
	select {
	case sn = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the fake server never accepted")
	}
	if sn == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { sn.Close() })
	_ = sn.SetDeadline(time.Now().Add(20 * time.Second))
	s := &fakeServer{t: t, nc: sn}
	s.fr = http2.NewFramer(sn, sn)
	s.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	s.enc = hpack.NewEncoder(&s.encBuf)
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(sn, preface); err != nil || string(preface) != http2.ClientPreface {
		t.Fatalf("client preface %q: %v", preface, err)
	}
	s.must(s.fr.WriteSettings(settings...))
	return c, s
}

func (s *fakeServer) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

// until reads frames until match accepts one.
func (s *fakeServer) until(what string, match func(http2.Frame) bool) http2.Frame {
	s.t.Helper()
	for {
		f, err := s.fr.ReadFrame()
		if err != nil {
			s.t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(f) {
			return f
		}
	}
}

// request waits for the HEADERS of a new request and returns its stream id.
func (s *fakeServer) request() *http2.MetaHeadersFrame {
	s.t.Helper()
	return s.until("a request", func(f http2.Frame) bool {
		_, ok := f.(*http2.MetaHeadersFrame)
		return ok
	}).(*http2.MetaHeadersFrame)
}

func (s *fakeServer) block(kv ...string) []byte {
	s.encBuf.Reset()
	for i := 0; i < len(kv); i += 2 {
		s.must(s.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]}))
	}
	return append([]byte(nil), s.encBuf.Bytes()...)
}

func (s *fakeServer) headers(id uint32, end bool, kv ...string) {
	s.t.Helper()
	s.must(s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: s.block(kv...), EndStream: end, EndHeaders: true}))
}

// get starts a GET on c; the stream waits at most 10 s for anything.
func get(t testing.TB, c *ClientConn, path string) *ClientStream {
	t.Helper()
	st := new(ClientStream)
	st.SetWait(10*time.Second, nil)
	if !c.TryReserve() {
		t.Fatal("no stream slot on a fresh connection")
	}
	if err := c.Start(st, &ClientRequest{Method: "GET", Scheme: "http", Authority: "app.example", Path: path, EndStream: true}); err != nil {
		t.Fatal(err)
	}
	return st
}

func readAllBody(st *ClientStream) (string, error) {
	b, err := io.ReadAll(st)
	return string(b), err
}

func TestClientResponseHeadBodyTrailers(t *testing.T) {
	c, s := newFakePair(t, nil)
	st := get(t, c, "/a?b")
	req := s.request()
	if got := req.PseudoValue("path"); got != "/a?b" || req.PseudoValue("authority") != "app.example" || !req.StreamEnded() {
		t.Fatalf("request :path %q :authority %q ended %v", got, req.PseudoValue("authority"), req.StreamEnded())
	}
	s.headers(req.StreamID, false, ":status", "103", "link", "</s.css>")
	s.headers(req.StreamID, false, ":status", "200", "content-type", "text/plain", "trailer", "x-sum")
	s.must(s.fr.WriteData(req.StreamID, false, []byte("hello ")))
	s.must(s.fr.WriteData(req.StreamID, false, []byte("world")))
	s.headers(req.StreamID, true, "x-sum", "11")
	var resp httpmsg.Response
	final, err := st.ReadHead(&resp)
	if err != nil || final || resp.Status != 103 || resp.Header[0] != (httpmsg.Header{Name: "link", Value: "</s.css>"}) {
		t.Fatalf("interim head: final %v status %d fields %v: %v", final, resp.Status, resp.Header, err)
	}
	final, err = st.ReadHead(&resp)
	if err != nil || !final || resp.Status != 200 || resp.ContentLength != -1 || len(resp.Header) != 2 {
		t.Fatalf("final head: %v status %d length %d fields %v: %v", final, resp.Status, resp.ContentLength, resp.Header, err)
	}
	if body, err := readAllBody(st); err != nil || body != "hello world" {
		t.Fatalf("body %q: %v", body, err)
	}
	if tr := st.Trailers(); len(tr) != 1 || tr[0] != (httpmsg.Header{Name: "x-sum", Value: "11"}) {
		t.Fatalf("trailers %v", tr)
	}
	st.Release()
	if n := c.Active(); n != 0 {
		t.Fatalf("%d streams still active after the response ended", n)
	}
}

// TestClientNoGoroutinePerRequest: streams in flight cost no goroutine;
// x/net's ClientConn ran one per request (doRequest), and the proxy one
// more to cancel it.
func TestClientNoGoroutinePerRequest(t *testing.T) {
	c, s := newFakePair(t, nil)
	before := goroutines()
	streams := make([]*ClientStream, 50)
	for i := range streams {
		streams[i] = get(t, c, "/")
	}
	if d := goroutines() - before; d > 0 {
		t.Fatalf("50 requests in flight started %d goroutines", d)
	}
	for range streams {
		req := s.request()
		s.headers(req.StreamID, true, ":status", "204")
	}
	for i, st := range streams {
		var resp httpmsg.Response
		if final, err := st.ReadHead(&resp); err != nil || !final || resp.Status != 204 || !resp.NoBody {
			t.Fatalf("stream %d: final %v status %d: %v", i, final, resp.Status, err)
		}
		st.Release()
	}
}

func goroutines() int { return runtime.NumGoroutine() }

// TestClientRefusedAndGoAway: a stream refused (REFUSED_STREAM) or beyond
// a GOAWAY's last stream id fails with ErrRefused, which the proxy
// retries; streams up to the last id complete; the connection takes no
// new stream and closes with its last one.
func TestClientRefusedAndGoAway(t *testing.T) {
	c, s := newFakePair(t, nil)
	st1, st3, st5 := get(t, c, "/1"), get(t, c, "/3"), get(t, c, "/5")
	for range 3 {
		s.request()
	}
	s.must(s.fr.WriteRSTStream(st5.ID(), http2.ErrCodeRefusedStream))
	s.must(s.fr.WriteGoAway(st1.ID(), http2.ErrCodeNo, nil))
	var resp httpmsg.Response
	for _, st := range []*ClientStream{st3, st5} {
		if _, err := st.ReadHead(&resp); !errors.Is(err, ErrRefused) {
			t.Fatalf("stream %d: %v, want ErrRefused", st.ID(), err)
		}
		st.Release()
	}
	if c.TryReserve() {
		t.Fatal("a stream reserved after GOAWAY")
	}
	if c.Dead() {
		t.Fatal("dead while stream 1 is still in flight")
	}
	s.headers(st1.ID(), false, ":status", "200", "content-length", "2")
	s.must(s.fr.WriteData(st1.ID(), true, []byte("ok")))
	if final, err := st1.ReadHead(&resp); err != nil || !final {
		t.Fatalf("stream 1 below the last stream id: %v", err)
	}
	if body, err := readAllBody(st1); err != nil || body != "ok" {
		t.Fatalf("stream 1 body %q: %v", body, err)
	}
	st1.Release()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not close after its last stream")
	}
	if !c.Dead() {
		t.Fatal("closed connection not dead")
	}
}

// TestClientServerLimitRefusesReservation: the server's
// SETTINGS_MAX_CONCURRENT_STREAMS is honoured: a full connection refuses
// the reservation (the pool opens another), and a slot frees when a
// stream ends.
func TestClientServerLimitRefusesReservation(t *testing.T) {
	c, s := newFakePair(t, nil, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 2})
	s.until("SETTINGS ack", func(f http2.Frame) bool {
		sf, ok := f.(*http2.SettingsFrame)
		return ok && sf.IsAck()
	})
	st1 := get(t, c, "/1")
	_ = get(t, c, "/3")
	if c.TryReserve() {
		t.Fatal("a third stream reserved past the server's limit of 2")
	}
	req := s.request()
	s.headers(req.StreamID, true, ":status", "200")
	var resp httpmsg.Response
	if _, err := st1.ReadHead(&resp); err != nil {
		t.Fatal(err)
	}
	st1.Release()
	if !c.TryReserve() {
		t.Fatal("no slot after a stream ended")
	}
	c.Unreserve()
}

// TestClientCancelResetsStream: a request abandoned (client gone, timeout)
// sends RST_STREAM(CANCEL), and the waiter fails at once.
func TestClientCancelResetsStream(t *testing.T) {
	c, s := newFakePair(t, nil)
	cancel := make(chan struct{})
	st := new(ClientStream)
	st.SetWait(10*time.Second, cancel)
	if !c.TryReserve() {
		t.Fatal("no slot")
	}
	if err := c.Start(st, &ClientRequest{Method: "GET", Scheme: "https", Path: "/hang", EndStream: true}); err != nil {
		t.Fatal(err)
	}
	req := s.request()
	if req.PseudoValue("scheme") != "https" || req.PseudoValue("authority") != "" {
		t.Fatalf(":scheme %q :authority %q", req.PseudoValue("scheme"), req.PseudoValue("authority"))
	}
	close(cancel)
	var resp httpmsg.Response
	if _, err := st.ReadHead(&resp); !errors.Is(err, ErrCanceled) {
		t.Fatalf("ReadHead after cancel: %v", err)
	}
	st.Release()
	rst := s.until("RST_STREAM", func(f http2.Frame) bool { _, ok := f.(*http2.RSTStreamFrame); return ok }).(*http2.RSTStreamFrame)
	if rst.StreamID != req.StreamID || rst.ErrCode != http2.ErrCodeCancel {
		t.Fatalf("RST_STREAM %d %v, want %d CANCEL", rst.StreamID, rst.ErrCode, req.StreamID)
	}
	// A late answer to the reset stream is ignored; the connection lives on.
	s.headers(req.StreamID, true, ":status", "200")
	st2 := get(t, c, "/next")
	req2 := s.request()
	s.headers(req2.StreamID, true, ":status", "204")
	if final, err := st2.ReadHead(&resp); err != nil || !final || resp.Status != 204 {
		t.Fatalf("next stream: %d %v", resp.Status, err)
	}
}

// TestClientIdleTimeoutWaiting: a server that never answers fails the
// wait with ErrTimeout after the idle bound.
func TestClientIdleTimeoutWaiting(t *testing.T) {
	c, s := newFakePair(t, nil)
	st := get(t, c, "/")
	st.SetWait(50*time.Millisecond, nil)
	s.request()
	var resp httpmsg.Response
	if _, err := st.ReadHead(&resp); !errors.Is(err, ErrTimeout) {
		t.Fatalf("ReadHead: %v, want ErrTimeout", err)
	}
	st.Release()
}

// TestClientOversizedHeadKeepsConnection: a response head past
// MaxHeaderListSize fails its stream as malformed; the HPACK state stays
// in step, so the next stream on the connection decodes fine.
func TestClientOversizedHeadKeepsConnection(t *testing.T) {
	c, s := newFakePair(t, &ClientConfig{MaxHeaderListSize: 1024})
	st := get(t, c, "/big")
	req := s.request()
	big := string(bytes.Repeat([]byte{'v'}, 2000))
	// Both fields go into the server's dynamic table, x-tag first; the
	// next block refers to x-tag by an index that counts x-big: decoded
	// without keeping it, x-big must still have entered our table.
	s.encBuf.Reset()
	for _, f := range []hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "x-tag", Value: "one"}, {Name: "x-big", Value: big}} {
		s.must(s.enc.WriteField(f))
	}
	s.must(s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: req.StreamID, BlockFragment: append([]byte(nil), s.encBuf.Bytes()...), EndStream: true, EndHeaders: true}))
	var resp httpmsg.Response
	if _, err := st.ReadHead(&resp); !errors.Is(err, ErrMalformed) {
		t.Fatalf("oversized head: %v, want ErrMalformed", err)
	}
	st.Release()
	st2 := get(t, c, "/small")
	req2 := s.request()
	s.headers(req2.StreamID, true, ":status", "200", "x-tag", "one")
	if final, err := st2.ReadHead(&resp); err != nil || !final || len(resp.Header) != 1 || resp.Header[0] != (httpmsg.Header{Name: "x-tag", Value: "one"}) {
		t.Fatalf("next stream: %v %v", resp.Header, err)
	}
}

// TestClientMalformedResponses: heads and bodies HTTP/2 forbids fail the
// stream as malformed (the proxy answers 502), never reach the client.
func TestClientMalformedResponses(t *testing.T) {
	cases := []struct {
		name string
		send func(s *fakeServer, id uint32)
	}{
		{"no status", func(s *fakeServer, id uint32) { s.headers(id, true, "content-type", "x") }},
		{"bad status", func(s *fakeServer, id uint32) { s.headers(id, true, ":status", "2000") }},
		{"request pseudo-field", func(s *fakeServer, id uint32) { s.headers(id, true, ":status", "200", ":path", "/") }},
		{"upper-case name", func(s *fakeServer, id uint32) { s.headers(id, true, ":status", "200", "X-Up", "1") }},
		{"connection-specific", func(s *fakeServer, id uint32) { s.headers(id, true, ":status", "200", "transfer-encoding", "chunked") }},
		{"value with newline", func(s *fakeServer, id uint32) { s.headers(id, true, ":status", "200", "x-a", "1\r\nx-b: 2") }},
		{"101", func(s *fakeServer, id uint32) { s.headers(id, false, ":status", "101") }},
		{"conflicting lengths", func(s *fakeServer, id uint32) {
			s.headers(id, true, ":status", "200", "content-length", "1", "content-length", "2")
		}},
		{"DATA before HEADERS", func(s *fakeServer, id uint32) { s.must(s.fr.WriteData(id, true, []byte("x"))) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, s := newFakePair(t, nil)
			st := get(t, c, "/")
			req := s.request()
			tc.send(s, req.StreamID)
			var resp httpmsg.Response
			if _, err := st.ReadHead(&resp); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ReadHead: status %d, %v; want ErrMalformed", resp.Status, err)
			}
			rst := s.until("RST_STREAM", func(f http2.Frame) bool { _, ok := f.(*http2.RSTStreamFrame); return ok }).(*http2.RSTStreamFrame)
			if rst.ErrCode != http2.ErrCodeProtocol {
				t.Fatalf("RST_STREAM %v, want PROTOCOL_ERROR", rst.ErrCode)
			}
		})
	}
}

// TestClientBodyLengthChecked: a body longer or shorter than its
// content-length is an error, never a complete body.
func TestClientBodyLengthChecked(t *testing.T) {
	for _, tc := range []struct{ name, body string }{{"longer", "toolong"}, {"shorter", "ab"}} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := newFakePair(t, nil)
			st := get(t, c, "/")
			req := s.request()
			s.headers(req.StreamID, false, ":status", "200", "content-length", "4")
			s.must(s.fr.WriteData(req.StreamID, true, []byte(tc.body)))
			var resp httpmsg.Response
			if _, err := st.ReadHead(&resp); err != nil {
				t.Fatal(err)
			}
			if body, err := readAllBody(st); !errors.Is(err, ErrMalformed) {
				t.Fatalf("body %q: %v, want ErrMalformed", body, err)
			}
		})
	}
}

// TestClientServerCloseMidStream: a connection lost in the middle of a
// body fails the read; the part that came is not a whole body.
func TestClientServerCloseMidStream(t *testing.T) {
	c, s := newFakePair(t, nil)
	st := get(t, c, "/")
	req := s.request()
	s.headers(req.StreamID, false, ":status", "200")
	s.must(s.fr.WriteData(req.StreamID, false, []byte("partial")))
	var resp httpmsg.Response
	if _, err := st.ReadHead(&resp); err != nil {
		t.Fatal(err)
	}
	s.nc.Close()
	body, err := readAllBody(st)
	if err == nil || body != "partial" {
		t.Fatalf("body %q, err %v: want the part and an error", body, err)
	}
	if !c.Dead() || c.TryReserve() {
		t.Fatal("a lost connection still takes streams")
	}
}

// TestClientPingAndSettingsAcked: the server's PING and SETTINGS are
// acknowledged.
func TestClientPingAndSettingsAcked(t *testing.T) {
	_, s := newFakePair(t, nil)
	s.until("SETTINGS ack", func(f http2.Frame) bool {
		sf, ok := f.(*http2.SettingsFrame)
		return ok && sf.IsAck()
	})
	data := [8]byte{'g', 'a', 't', 'e', 'h', 'o', 'u', 's'}
	s.must(s.fr.WritePing(false, data))
	p := s.until("PING ack", func(f http2.Frame) bool { _, ok := f.(*http2.PingFrame); return ok }).(*http2.PingFrame)
	if !p.IsAck() || p.Data != data {
		t.Fatalf("PING ack %v %q", p.IsAck(), p.Data)
	}
}

// TestClientRequestBodyFlowControl: a request body waits for the
// server's window: 10 bytes of stream window let 10 bytes through, a
// WINDOW_UPDATE the rest.
func TestClientRequestBodyFlowControl(t *testing.T) {
	c, s := newFakePair(t, nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	s.until("SETTINGS ack", func(f http2.Frame) bool {
		sf, ok := f.(*http2.SettingsFrame)
		return ok && sf.IsAck()
	})
	st := new(ClientStream)
	st.SetWait(10*time.Second, nil)
	if !c.TryReserve() {
		t.Fatal("no slot")
	}
	if err := c.Start(st, &ClientRequest{Method: "POST", Scheme: "http", Authority: "x", Path: "/up"}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789"), 10)
	sent := make(chan error, 1)
	go func() {
		_, err := st.Write(body)
		if err == nil {
			err = st.CloseSend()
		}
		sent <- err
	}()
	req := s.request()
	if req.StreamEnded() {
		t.Fatal("HEADERS of a request with a body ended the stream")
	}
	var got []byte
	d := s.until("DATA", func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok }).(*http2.DataFrame)
	got = append(got, d.Data()...)
	if len(got) != 10 {
		t.Fatalf("first DATA %d bytes, the window was 10", len(got))
	}
	select {
	case err := <-sent:
		t.Fatalf("the body was sent past a shut window: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	s.must(s.fr.WriteWindowUpdate(req.StreamID, 1000))
	for {
		d := s.until("DATA", func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok }).(*http2.DataFrame)
		got = append(got, d.Data()...)
		if d.StreamEnded() {
			break
		}
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("server got %q", got)
	}
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the body writer never returned")
	}
}

// TestClientResponseWindow: the client never lets the server send past
// the windows it advertised, and returns them as the body is read.
func TestClientResponseWindow(t *testing.T) {
	c, s := newFakePair(t, &ClientConfig{StreamWindow: 1000, ConnWindow: 65535})
	st := get(t, c, "/")
	req := s.request()
	s.headers(req.StreamID, false, ":status", "200")
	s.must(s.fr.WriteData(req.StreamID, false, bytes.Repeat([]byte{'a'}, 1000)))
	var resp httpmsg.Response
	if _, err := st.ReadHead(&resp); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1000)
	if n, err := io.ReadFull(st, buf); n != 1000 || err != nil {
		t.Fatalf("read %d: %v", n, err)
	}
	wu := s.until("WINDOW_UPDATE", func(f http2.Frame) bool {
		w, ok := f.(*http2.WindowUpdateFrame)
		return ok && w.StreamID == req.StreamID
	}).(*http2.WindowUpdateFrame)
	if wu.Increment != 1000 {
		t.Fatalf("stream window returned by %d, want 1000", wu.Increment)
	}
	// One byte past the window is the server's fault: the stream is reset.
	s.must(s.fr.WriteData(req.StreamID, false, bytes.Repeat([]byte{'b'}, 1001)))
	if _, err := readAllBody(st); !errors.Is(err, ErrMalformed) {
		t.Fatalf("body past the window: %v", err)
	}
	rst := s.until("RST_STREAM", func(f http2.Frame) bool { _, ok := f.(*http2.RSTStreamFrame); return ok }).(*http2.RSTStreamFrame)
	if rst.ErrCode != http2.ErrCodeFlowControl {
		t.Fatalf("RST_STREAM %v, want FLOW_CONTROL_ERROR", rst.ErrCode)
	}
}

// TestClientRequestFields: connection-specific fields and Host stay
// behind, names go lower-case, and a field HTTP/2 cannot carry fails the
// request before anything is sent.
func TestClientRequestFields(t *testing.T) {
	c, s := newFakePair(t, nil)
	st := new(ClientStream)
	if !c.TryReserve() {
		t.Fatal("no slot")
	}
	hdr := httpmsg.Headers{{Name: "Host", Value: "app.example"}, {Name: "Connection", Value: "close"},
		{Name: "X-Trace", Value: "a"}, {Name: "TE", Value: "gzip"}, {Name: "Expect", Value: "100-continue"}, {Name: "Cookie", Value: "s=1"}}
	err := c.Start(st, &ClientRequest{Method: "PATCH", Scheme: "http", Authority: "app.example", Path: "/p", Header: hdr,
		Skip: func(name string) bool { return name == "expect" }, TE: true, EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	req := s.request()
	var got []string
	for _, f := range req.Fields {
		got = append(got, f.Name+"="+f.Value)
	}
	want := []string{":method=PATCH", ":scheme=http", ":authority=app.example", ":path=/p", "x-trace=a", "cookie=s=1", "te=trailers"}
	if len(got) != len(want) {
		t.Fatalf("fields %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fields %q, want %q", got, want)
		}
	}
	for _, bad := range []httpmsg.Headers{{{Name: "X-A", Value: "1\n2"}}, {{Name: "X A", Value: "1"}}} {
		if !c.TryReserve() {
			t.Fatal("no slot")
		}
		err := c.Start(new(ClientStream), &ClientRequest{Method: "GET", Scheme: "http", Path: "/", Header: bad, EndStream: true})
		if !errors.Is(err, ErrBadField) {
			t.Fatalf("field %q: %v, want ErrBadField", bad, err)
		}
	}
	if n := c.Active(); n != 1 {
		t.Fatalf("%d streams active after refused fields, want the one sent", n)
	}
}
