package h2

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func TestHandshakeSettingsPing(t *testing.T) {
	ctr := new(Counters)
	srv := startServer(t, &Config{MaxConcurrentStreams: 7, MaxFrameSize: 32768, Counters: ctr}, nil, okHandler)
	c := dialRaw(t, srv.addr())
	c.handshake()
	if c.settings[http2.SettingMaxConcurrentStreams] != 7 || c.settings[http2.SettingMaxFrameSize] != 32768 ||
		c.settings[http2.SettingMaxHeaderListSize] != 64<<10 || c.settings[http2.SettingEnablePush] != 0 {
		t.Fatalf("settings %v", c.settings)
	}
	c.until("SETTINGS ACK", func(f http2.Frame) bool { s, ok := f.(*http2.SettingsFrame); return ok && s.IsAck() })
	c.ping()
	c.get(1)
	c.get(3)
	c.must(c.fr.WriteRSTStream(3, http2.ErrCodeCancel)) // closed already: counted, ignored
	c.ping()
	if ctr.TotalStreams.Load() != 2 || ctr.HeadersRcvd.Load() != 2 || ctr.SettingsRcvd.Load() != 1 ||
		ctr.RstStreamRcvd.Load() != 1 || ctr.OpenConns.Load() != 1 || ctr.TotalConns.Load() != 1 ||
		ctr.OpenStreams.Load() != 0 {
		t.Fatalf("counters: streams %d headers %d settings %d rst %d conns %d/%d open streams %d",
			ctr.TotalStreams.Load(), ctr.HeadersRcvd.Load(), ctr.SettingsRcvd.Load(), ctr.RstStreamRcvd.Load(),
			ctr.OpenConns.Load(), ctr.TotalConns.Load(), ctr.OpenStreams.Load())
	}
	c.headers(1, true, getReq...)
	c.expectGoAway(http2.ErrCodeProtocol)
	<-srv.errs
	if ctr.ConnProtoErr.Load() != 1 || ctr.GoawayResp.Load() != 1 || ctr.OpenConns.Load() != 0 {
		t.Fatalf("after GOAWAY: conn errors %d goaways %d open %d", ctr.ConnProtoErr.Load(),
			ctr.GoawayResp.Load(), ctr.OpenConns.Load())
	}
}

func TestFirstFrameMustBeSettings(t *testing.T) {
	srv := startServer(t, &Config{}, nil, okHandler)
	c := dialRaw(t, srv.addr())
	_, _ = io.WriteString(c.nc, http2.ClientPreface)
	c.must(c.fr.WritePing(false, [8]byte{}))
	c.expectGoAway(http2.ErrCodeProtocol)
}

func TestStreamIDRules(t *testing.T) {
	srv := startServer(t, &Config{}, nil, okHandler)
	t.Run("lower id", func(t *testing.T) {
		c := dialRaw(t, srv.addr())
		c.handshake()
		c.get(5)
		c.headers(3, true, getReq...)
		c.expectGoAway(http2.ErrCodeProtocol)
	})
	t.Run("reused id", func(t *testing.T) {
		c := dialRaw(t, srv.addr())
		c.handshake()
		c.get(1)
		c.headers(1, true, getReq...)
		c.expectGoAway(http2.ErrCodeProtocol)
	})
	t.Run("even id", func(t *testing.T) {
		c := dialRaw(t, srv.addr())
		c.handshake()
		c.headers(2, true, getReq...)
		c.expectGoAway(http2.ErrCodeProtocol)
	})
}

func TestFramesOnIdleAndClosedStreams(t *testing.T) {
	srv := startServer(t, &Config{}, nil, okHandler)
	t.Run("DATA on idle", func(t *testing.T) {
		c := dialRaw(t, srv.addr())
		c.handshake()
		c.must(c.fr.WriteData(1, true, []byte("x")))
		c.expectGoAway(http2.ErrCodeProtocol)
	})
	t.Run("RST_STREAM on idle", func(t *testing.T) {
		c := dialRaw(t, srv.addr())
		c.handshake()
		c.must(c.fr.WriteRSTStream(1, http2.ErrCodeCancel))
		c.expectGoAway(http2.ErrCodeProtocol)
	})
	t.Run("DATA on closed", func(t *testing.T) {
		c := dialRaw(t, srv.addr())
		c.handshake()
		c.get(1)
		c.must(c.fr.WriteData(1, true, []byte("x")))
		c.expectRST(1, http2.ErrCodeStreamClosed)
		c.get(3)
	})
	t.Run("DATA on half-closed remote", func(t *testing.T) {
		release := make(chan struct{})
		srv := startServer(t, &Config{}, nil, func(st *Stream) { <-release; okHandler(st) })
		c := dialRaw(t, srv.addr())
		c.handshake()
		c.headers(1, true, getReq...)
		c.must(c.fr.WriteData(1, false, []byte("x")))
		c.expectRST(1, http2.ErrCodeStreamClosed)
		close(release)
	})
}

