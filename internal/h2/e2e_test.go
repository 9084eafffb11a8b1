package h2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
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
)

// e2eHandler routes by path: /echo streams the body back (request trailers
// become response trailers), /big?n= sends n bytes, /wait blocks on the
// channel the test gives, anything else answers okBody.
func e2eHandler(wait chan struct{}, started chan<- struct{}) Handler {
	return func(st *Stream) {
		req := st.Request()
		switch p := req.Path(); {
		case p == "/echo":
			hdr := httpmsg.Headers{{Name: "X-Request-Chunked", Value: strconv.FormatBool(req.Chunked)},
				{Name: "X-Request-Length", Value: strconv.FormatInt(req.ContentLength, 10)}}
			if st.WriteHead(&httpmsg.Response{Status: 200, Header: hdr}, false) != nil {
				return
			}
			if _, err := io.CopyBuffer(st, st.Body(), make([]byte, 32<<10)); err != nil {
				return
			}
			var tr httpmsg.Headers
			for _, f := range st.Trailers() {
				tr = append(tr, httpmsg.Header{Name: "echo-" + f.Name, Value: f.Value})
			}
			_ = st.Close(tr)
		case p == "/big":
			n, _ := strconv.Atoi(req.Query()[2:])
			_ = st.WriteHead(&httpmsg.Response{Status: 200}, false)
			buf := bytes.Repeat([]byte("0123456789abcdef"), 4096)
			for n > 0 {
				k, err := st.Write(buf[:min(n, len(buf))])
				if err != nil {
					return
				}
				n -= k
			}
			_ = st.Close(nil)
		case p == "/wait":
			started <- struct{}{}
			select {
			case <-wait:
			case <-st.Done():
				return
			}
			okHandler(st)
		default:
			okHandler(st)
		}
	}
}

func h2cClient() *http.Client {
	return &http.Client{Transport: &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}}
}

