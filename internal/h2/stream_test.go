package h2

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// benchClient is an h2c client that allocates nothing per stream, so what
// a benchmark counts is the server's. Its requests are h2load's: the
// first block indexes every field, later ones refer to the table.
type benchClient struct {
	tb  testing.TB
	nc  net.Conn
	br  *bufio.Reader
	req []byte // a HEADERS frame; the stream id at [5:9]
	id  uint32
	hdr [9]byte
}

func newBenchClient(tb testing.TB, addr string) *benchClient {
	tb.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	host := addr
	fields := []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: host}, {Name: ":path", Value: "/"}, {Name: "accept", Value: "*/*"},
		{Name: "accept-encoding", Value: "gzip, deflate"}, {Name: "user-agent", Value: "h2load nghttp2/1.52.0"}}
	var blk bytes.Buffer
	enc := hpack.NewEncoder(&blk)
	block := func() []byte {
		blk.Reset()
		for _, f := range fields {
			_ = enc.WriteField(f)
		}
		return append([]byte(nil), blk.Bytes()...)
	}
	first, later := block(), block()
	var w bytes.Buffer
	w.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&w, nil)
	_ = fr.WriteSettings()
	_ = fr.WriteWindowUpdate(0, 1<<30) // responses never wait for the connection window
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true, EndHeaders: true})
	if _, err := nc.Write(w.Bytes()); err != nil {
		tb.Fatal(err)
	}
	w.Reset()
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: later, EndStream: true, EndHeaders: true})
	c := &benchClient{tb: tb, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), req: append([]byte(nil), w.Bytes()...), id: 1}
	c.wait(1)
	return c
}

// send writes the next stream's request and returns its id.
func (c *benchClient) send() uint32 {
	c.id += 2
	binary.BigEndian.PutUint32(c.req[5:9], c.id)
	if _, err := c.nc.Write(c.req); err != nil {
		c.tb.Fatal(err)
	}
	return c.id
}

// wait reads frames until n streams have ended.
func (c *benchClient) wait(n int) {
	_ = c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	for n > 0 {
		if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
			c.tb.Fatalf("reading responses: %v", err)
		}
		length := int(c.hdr[0])<<16 | int(c.hdr[1])<<8 | int(c.hdr[2])
		typ, flags := http2.FrameType(c.hdr[3]), http2.Flags(c.hdr[4])
		if _, err := c.br.Discard(length); err != nil {
			c.tb.Fatalf("reading responses: %v", err)
		}
		switch typ {
		case http2.FrameHeaders, http2.FrameData:
			if flags.Has(http2.FlagDataEndStream) {
				n--
			}
		case http2.FrameRSTStream, http2.FrameGoAway:
			c.tb.Fatalf("server sent %v", typ)
		}
	}
}

var (
	benchResp = &httpmsg.Response{Status: 200, Header: httpmsg.Headers{
		{Name: "Content-Type", Value: "text/plain"}, {Name: "Content-Length", Value: "6"}}}
	benchBody = []byte("hello\n")
)

// benchHandler answers as the proxy relays a small response: the head,
// the body, the end of stream.
func benchHandler(st *Stream) {
	if st.WriteHead(benchResp, false) != nil {
		return
	}
	if _, err := st.Write(benchBody); err != nil {
		return
	}
	_ = st.Close(nil)
}

// runStreams serves n streams, inflight at a time, through one connection.
func runStreams(c *benchClient, n, inflight int) {
	for n > 0 {
		k := min(n, inflight)
		for range k {
			c.send()
		}
		c.wait(k)
		n -= k
	}
}

// BenchmarkH2cStream: one h2c GET through the server, one at a time and
// ten at once (h2load -m10); allocs/op are the server's.
func BenchmarkH2cStream(b *testing.B) {
	for _, inflight := range []int{1, 10} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			srv := startServer(b, &Config{MaxConcurrentStreams: 1 << 20}, nil, benchHandler)
			c := newBenchClient(b, srv.addr())
			runStreams(c, 100, inflight)
			b.ReportAllocs()
			b.ResetTimer()
			runStreams(c, b.N, inflight)
		})
	}
}

// An h2c stream allocates next to nothing: its fields are decoded into a
// reused list, the Stream and its header list come back from a pool. It
// allocated 22 times (~1.6 KiB): a MetaHeadersFrame with its fields, the
// Stream, its sync.Cond and done channel, the header list.
func TestStreamAllocations(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // streams go back to the pool of the P that takes them
	srv := startServer(t, &Config{MaxConcurrentStreams: 1 << 20}, nil, benchHandler)
	c := newBenchClient(t, srv.addr())
	runStreams(c, 500, 10)
	const n = 3000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	runStreams(c, n, 10)
	runtime.ReadMemStats(&after)
	perStream := float64(after.Mallocs-before.Mallocs) / n
	bytesPer := float64(after.TotalAlloc-before.TotalAlloc) / n
	// The race detector's sync.Pool drops a quarter of what is put back.
	limit := 0.5
	if raceEnabled {
		limit = 6
	}
	if perStream > limit {
		t.Fatalf("%.2f allocations (%.0f bytes) per stream, want at most %.0f", perStream, bytesPer, limit)
	}
	t.Logf("%.2f allocations, %.0f bytes per stream", perStream, bytesPer)
}