func TestWindowUpdateRules(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	srv := startServer(t, &Config{}, nil, func(st *Stream) { <-block })
	cases := []struct {
		name   string
		stream uint32
		inc    uint32
		rst    bool
		code   http2.ErrCode
	}{
		{"zero on stream", 1, 0, true, http2.ErrCodeProtocol},
		{"zero on conn", 0, 0, false, http2.ErrCodeProtocol},
		{"overflow on stream", 1, 1<<31 - 1, true, http2.ErrCodeFlowControl},
		{"overflow on conn", 0, 1<<31 - 1, false, http2.ErrCodeFlowControl},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, srv.addr())
			c.handshake()
			c.headers(1, false, getReq...)
			c.must(c.fr.WriteWindowUpdate(tc.stream, tc.inc))
			if tc.rst {
				c.expectRST(1, tc.code)
				c.ping()
			} else {
				c.expectGoAway(tc.code)
			}
		})
	}
}

func TestInitialWindowSizeChangeAdjustsOpenStreams(t *testing.T) {
	srv := startServer(t, &Config{}, nil, okHandler)
	c := dialRaw(t, srv.addr())
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	c.headers(1, true, getReq...)
	c.until("response HEADERS", func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok })
	c.ping() // no DATA may arrive with a zero window
	c.must(c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 5}))
	d := c.until("DATA", func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok }).(*http2.DataFrame)
	if string(d.Data()) != string(okBody[:5]) {
		t.Fatalf("DATA %q, want the first 5 bytes", d.Data())
	}
	c.must(c.fr.WriteWindowUpdate(1, 1000))
	d = c.until("DATA", func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok }).(*http2.DataFrame)
	if string(d.Data()) != string(okBody[5:]) {
		t.Fatalf("DATA %q, want the rest", d.Data())
	}
}

func TestPrioritySelfDependency(t *testing.T) {
	srv := startServer(t, &Config{}, nil, okHandler)
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.must(c.fr.WritePriority(3, http2.PriorityParam{StreamDep: 3}))
	c.expectRST(3, http2.ErrCodeProtocol)
	c.must(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: c.block(getReq...),
		EndStream: true, EndHeaders: true, Priority: http2.PriorityParam{StreamDep: 5, Weight: 1}}))
	c.expectRST(5, http2.ErrCodeProtocol)
	c.get(7)
}