func tlsClient() *http.Client {
	return &http.Client{Transport: &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

type e2eEnv struct {
	name   string
	srv    *testServer
	client *http.Client
	base   string
}

func e2eEnvs(t *testing.T, h Handler) []e2eEnv {
	h2c := startServer(t, &Config{}, nil, h)
	tl := startServer(t, &Config{}, selfSignedTLS(t), h)
	return []e2eEnv{
		{"h2c", h2c, h2cClient(), "http://" + h2c.addr()},
		{"tls", tl, tlsClient(), "https://" + tl.addr()},
	}
}

func TestE2E(t *testing.T) {
	for _, env := range e2eEnvs(t, e2eHandler(nil, nil)) {
		t.Run(env.name, func(t *testing.T) {
			t.Run("GET", func(t *testing.T) {
				resp, err := env.client.Get(env.base + "/")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.ProtoMajor != 2 || !bytes.Equal(b, okBody) ||
					resp.Header.Get("Content-Type") != "text/plain" {
					t.Fatalf("%d %s %q %v", resp.StatusCode, resp.Proto, b, resp.Header)
				}
			})
			t.Run("POST streamed body with trailers both ways", func(t *testing.T) {
				pr, pw := io.Pipe()
				go func() {
					for i := 0; i < 10; i++ {
						fmt.Fprintf(pw, "chunk %d\n", i)
						time.Sleep(time.Millisecond)
					}
					pw.Close()
				}()
				req, _ := http.NewRequest("POST", env.base+"/echo", pr)
				req.Trailer = http.Header{"X-Checksum": nil}
				req.Trailer.Set("X-Checksum", "42") // sent after the body's EOF
				resp, err := env.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.HasPrefix(string(b), "chunk 0\n") || !strings.HasSuffix(string(b), "chunk 9\n") {
					t.Fatalf("echo %q", b)
				}
				if resp.Header.Get("X-Request-Chunked") != "true" || resp.Header.Get("X-Request-Length") != "-1" {
					t.Fatalf("request framing seen by handler: %v", resp.Header)
				}
				if resp.Trailer.Get("Echo-X-Checksum") != "42" {
					t.Fatalf("trailers %v", resp.Trailer)
				}
			})
			t.Run("POST with content-length", func(t *testing.T) {
				resp, err := env.client.Post(env.base+"/echo", "text/plain", strings.NewReader("hello"))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != "hello" || resp.Header.Get("X-Request-Length") != "5" {
					t.Fatalf("%q %v", b, resp.Header)
				}
			})
			t.Run("concurrent streams", func(t *testing.T) {
				var wg sync.WaitGroup
				errs := make(chan error, 64)
				for i := 0; i < 64; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						body := strings.Repeat(strconv.Itoa(i), 1000)
						resp, err := env.client.Post(env.base+"/echo", "text/plain", strings.NewReader(body))
						if err != nil {
							errs <- err
							return
						}
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if string(b) != body {
							errs <- fmt.Errorf("stream %d: got %d bytes", i, len(b))
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
			})
			t.Run("10 MiB both ways", func(t *testing.T) {
				const n = 10 << 20
				up := bytes.Repeat([]byte("gatehouse"), n/9+1)[:n]
				resp, err := env.client.Post(env.base+"/echo", "application/octet-stream", bytes.NewReader(up))
				if err != nil {
					t.Fatal(err)
				}
				h := sha256.New()
				got, _ := io.Copy(h, resp.Body)
				resp.Body.Close()
				if want := sha256.Sum256(up); got != n || !bytes.Equal(h.Sum(nil), want[:]) {
					t.Fatalf("echoed %d bytes, checksum mismatch=%v", got, !bytes.Equal(h.Sum(nil), want[:]))
				}
				resp, err = env.client.Get(env.base + "/big?n=" + strconv.Itoa(n))
				if err != nil {
					t.Fatal(err)
				}
				got, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if got != n {
					t.Fatalf("downloaded %d bytes", got)
				}
			})
		})
	}
}

// TestShutdownLetsInFlightStreamFinish: Shutdown sends GOAWAY(NO_ERROR)
// with the largest stream id and a PING at once; a stream the client sent
// before it read them is served; once the PING comes back a second GOAWAY
// names the last stream, and later streams are refused; the in-flight
// stream completes, then the connection closes and Serve returns nil.
func TestShutdownLetsInFlightStreamFinish(t *testing.T) {
	wait, started := make(chan struct{}), make(chan struct{}, 4)
	// Only the PING ends the drain here: on a busy machine the default
	// second could pass before the server reads stream 3.
	srv := startServer(t, &Config{DrainWait: time.Minute}, nil, e2eHandler(wait, started))
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/wait")
	<-started
	srv.conn(0).Shutdown()
	srv.conn(0).Shutdown() // idempotent
	// Sent before the client reads the GOAWAY: already on the wire.
	c.headers(3, true, getReq...)
	// The GOAWAY and PING are queued control frames and stream 3's answer
	// is written by its handler: on a busy machine either may come first.
	var (
		g        *http2.GoAwayFrame
		p        *http2.PingFrame
		status   string
		body     []byte
		answered bool
	)
	for g == nil || p == nil || !answered {
		switch f := c.read().(type) {
		case *http2.GoAwayFrame:
			g = f
		case *http2.PingFrame:
			if !f.IsAck() {
				p = f
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID == 3 {
				status, answered = f.PseudoValue("status"), f.StreamEnded()
			}
		case *http2.DataFrame:
			if f.StreamID == 3 {
				body, answered = append(body, f.Data()...), f.StreamEnded()
			}
		case *http2.RSTStreamFrame:
			t.Fatalf("stream %d reset: %v", f.StreamID, f.ErrCode)
		}
	}
	if g.ErrCode != http2.ErrCodeNo || g.LastStreamID != 1<<31-1 {
		t.Fatalf("first GOAWAY %v last %d, want NO_ERROR and the largest id", g.ErrCode, g.LastStreamID)
	}
	if status != "200" || !bytes.Equal(body, okBody) {
		t.Fatalf("stream sent before the GOAWAY was read: %s %q", status, body)
	}
	c.must(c.fr.WritePing(true, p.Data))
	g = c.until("second GOAWAY", func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok }).(*http2.GoAwayFrame)
	if g.ErrCode != http2.ErrCodeNo || g.LastStreamID != 3 {
		t.Fatalf("second GOAWAY %v last %d, want NO_ERROR 3", g.ErrCode, g.LastStreamID)
	}
	c.headers(5, true, getReq...)
	c.expectRST(5, http2.ErrCodeRefusedStream)
	close(wait)
	if st, body, _ := c.response(1); st != "200" || !bytes.Equal(body, okBody) {
		t.Fatalf("in-flight stream: %s %q", st, body)
	}
	c.expectClosed()
	select {
	case err := <-srv.errs:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// TestShutdownWithoutPingAck: a client that never answers Shutdown's PING
// still gets the second GOAWAY after DrainWait, and the connection ends.
func TestShutdownWithoutPingAck(t *testing.T) {
	srv := startServer(t, &Config{DrainWait: 200 * time.Millisecond}, nil, e2eHandler(nil, nil))
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.get(1)
	srv.conn(0).Shutdown()
	c.until("GOAWAY", func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok })
	g := c.until("second GOAWAY", func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok }).(*http2.GoAwayFrame)
	if g.LastStreamID != 1 {
		t.Fatalf("second GOAWAY last %d, want 1", g.LastStreamID)
	}
	c.expectClosed()
}

// TestShutdownWithTransport: the x/net client sees the GOAWAY, finishes its
// request and moves new requests to a new connection.
func TestShutdownWithTransport(t *testing.T) {
	wait, started := make(chan struct{}), make(chan struct{}, 4)
	srv := startServer(t, &Config{}, nil, e2eHandler(wait, started))
	client := h2cClient()
	done := make(chan error, 1)
	go func() {
		resp, err := client.Get("http://" + srv.addr() + "/wait")
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	<-started
	srv.conn(0).Shutdown()
	time.Sleep(50 * time.Millisecond)
	close(wait)
	if err := <-done; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	resp, err := client.Get("http://" + srv.addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	srv.mu.Lock()
	n := len(srv.conns)
	srv.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}
