package app

import (
	"bufio"
	"bytes"
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
)

// heldH2Server is an HTTP/2 server (h2c, prior knowledge) on one
// connection that answers its first request at once and holds the others
// until release is closed, then answers each with 200 "ok". It counts the
// streams it has seen.
type heldH2Server struct {
	ln      net.Listener
	mu      sync.Mutex
	streams int
	release chan struct{}
}

func startHeldH2Server(t *testing.T) *heldH2Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &heldH2Server{ln: ln, release: make(chan struct{})}
	t.Cleanup(func() { ln.Close() })
	go s.serve()
	return s
}

func (s *heldH2Server) seen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams
}

func (s *heldH2Server) serve() {
	nc, err := s.ln.Accept()
	if err != nil {
		return
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(60 * time.Second))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(nc, preface); err != nil {
		return
	}
	fr := http2.NewFramer(nc, nc)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if fr.WriteSettings() != nil {
		return
	}
	var ids []uint32
	frames := make(chan uint32)
	go func() { // frames are read here; answers are written by serve
		defer close(frames)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if h, ok := f.(*http2.MetaHeadersFrame); ok {
				s.mu.Lock()
				s.streams++
				s.mu.Unlock()
				frames <- h.StreamID
			}
		}
	}()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	answer := func(id uint32) bool {
		hb.Reset()
		_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
		_ = enc.WriteField(hpack.HeaderField{Name: "content-length", Value: "2"})
		if fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true}) != nil {
			return false
		}
		return fr.WriteData(id, true, []byte("ok")) == nil
	}
	released, first := false, true
	for {
		select {
		case id, ok := <-frames:
			if !ok {
				return
			}
			if released || first {
				first = false
				if !answer(id) {
					return
				}
				continue
			}
			ids = append(ids, id)
		case <-s.release:
			if !released {
				released = true
				for _, id := range ids {
					if !answer(id) {
						return
					}
				}
			}
		}
	}
}

// TestH2UpstreamNoGoroutinePerRequest: requests waiting on an HTTP/2
// server cost the proxy no goroutine beyond their client session's. With
// x/net's ClientConn each ran one more (doRequest), whose stack grew on
// every request (bench/profile.md, issue 23).
func TestH2UpstreamNoGoroutinePerRequest(t *testing.T) {
	be := startHeldH2Server(t)
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 %s proto h2
`, port, be.ln.Addr()))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	const n = 40
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		return c
	}
	// The first request opens the upstream connection, which the others
	// then share (racing, they would each dial one).
	warm := dial()
	fmt.Fprintf(warm, "GET /warm HTTP/1.1\r\nHost: app.example\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(warm), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dial()
	}
	runtime.GC()
	before := runtime.NumGoroutine()
	for i, c := range conns {
		fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: app.example\r\n\r\n", i)
	}
	deadline := time.Now().Add(30 * time.Second)
	for be.seen() < n+1 {
		if time.Now().After(deadline) {
			t.Fatalf("the server saw %d of %d requests", be.seen(), n+1)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Each client session already runs on its goroutine (connected before
	// the count), and the upstream connection's reader and flusher were
	// started by the first request: the requests themselves add nothing
	// (x/net's ClientConn: one each). A few spare for the runtime's own.
	d := runtime.NumGoroutine() - before
	t.Logf("%d requests in flight: %d more goroutines", n, d)
	if d > n/4 {
		t.Errorf("%d requests in flight to an HTTP/2 server: %d more goroutines, want at most %d", n, d, n/4)
	}
	close(be.release)
	for i, c := range conns {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
	}
}

// TestH2UpstreamRelaysEarlyHints: a 103 from an HTTP/2 server reaches the
// HTTP/1.1 client before the final answer, as from an HTTP/1.1 server.
// x/net's client swallowed interim responses.
func TestH2UpstreamRelaysEarlyHints(t *testing.T) {
	be := newH2Backend(t, true, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "final")
	})
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 %s proto h2
`, port, be.addr()))
	c, br := dialKeepAlive(t, fmt.Sprintf("127.0.0.1:%d", port))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: app.example\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 103") {
		t.Fatalf("first status line %q: %v", line, err)
	}
	var link string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
		if name, v, ok := strings.Cut(strings.TrimRight(l, "\r\n"), ":"); ok && strings.EqualFold(name, "link") {
			link = strings.TrimSpace(v)
		}
	}
	if link != "</style.css>; rel=preload" {
		t.Fatalf("103 Link %q", link)
	}
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || body != "final" {
		t.Fatalf("final answer %d %q", resp.StatusCode, body)
	}
}