func TestMalformedRequestsAreStreamErrors(t *testing.T) {
	srv := startServer(t, &Config{}, nil, okHandler)
	c := dialRaw(t, srv.addr())
	c.handshake()
	cases := map[string][]string{
		"no :method":          {":scheme", "https", ":path", "/"},
		"no :path":            {":method", "GET", ":scheme", "https"},
		"empty :path":         {":method", "GET", ":scheme", "https", ":path", ""},
		"no :scheme":          {":method", "GET", ":path", "/"},
		"response pseudo":     {":status", "200"},
		"unknown pseudo":      {":method", "GET", ":scheme", "https", ":path", "/", ":foo", "x"},
		"duplicate pseudo":    {":method", "GET", ":method", "GET", ":scheme", "https", ":path", "/"},
		"pseudo after field":  {":method", "GET", ":scheme", "https", "a", "b", ":path", "/"},
		"upper-case name":     {":method", "GET", ":scheme", "https", ":path", "/", "X-Foo", "b"},
		"connection field":    {":method", "GET", ":scheme", "https", ":path", "/", "connection", "close"},
		"transfer-encoding":   {":method", "GET", ":scheme", "https", ":path", "/", "transfer-encoding", "chunked"},
		"te gzip":             {":method", "GET", ":scheme", "https", ":path", "/", "te", "gzip"},
		"space in path":       {":method", "GET", ":scheme", "https", ":path", "/a b HTTP/1.1"},
		"absolute :path":      {":method", "GET", ":scheme", "https", ":path", "http://a/b"},
		"relative :path":      {":method", "GET", ":scheme", "https", ":path", "a/b?u=http://x/y"},
		"fragment in :path":   {":method", "GET", ":scheme", "https", ":path", "/a#b"},
		"8bit in :path":       {":method", "GET", ":scheme", "https", ":path", "/\xc3\xa9"},
		"* not OPTIONS":       {":method", "GET", ":scheme", "https", ":path", "*"},
		"CONNECT no port":     {":method", "CONNECT", ":authority", "a"},
		"host != :authority":  {":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "host", "b"},
		":protocol":           {":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":path", "/", ":authority", "a"},
		"CONNECT with :path":  {":method", "CONNECT", ":authority", "a:443", ":path", "/"},
		"bad content-length":  {":method", "POST", ":scheme", "https", ":path", "/", "content-length", "1x"},
		"two content-lengths": {":method", "POST", ":scheme", "https", ":path", "/", "content-length", "1", "content-length", "2"},
	}
	id := uint32(1)
	for name, kv := range cases {
		c.headers(id, true, kv...)
		t.Log(name)
		c.expectRST(id, http2.ErrCodeProtocol)
		id += 2
	}
	c.get(id) // the connection survived all of them
}

func TestContentLengthAndTrailerRules(t *testing.T) {
	srv := startServer(t, &Config{}, nil, okHandler)
	c := dialRaw(t, srv.addr())
	c.handshake()
	post := func(cl string) []string {
		return []string{":method", "POST", ":scheme", "https", ":path", "/", "content-length", cl}
	}
	c.headers(1, false, post("5")...)
	c.must(c.fr.WriteData(1, true, []byte("abc")))
	c.expectRST(1, http2.ErrCodeProtocol)

	c.headers(3, false, post("2")...)
	c.must(c.fr.WriteData(3, true, []byte("abc")))
	c.expectRST(3, http2.ErrCodeProtocol)

	c.headers(5, false, post("3")...)
	c.must(c.fr.WriteData(5, false, []byte("abc")))
	c.headers(5, false, "x-trailer", "v") // trailers must end the stream
	c.expectRST(5, http2.ErrCodeProtocol)

	c.headers(7, false, post("3")...)
	c.must(c.fr.WriteData(7, false, []byte("abc")))
	c.headers(7, true, "x-trailer", "v")
	if st, _, _ := c.response(7); st != "200" {
		t.Fatalf("status %s", st)
	}
}

func TestMaxConcurrentStreamsRefused(t *testing.T) {
	release := map[uint32]chan struct{}{1: make(chan struct{}), 3: make(chan struct{})}
	srv := startServer(t, &Config{MaxConcurrentStreams: 2}, nil, func(st *Stream) {
		if ch := release[st.ID()]; ch != nil {
			<-ch
		}
		okHandler(st)
	})
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.headers(1, true, getReq...)
	c.headers(3, true, getReq...)
	c.headers(5, true, getReq...)
	c.expectRST(5, http2.ErrCodeRefusedStream)
	close(release[1])
	c.response(1)
	close(release[3])
	c.response(3)
	c.get(7)
}

func TestUnknownFrameIgnored(t *testing.T) {
	srv := startServer(t, &Config{}, nil, okHandler)
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.must(c.fr.WriteRawFrame(0xfa, 0, 0, []byte("whatever")))
	c.ping()
}

func TestLargeResponseHeadersUseContinuation(t *testing.T) {
	big := strings.Repeat("v", 40000)
	srv := startServer(t, &Config{}, nil, func(st *Stream) {
		_ = st.WriteHead(&httpmsg.Response{Status: 200, Header: httpmsg.Headers{{Name: "X-Big", Value: big},
			{Name: "Connection", Value: "close"}, {Name: "Transfer-Encoding", Value: "chunked"}}}, true)
	})
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.headers(1, true, getReq...)
	conts := 0
	c.fr.ReadMetaHeaders = nil // count the raw frames
	for {
		f := c.read()
		if _, ok := f.(*http2.ContinuationFrame); ok {
			conts++
			if f.Header().Flags.Has(http2.FlagContinuationEndHeaders) {
				break
			}
		}
	}
	if conts < 2 {
		t.Fatalf("%d CONTINUATION frames, want >= 2", conts)
	}
}

func TestResponseHeaderMapping(t *testing.T) {
	srv := startServer(t, &Config{}, nil, func(st *Stream) {
		_ = st.WriteHead(&httpmsg.Response{Status: 204, Header: httpmsg.Headers{{Name: "X-Foo", Value: "a"},
			{Name: "Keep-Alive", Value: "5"}, {Name: "Connection", Value: "x-hop"}, {Name: "X-Hop", Value: "1"},
			{Name: "TE", Value: "trailers"}, {Name: "Content-Length", Value: "0"}}}, true)
	})
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.headers(1, true, getReq...)
	h := c.until("HEADERS", func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok }).(*http2.MetaHeadersFrame)
	var got []string
	for _, f := range h.Fields {
		got = append(got, f.Name+"="+f.Value)
	}
	if want := ":status=204 x-foo=a te=trailers content-length=0"; strings.Join(got, " ") != want {
		t.Fatalf("fields %q, want %q", got, want)
	}
}

func TestRequestMapping(t *testing.T) {
	var mu sync.Mutex
	var req httpmsg.Request
	var body string
	var trailers httpmsg.Headers
	srv := startServer(t, &Config{}, nil, func(st *Stream) {
		b, _ := io.ReadAll(st.Body())
		mu.Lock()
		req, body, trailers = cloneRequest(st.Request()), string(b), st.Trailers()
		mu.Unlock()
		okHandler(st)
	})
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.headers(1, false, ":method", "POST", ":scheme", "https", ":path", "/p?q=1", ":authority", "example.com",
		"cookie", "a=1", "x-one", "1", "cookie", "b=2", "host", "example.com")
	c.must(c.fr.WriteData(1, false, []byte("hello ")))
	c.must(c.fr.WriteDataPadded(1, false, []byte("world"), make([]byte, 10)))
	c.headers(1, true, "x-sum", "abc")
	c.response(1)
	mu.Lock()
	if req.Method != "POST" || req.URI != "/p?q=1" || req.Proto != "HTTP/2.0" || req.Major != 2 ||
		req.ContentLength != -1 || !req.Chunked {
		t.Fatalf("request %+v", req)
	}
	var hs []string
	for _, h := range req.Header {
		hs = append(hs, h.Name+": "+h.Value)
	}
	if want := "host: example.com|x-one: 1|cookie: a=1; b=2"; strings.Join(hs, "|") != want {
		t.Fatalf("headers %q, want %q", hs, want)
	}
	if body != "hello world" || len(trailers) != 1 || trailers[0].Value != "abc" {
		t.Fatalf("body %q trailers %v", body, trailers)
	}
	mu.Unlock()

	c.headers(3, true, ":method", "CONNECT", ":authority", "db:5432")
	c.response(3)
	mu.Lock()
	defer mu.Unlock()
	if req.URI != "db:5432" || req.ContentLength != 0 || req.Chunked {
		t.Fatalf("CONNECT request %+v", req)
	}
}

func TestHandlerWithoutCloseResetsStream(t *testing.T) {
	srv := startServer(t, &Config{}, nil, func(st *Stream) {
		_ = st.WriteHead(&httpmsg.Response{Status: 200}, false)
		_, _ = st.Write([]byte("partial"))
	})
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.headers(1, true, getReq...)
	c.expectRST(1, http2.ErrCodeInternal)
}

func TestIdleTimeout(t *testing.T) {
	srv := startServer(t, &Config{IdleTimeout: 200 * time.Millisecond}, nil, okHandler)
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.get(1)
	start := time.Now()
	c.expectGoAway(http2.ErrCodeNo)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v", d)
	}
	if err := <-srv.errs; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// TestBodyBackPressure: a handler that does not read keeps the client within
// one stream window; reading returns the credit.
func TestBodyBackPressure(t *testing.T) {
	read := make(chan struct{})
	srv := startServer(t, &Config{InitialWindowSize: 16384}, nil, func(st *Stream) {
		<-read
		okHandler(st)
	})
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.headers(1, false, ":method", "POST", ":scheme", "https", ":path", "/")
	c.must(c.fr.WriteData(1, false, make([]byte, 16384)))
	c.ping()
	c.must(c.fr.WriteData(1, false, []byte("x"))) // beyond the window
	c.expectRST(1, http2.ErrCodeFlowControl)

	c.headers(3, false, ":method", "POST", ":scheme", "https", ":path", "/")
	c.must(c.fr.WriteData(3, false, make([]byte, 16384)))
	close(read)
	c.until("stream WINDOW_UPDATE", func(f http2.Frame) bool {
		w, ok := f.(*http2.WindowUpdateFrame)
		return ok && w.StreamID == 3
	})
	c.must(c.fr.WriteData(3, true, make([]byte, 100)))
	if st, _, _ := c.response(3); st != "200" {
		t.Fatal(st)
	}
}

// TestRepeatedContentLength: equal content-length fields are one field
// for the HTTP/1.1 server behind (issue 17 item 8); differing ones are
// refused (TestMalformedRequests).
func TestRepeatedContentLength(t *testing.T) {
	var mu sync.Mutex
	var req httpmsg.Request
	srv := startServer(t, &Config{}, nil, func(st *Stream) {
		io.ReadAll(st.Body())
		mu.Lock()
		req = cloneRequest(st.Request())
		mu.Unlock()
		okHandler(st)
	})
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.headers(1, false, ":method", "POST", ":scheme", "https", ":path", "/", ":authority", "example.com",
		"content-length", "5", "x-one", "1", "content-length", "5")
	c.must(c.fr.WriteData(1, true, []byte("hello")))
	c.response(1)
	mu.Lock()
	defer mu.Unlock()
	var hs []string
	for _, h := range req.Header {
		hs = append(hs, h.Name+": "+h.Value)
	}
	if want := "host: example.com|content-length: 5|x-one: 1"; strings.Join(hs, "|") != want || req.ContentLength != 5 {
		t.Fatalf("headers %q (length %d), want %q", hs, req.ContentLength, want)
	}
}
