package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// h2Client speaks HTTP/2 to addr: over TLS with ALPN h2, or cleartext with
// prior knowledge.
func h2Client(t *testing.T, ca *tlstest.CA, sni string) *http.Client {
	t.Helper()
	tr := &http2.Transport{DisableCompression: true}
	if ca != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: ca.CertPool(), ServerName: sni, NextProtos: []string{"h2"}}
	} else {
		tr.AllowHTTP = true
		tr.DialTLSContext = func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func TestH2Frontend(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.WritePEMFile(t, dir, "edge.pem", "edge.example")
	h1 := echoBackend(t, "h1")
	h2be := newH2Backend(t, true, echoH2)
	tlsPort, clearPort := freePort(t), freePort(t)
	rt := start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1
    bind 127.0.0.1:%d proto h2
    option forwardfor
    http-request set-header X-Custom %%[req.ver]
    http-request deny deny_status 403 if { path_beg /forbidden }
    use_backend grpcish if { path_beg /h2 }
    default_backend app
backend app
    server s1 %s
backend grpcish
    server s1 %s proto h2
`, tlsPort, dir, clearPort, hostPort(h1), h2be.addr()))
	tlsURL := fmt.Sprintf("https://edge.example:%d", tlsPort)
	clearURL := fmt.Sprintf("http://127.0.0.1:%d", clearPort)
	dialEdge := func(c *http.Client) {
		c.Transport.(*http2.Transport).DialTLSContext = func(ctx context.Context, network, _ string, cfg *tls.Config) (net.Conn, error) {
			return (&tls.Dialer{Config: cfg}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", tlsPort))
		}
	}
	overTLS := h2Client(t, ca, "edge.example")
	dialEdge(overTLS)
	clients := map[string]struct {
		c   *http.Client
		url string
	}{"tls": {overTLS, tlsURL}, "h2c": {h2Client(t, nil, ""), clearURL}}

	for name, cl := range clients {
		t.Run(name+" to an HTTP/1.1 server", func(t *testing.T) {
			resp, err := cl.c.Post(cl.url+"/echo?q=1", "text/plain", strings.NewReader("payload"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
				t.Fatalf("%d %s", resp.StatusCode, resp.Proto)
			}
			for _, want := range []string{"uri=/echo?q=1", "body=payload", "method=POST", "x-forwarded-for=127.0.0.1", "x-custom=2.0"} {
				if !strings.Contains(string(body), want) {
					t.Errorf("backend saw no %q:\n%s", want, body)
				}
			}
		})
		t.Run(name+" deny", func(t *testing.T) {
			resp, err := cl.c.Get(cl.url + "/forbidden")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 403 || !strings.Contains(string(body), "403 Forbidden") {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
		})
		t.Run(name+" to an HTTP/2 server with trailers", func(t *testing.T) {
			req, _ := http.NewRequest("POST", cl.url+"/h2/stream", io.NopCloser(strings.NewReader("0123456789")))
			req.Header.Set("Te", "trailers")
			resp, err := cl.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasSuffix(string(body), "0123456789") || !strings.Contains(string(body), "te=trailers") {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			if got := resp.Trailer.Get("X-Checksum"); got != "10" {
				t.Fatalf("trailer %q", got)
			}
		})
	}

	t.Run("concurrent streams on one connection", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := overTLS.Get(fmt.Sprintf("%s/n/%d", tlsURL, i))
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !bytes.Contains(body, []byte(fmt.Sprintf("uri=/n/%d\n", i))) {
					t.Errorf("stream %d got %q", i, body)
				}
			}()
		}
		wg.Wait()
	})

	t.Run("HTTP/1.1 still served on the same bind", func(t *testing.T) {
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort), &tls.Config{
			ServerName: "edge.example", RootCAs: ca.CertPool(), NextProtos: []string{"http/1.1"},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /v1 HTTP/1.1\r\nHost: edge.example\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(conn)
		if !strings.Contains(string(b), "x-custom=1.1") {
			t.Fatalf("%s", b)
		}
	})

	t.Run("stats count HTTP/2 connections", func(t *testing.T) {
		fe := rt.Graph().Frontends[0]
		if n := fe.H2.Counters.TotalStreams.Load(); n < 50 {
			t.Fatalf("h2 streams counted: %d", n)
		}
	})
}

// TestH2ReloadMovesConnection: a reload moves an HTTP/2 connection to the
// new runtime without a GOAWAY (which fails the streams a client has
// queued): its next stream is served by the new configuration on the same
// connection, the stream in flight finishes on the old one, and the old
// runtime lets go of the connection once that stream has ended.
func TestH2ReloadMovesConnection(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{})
	slow := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		fmt.Fprintf(w, "v=%s\n", r.Header.Get("X-Version"))
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	port := freePort(t)
	cfg := func(v string) string {
		return testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    http-request set-header X-Version %s
    default_backend app
backend app
    server s1 %s
`, port, v, hostPort(slow))
	}
	rt := start(t, cfg("one"))
	g1 := rt.Graph()
	c := h2Client(t, nil, "")
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	get := func(path string) string {
		resp, err := c.Get(url + path)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%s %s", resp.Proto, b)
	}
	if got := get("/warm"); got != "HTTP/2.0 v=one\n" {
		t.Fatalf("before reload: %q", got)
	}
	done := make(chan string, 1) // the sender never blocks, even after a failure
	go func() { done <- get("/slow") }()
	recv(t, arrived, "the slow stream never reached the backend")
	g2 := buildGraph(t, cfg("two"))
	if err := rt.Apply(g2); err != nil {
		t.Fatal(err)
	}
	if got := get("/fast"); got != "HTTP/2.0 v=two\n" {
		t.Errorf("after reload: %q", got)
	}
	if n1, n2 := g1.Frontends[0].Counters.ConnTot.Load(), g2.Frontends[0].Counters.ConnTot.Load(); n1 != 1 || n2 != 0 {
		t.Errorf("connections accepted: %d by the old runtime, %d by the new; want the one connection moved", n1, n2)
	}
	if n := g1.Proc.ActConn.Load(); n != 1 {
		t.Errorf("old runtime holds %d connections with a stream in flight, want 1", n)
	}
	close(release)
	if got := recv(t, done, "the in-flight stream never finished"); got != "HTTP/2.0 v=one\n" {
		t.Errorf("in-flight stream: %q", got)
	}
	waitFor(t, "the old runtime to let go of the connection", func() bool { return g1.Proc.ActConn.Load() == 0 })
	if n := g2.Proc.ActConn.Load(); n != 1 {
		t.Errorf("new runtime holds %d connections, want 1", n)
	}
}

// TestH2AccessLog: an HTTP/2 request is logged like any other, with its
// protocol in the request field and the stream's own timers and bytes.
func TestH2AccessLog(t *testing.T) {
	be := echoBackend(t, "b1")
	sink, next := udpLogSink(t)
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    log udp@%s format raw local0
    option httplog
    default_backend app
backend app
    server s1 %s
`, port, sink, hostPort(be)))
	resp, err := h2Client(t, nil, "").Get(fmt.Sprintf("http://127.0.0.1:%d/logged?x=1", port))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	line := next()
	// fe app/s1 TR/Tw/Tc/Tr/Ta 200 BYTES - - ---- ... "GET http://AUTHORITY/logged?x=1 HTTP/2.0":
	// HAProxy logs an HTTP/2 target with its :scheme and :authority.
	want := fmt.Sprintf(`"GET http://127.0.0.1:%d/logged?x=1 HTTP/2.0"`, port)
	for _, want := range []string{" fe app/s1 ", " 200 ", " ---- ", want} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %q:\n%s", want, line)
		}
	}
}