// A body reader kept past its handler (x/net's request body writer can be
// in a Read when the exchange gives up on the body) must not read the
// body of the stream that reuses its Stream.
func TestStaleBodyReaderReadsNothingAfterReuse(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // the next stream takes the freed one from the pool
	type use struct {
		st   *Stream
		body io.Reader
	}
	uses := make(chan use, 1)
	proceed := make(chan struct{}, 1)
	srv := startServer(t, &Config{}, nil, func(st *Stream) {
		if st.Request().Path() == "/leave" {
			uses <- use{st, st.Body()}
			// Answered without reading the body: the stream is reset
			// (NO_ERROR) and freed as the handler returns.
			_ = st.WriteHead(&httpmsg.Response{Status: 204}, true)
			return
		}
		uses <- use{st: st}
		select {
		case <-proceed:
		case <-time.After(30 * time.Second):
			return
		}
		body, err := io.ReadAll(st.Body())
		if err != nil {
			return
		}
		_ = st.WriteHead(&httpmsg.Response{Status: 200}, false)
		_, _ = st.Write(body)
		_ = st.Close(nil)
	})
	next := func() use {
		t.Helper()
		select {
		case u := <-uses:
			return u
		case <-time.After(30 * time.Second):
			t.Fatal("handler did not start")
		}
		return use{}
	}
	c := dialRaw(t, srv.addr())
	c.handshake()
	post := func(path string) []string {
		return []string{":method", "POST", ":scheme", "http", ":path", path, ":authority", "example.com"}
	}
	for id := uint32(1); id < 200; id += 4 {
		c.headers(id, false, post("/leave")...)
		old := next()
		c.expectRST(id, http2.ErrCodeNo)

		c.headers(id+2, false, post("/secret")...)
		c.must(c.fr.WriteData(id+2, true, []byte("secret")))
		cur := next()
		// Without its own generation, the stale reader waits for the
		// reused stream's DATA and takes "secret".
		done := make(chan struct{})
		var n int
		var err error
		go func() {
			defer close(done)
			buf := make([]byte, 64)
			n, err = old.body.Read(buf)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the stale body reader blocked")
		}
		if n > 0 || err == nil {
			t.Fatalf("stale reader: %d bytes, error %v; want nothing and an error", n, err)
		}
		proceed <- struct{}{}
		if st, body, _ := c.response(id + 2); st != "200" || string(body) != "secret" {
			t.Fatalf("stream %d: %s %q, want 200 \"secret\"", id+2, st, body)
		}
		if cur.st == old.st {
			return // the Stream was reused, and its old reader read nothing
		}
	}
	t.Fatal("no Stream was reused in 50 tries")
}

// Many connections and streams at once, with bodies, trailers and
// streams the client cancels: every answer is its own request's, and the
// race detector sees reused Streams handed between goroutines.
func TestReusedStreamsKeepTheirOwnRequests(t *testing.T) {
	srv := startServer(t, &Config{}, nil, func(st *Stream) {
		req := st.Request()
		body, err := io.ReadAll(st.Body())
		if err != nil {
			return
		}
		if strings.HasSuffix(req.URI, "/slow") {
			select {
			case <-st.Done():
				return
			case <-time.After(time.Millisecond):
			}
		}
		cookie, _ := req.Header.Get("cookie")
		hdr := httpmsg.Headers{{Name: "x-path", Value: req.URI}, {Name: "x-cookie", Value: cookie}}
		if st.WriteHead(&httpmsg.Response{Status: 200, Header: hdr}, false) != nil {
			return
		}
		if _, err := st.Write(body); err != nil {
			return
		}
		var tr httpmsg.Headers
		for _, f := range st.Trailers() {
			tr = append(tr, httpmsg.Header{Name: "echo-" + f.Name, Value: f.Value})
		}
		_ = st.Close(tr)
	})
	const clients, requests = 4, 60
	var wg sync.WaitGroup
	errs := make(chan error, clients*requests)
	for ci := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := h2cClient()
			defer client.CloseIdleConnections()
			var rw sync.WaitGroup
			for ri := range requests {
				rw.Add(1)
				go func() {
					defer rw.Done()
					path := fmt.Sprintf("/c%d/r%d", ci, ri)
					if ri%5 == 0 {
						path += "/slow"
					}
					body := strings.Repeat(path, 1+ri%7)
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+srv.addr()+path, strings.NewReader(body))
					req.Header.Add("Cookie", "a="+path)
					req.Header.Add("Cookie", "b="+path)
					req.Trailer = http.Header{"X-Sum": {path}}
					if ri%5 == 0 {
						go func() { time.Sleep(time.Duration(ri%3) * time.Millisecond); cancel() }()
					}
					resp, err := client.Do(req)
					if err != nil {
						if ctx.Err() == nil {
							errs <- fmt.Errorf("%s: %v", path, err)
						}
						return
					}
					defer resp.Body.Close()
					got, err := io.ReadAll(resp.Body)
					if err != nil {
						if ctx.Err() == nil {
							errs <- fmt.Errorf("%s: body: %v", path, err)
						}
						return
					}
					switch {
					case resp.Header.Get("X-Path") != path:
						errs <- fmt.Errorf("%s: answered for %q", path, resp.Header.Get("X-Path"))
					case resp.Header.Get("X-Cookie") != "a="+path+"; b="+path:
						errs <- fmt.Errorf("%s: cookie %q", path, resp.Header.Get("X-Cookie"))
					case string(got) != body:
						errs <- fmt.Errorf("%s: body %q", path, got)
					case resp.Trailer.Get("Echo-X-Sum") != path:
						errs <- fmt.Errorf("%s: trailers %v", path, resp.Trailer)
					}
				}()
			}
			rw.Wait()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
