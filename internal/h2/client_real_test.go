package h2

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// goServer serves cleartext HTTP/2 (prior knowledge) with x/net's server.
func goServer(t testing.TB, srv *http2.Server, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv.ServeConn(nc, &http2.ServeConnOpts{Handler: h})
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func dialClient(t testing.TB, addr string, cfg *ClientConfig) *ClientConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClientConn(nc, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// roundTrip sends one request (body may be nil) and returns the response
// head and body.
func roundTrip(c *ClientConn, method, authority, path string, body []byte) (*httpmsg.Response, []byte, *ClientStream, error) {
	st := new(ClientStream)
	st.SetWait(20*time.Second, nil)
	if !c.TryReserve() {
		return nil, nil, nil, errors.New("no stream slot")
	}
	req := &ClientRequest{Method: method, Scheme: "http", Authority: authority, Path: path, EndStream: body == nil}
	if body != nil {
		req.Header = httpmsg.Headers{{Name: "Content-Length", Value: strconv.Itoa(len(body))}}
	}
	if err := c.Start(st, req); err != nil {
		return nil, nil, nil, err
	}
	sendErr := make(chan error, 1)
	if body != nil {
		go func() {
			_, err := st.Write(body)
			if err == nil {
				err = st.CloseSend()
			}
			sendErr <- err
		}()
	} else {
		sendErr <- nil
	}
	resp := new(httpmsg.Response)
	for {
		final, err := st.ReadHead(resp)
		if err != nil {
			return nil, nil, st, err
		}
		if final {
			break
		}
	}
	b, err := io.ReadAll(st)
	if err == nil {
		err = <-sendErr
	}
	st.Release()
	return resp, b, st, err
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestClientAgainstGoServer: x/net's server, in process: bodies both ways
// past every window, trailers, many streams at once, a stream the server
// resets mid-body, and a slow reader that holds the server to the window.
func TestClientAgainstGoServer(t *testing.T) {
	addr := goServer(t, &http2.Server{}, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/upload":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Trailer", "X-Sum")
			fmt.Fprintf(w, "%d", len(b))
			w.Header().Set("X-Sum", sum(b))
		case strings.HasPrefix(r.URL.Path, "/bytes/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/bytes/"))
			w.Header().Set("Content-Length", strconv.Itoa(n))
			_, _ = w.Write(bytes.Repeat([]byte{'x'}, n))
		case r.URL.Path == "/cut":
			w.WriteHeader(200)
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		default:
			fmt.Fprintf(w, "%s %s %s", r.Method, r.Host, r.URL.RequestURI())
		}
	})
	c := dialClient(t, addr, &ClientConfig{StreamWindow: 64 << 10, ConnWindow: 256 << 10})

	resp, body, _, err := roundTrip(c, "GET", "app.example", "/x?y=1", nil)
	if err != nil || resp.Status != 200 || string(body) != "GET app.example /x?y=1" {
		t.Fatalf("GET: %v %q %v", resp, body, err)
	}

	up := bytes.Repeat([]byte("upload-"), 300_000) // 2.1 MB: past the server's windows
	resp, body, st, err := roundTrip(c, "POST", "app.example", "/upload", up)
	if err != nil || string(body) != strconv.Itoa(len(up)) {
		t.Fatalf("upload: %q %v", body, err)
	}
	if tr := st.Trailers(); len(tr) != 1 || tr[0].Name != "x-sum" || tr[0].Value != sum(up) {
		t.Fatalf("trailers %v (status %d)", tr, resp.Status)
	}

	// 40 at once on the one connection, each with its own body.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 100_000 + i*1000
			resp, body, _, err := roundTrip(c, "GET", "app.example", "/bytes/"+strconv.Itoa(n), nil)
			if err == nil && (resp.Status != 200 || len(body) != n || resp.ContentLength != int64(n)) {
				err = fmt.Errorf("stream %d: status %d, %d bytes of %d", i, resp.Status, len(body), n)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	_, body, _, err = roundTrip(c, "GET", "app.example", "/cut", nil)
	var re ResetError
	if !errors.As(err, &re) || !re.Remote || string(body) != "partial" {
		t.Fatalf("stream reset mid-body: %q %v, want the part and the server's RST_STREAM", body, err)
	}

	// A slow reader: the server may send one stream window ahead, no more.
	st = new(ClientStream)
	st.SetWait(20*time.Second, nil)
	if !c.TryReserve() {
		t.Fatal("no slot")
	}
	if err := c.Start(st, &ClientRequest{Method: "GET", Scheme: "http", Authority: "a", Path: "/bytes/1000000", EndStream: true}); err != nil {
		t.Fatal(err)
	}
	var head httpmsg.Response
	if _, err := st.ReadHead(&head); err != nil {
		t.Fatal(err)
	}
	buffered := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(st.buf) - st.off
	}
	deadline := time.Now().Add(20 * time.Second)
	for buffered() < 64<<10 {
		if time.Now().After(deadline) {
			t.Fatalf("the server filled %d bytes of the 64 KiB window", buffered())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // room for a server that would overrun
	if n := buffered(); n > 64<<10 {
		t.Fatalf("%d bytes buffered past the 64 KiB stream window", n)
	}
	total := 0
	buf := make([]byte, 1000)
	for {
		n, err := st.Read(buf)
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if total != 1_000_000 {
		t.Fatalf("slow reader got %d bytes", total)
	}
	st.Release()
	if n := c.Active(); n != 0 {
		t.Fatalf("%d streams active at the end", n)
	}
}

// TestClientAgainstNginx: the gateway stand-in (nginx, TLS with ALPN h2,
// SNI-strict) through the client: a GET routed on :authority, an upload
// and a download past nginx's and our windows, and a 404 for an unknown
// host on the same connection.
func TestClientAgainstNginx(t *testing.T) {
	gw := testenv.StartGateway(t, testenv.GatewayOptions{HTTP2: true})
	tc, err := tls.Dial("tcp", gw.TLSAddr, &tls.Config{ServerName: testenv.SeedHost, RootCAs: gw.CA.Pool(), NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN chose %q", p)
	}
	c, err := NewClientConn(tc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	decode := func(b []byte) testenv.Echo {
		var e testenv.Echo
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("echo %q: %v", b, err)
		}
		return e
	}
	resp, body, _, err := roundTrip(c, "GET", testenv.SeedHost, "/hello?q=1", nil)
	if err != nil || resp.Status != 200 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	if e := decode(body); e.Host != testenv.SeedHost || e.URI != "/hello?q=1" || e.Proto != "HTTP/2.0" {
		t.Fatalf("echo %+v", e)
	}
	up := bytes.Repeat([]byte("gatehouse"), 150_000) // 1.35 MB
	resp, body, _, err = roundTrip(c, "POST", testenv.SeedHost, "/upload", up)
	if err != nil || resp.Status != 200 {
		t.Fatalf("POST: %v %v", resp, err)
	}
	if e := decode(body); e.BodyLen != int64(len(up)) || e.BodySHA256 != sum(up) {
		t.Fatalf("upload reached the echo as %d bytes %s", e.BodyLen, e.BodySHA256)
	}
	resp, body, _, err = roundTrip(c, "GET", testenv.SeedHost, "/bytes/3000000", nil)
	if err != nil || resp.Status != 200 || len(body) != 3_000_000 {
		t.Fatalf("download: %v, %d bytes, %v", resp, len(body), err)
	}
	resp, _, _, err = roundTrip(c, "GET", "unknown.example", "/", nil)
	if err != nil || resp.Status != 404 {
		t.Fatalf("unknown host: %v %v", resp, err)
	}
}
