package app

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// h2Backend is an HTTP/2 server (TLS with ALPN h2, or cleartext h2c) that
// records which connections its requests arrived on.
type h2Backend struct {
	*httptest.Server
	mu    sync.Mutex
	conns map[string]int // remote address -> requests
}

func newH2Backend(t *testing.T, cleartext bool, h http.HandlerFunc) *h2Backend {
	t.Helper()
	b := &h2Backend{conns: map[string]int{}}
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.conns[r.RemoteAddr]++
		b.mu.Unlock()
		if r.ProtoMajor != 2 {
			http.Error(w, "not HTTP/2: "+r.Proto, 505)
			return
		}
		h(w, r)
	})
	if cleartext {
		b.Server = httptest.NewServer(h2c.NewHandler(wrapped, &http2.Server{}))
	} else {
		b.Server = httptest.NewUnstartedServer(wrapped)
		b.EnableHTTP2 = true
		b.StartTLS()
	}
	t.Cleanup(b.Close)
	return b
}

func (b *h2Backend) connCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

func (b *h2Backend) addr() string {
	return strings.TrimPrefix(strings.TrimPrefix(b.URL, "https://"), "http://")
}

// echoH2 answers with what reached it and a trailer, streaming the request
// body back as it arrives.
func echoH2(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Trailer", "X-Checksum")
	w.Header().Set("X-Proto", r.Proto)
	fmt.Fprintf(w, "host=%s uri=%s xff=%s te=%s\n", r.Host, r.RequestURI, r.Header.Get("X-Forwarded-For"), r.Header.Get("Te"))
	n, _ := io.Copy(w, r.Body)
	w.Header().Set("X-Checksum", fmt.Sprint(n))
}

func TestH2Upstream(t *testing.T) {
	tlsBE := newH2Backend(t, false, echoH2)
	clearBE := newH2Backend(t, true, echoH2)
	port := freePort(t)
	start(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    option forwardfor
frontend fe
    bind 127.0.0.1:%d
    use_backend be_clear if { path_beg /clear }
    default_backend be_tls
backend be_tls
    server s1 %s ssl verify none alpn h2,http/1.1
backend be_clear
    server s1 %s proto h2
`, port, tlsBE.addr(), clearBE.addr()))
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	t.Run("get over TLS h2", func(t *testing.T) {
		c, br := dialKeepAlive(t, addr)
		fmt.Fprintf(c, "GET /a?b=1 HTTP/1.1\r\nHost: app.example\r\nTE: trailers\r\n\r\n")
		resp, body := readResponse(t, br, "GET")
		if resp.StatusCode != 200 || resp.Header.Get("X-Proto") != "HTTP/2.0" {
			t.Fatalf("status %d proto %q body %q", resp.StatusCode, resp.Header.Get("X-Proto"), body)
		}
		if !strings.Contains(body, "host=app.example uri=/a?b=1 xff=127.0.0.1 te=trailers") {
			t.Fatalf("backend saw %q", body)
		}
		// The server's trailer reaches an HTTP/1.1 client in the last chunk.
		if got := resp.Trailer.Get("X-Checksum"); got != "0" {
			t.Fatalf("trailer %q (chunked %v)", got, resp.TransferEncoding)
		}
	})

	t.Run("chunked upload streams to h2c", func(t *testing.T) {
		c, br := dialKeepAlive(t, addr)
		fmt.Fprintf(c, "POST /clear HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
		resp, body := readResponse(t, br, "POST")
		if resp.StatusCode != 200 || !strings.HasSuffix(body, "hello world") || resp.Trailer.Get("X-Checksum") != "11" {
			t.Fatalf("status %d body %q trailer %v", resp.StatusCode, body, resp.Trailer)
		}
		// The connection stays usable: the next request is served.
		fmt.Fprintf(c, "GET /clear/2 HTTP/1.1\r\nHost: app.example\r\n\r\n")
		if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || !strings.Contains(body, "uri=/clear/2") {
			t.Fatalf("second request: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("many clients share few connections", func(t *testing.T) {
		before := clearBE.connCount()
		var wg sync.WaitGroup
		errs := make(chan string, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					errs <- err.Error()
					return
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "POST /clear/%d HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", i)
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					errs <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || !strings.HasSuffix(string(b), "abc") {
					errs <- fmt.Sprintf("%d %q", resp.StatusCode, b)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		// 40 concurrent client connections ride on HTTP/2 streams: x/net's
		// server allows 250 per connection, so a handful of connections at
		// most (racing dials may open more than one).
		if n := clearBE.connCount() - before; n > 8 {
			t.Fatalf("%d upstream connections for 40 requests", n)
		}
	})
}

func TestH2UpstreamFailures(t *testing.T) {
	slow := newH2Backend(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		if r.URL.Path == "/cut" {
			// Abort the stream mid-body: the client must not take the
			// short body for a whole one.
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
	})
	dead := freePort(t)
	port := freePort(t)
	start(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 500ms
frontend fe
    bind 127.0.0.1:%d
    use_backend be_dead if { path_beg /dead }
    default_backend be
backend be
    server s1 %s proto h2
backend be_dead
    server s1 127.0.0.1:%d proto h2
`, port, slow.addr(), dead))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cases := []struct {
		path     string
		status   int
		bodyPart string
	}{
		{"/hang", 504, "Gateway Time-out"},    // timeout server waiting for the head
		{"/dead", 503, "Service Unavailable"}, // connection refused
	}
	for _, tc := range cases {
		c, br := dialKeepAlive(t, addr)
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", tc.path)
		resp, body := readResponse(t, br, "GET")
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.bodyPart) {
			t.Errorf("%s: %d %q", tc.path, resp.StatusCode, body)
		}
	}
	// A stream cut mid-body: the chunked response to the HTTP/1.1 client
	// ends without its last chunk, so the client sees a truncated body.
	c, br := dialKeepAlive(t, addr)
	fmt.Fprintf(c, "GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatalf("truncated body read without error")
	}
}

// dialKeepAlive opens a client connection closed with the test.
func dialKeepAlive(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}
