package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestHeaderCountsMatchHAProxy: the http-request rules see the request's
// header fields as the client sent them, as in HAProxy 2.6: req.hdr_cnt,
// req.fhdr_cnt and hdr_cnt count none of the fields the edge adds for the
// server (X-Request-Id and traceparent are written after the rules, where
// HAProxy adds its unique-id-header), over HTTP/1.1 and HTTP/2.
func TestHeaderCountsMatchHAProxy(t *testing.T) {
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		h1, h2c := testenv.FreePort(t), testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    http-request return status 200 content-type text/plain lf-string "cnt=%%[req.hdr_cnt] f=%%[req.fhdr_cnt] h=%%[hdr_cnt] id=%%[req.hdr_cnt(x-request-id)] tp=%%[req.hdr_cnt(traceparent)] a=%%[req.hdr_cnt(a)] fa=%%[req.fhdr_cnt(a)]"
`, h1, h2c)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var out []string
		do := func(c *http.Client, url string, hdr ...string) {
			req, err := http.NewRequest("GET", url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Add(hdr[i], hdr[i+1])
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, url, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out = append(out, fmt.Sprintf("%s %v: %d %s", resp.Proto, hdr, resp.StatusCode, b))
		}
		// The Go client sends Host, User-Agent and Accept-Encoding.
		c1 := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{}}
		u1 := "http://" + testenv.LocalAddr(h1) + "/"
		do(c1, u1)
		do(c1, u1, "A", "1", "A", "2,3")
		do(c1, u1, "Connection", "keep-alive")
		c2 := &http.Client{Timeout: 20 * time.Second, Transport: &http2.Transport{AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}}
		u2 := "http://" + testenv.LocalAddr(h2c) + "/"
		do(c2, u2)
		do(c2, u2, "A", "1", "A", "2,3")
		results[name] = out
	}
	h, g := strings.Join(results["haproxy"], "\n"), strings.Join(results["gatehouse"], "\n")
	if h != g {
		t.Fatalf("differs:\nhaproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	if !strings.Contains(g, "HTTP/1.1 []: 200 cnt=3 f=3 h=3 id=0 tp=0") {
		t.Errorf("want the Go client's three fields counted:\n%s", g)
	}
	t.Logf("both:\n%s", g)
}

// TestConnectionFieldsInRulesMatchHAProxy: the http-request rules see the
// connection-specific fields (Connection without its close and keep-alive
// options, Keep-Alive, TE, Upgrade, Proxy-Connection, Transfer-Encoding)
// as HAProxy 2.6's do, so the usual "hdr(upgrade) -i websocket" ACL
// matches. Gatehouse still keeps them from the server (HAProxy 2.6
// forwards TE, Keep-Alive and Proxy-Connection).
func TestConnectionFieldsInRulesMatchHAProxy(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    acl is_ws hdr(upgrade) -i websocket
    acl conn_upgrade hdr(connection) -i upgrade
    http-request return status 200 content-type text/plain lf-string "ws %%[req.hdr_cnt] %%[req.hdr_names]" if is_ws conn_upgrade
    http-request return status 200 content-type text/plain lf-string "%%[req.hdr_cnt] %%[req.hdr_names] c=%%[req.fhdr(connection)] te=%%[req.hdr(te)] ka=%%[req.hdr(keep-alive)]" if { path /r }
    default_backend be

backend be
    server s1 %s
`, port, echo.Addr)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var out []string
		for _, head := range []string{
			"GET /r HTTP/1.1\r\nHost: x\r\nConnection: close, TE\r\nTE: trailers\r\nKeep-Alive: timeout=5\r\n\r\n",
			"GET /r HTTP/1.1\r\nHost: x\r\nConnection: ,keep-alive,, Keep-Alive\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n\r\n",
			"POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		} {
			c, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, head)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, head, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			c.Close()
			out = append(out, fmt.Sprintf("%d %s", resp.StatusCode, b))
		}
		results[name] = out
		if name == "haproxy" {
			continue
		}
		// Forwarded by Gatehouse, the server sees none of them.
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/echo", port), nil)
		req.Header.Set("TE", "trailers")
		req.Header.Set("Keep-Alive", "timeout=5")
		req.Header.Set("Proxy-Connection", "keep-alive")
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e := testenv.DecodeEcho(t, resp)
		for _, h := range []string{"Te", "Keep-Alive", "Proxy-Connection"} {
			if v, ok := e.Headers[h]; ok {
				t.Errorf("the server received %s: %v", h, v)
			}
		}
	}
	h, g := strings.Join(results["haproxy"], "\n"), strings.Join(results["gatehouse"], "\n")
	if h != g {
		t.Fatalf("differs:\nhaproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	if !strings.Contains(g, "200 ws ") {
		t.Errorf("want the websocket ACL to match:\n%s", g)
	}
	t.Logf("both:\n%s", g)
}

// TestResponseConnectionOptionsMatchHAProxy: the http-response rules see
// a server's Connection field without its close and keep-alive options
// (gone when nothing else is left), as HAProxy 2.6's rules do.
func TestResponseConnectionOptionsMatchHAProxy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", r.URL.Query().Get("c"))
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Hop", "1")
		io.WriteString(w, "ok\n")
	}))
	t.Cleanup(srv.Close)
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    http-response set-header X-Seen "%%[res.hdr_cnt] %%[res.hdr_cnt(connection)] c=%%[res.fhdr(connection)] k=%%[res.fhdr(keep-alive)]"
    default_backend be

backend be
    server s1 %s
`, port, strings.TrimPrefix(srv.URL, "http://"))
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var out []string
		c := &http.Client{Timeout: 20 * time.Second}
		for _, v := range []string{"keep-alive,%20X-Hop", "Keep-Alive", "close", "X-Hop,%20close"} {
			resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/?c=%s", port, v))
			if err != nil {
				t.Fatalf("%s: %s: %v", name, v, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			out = append(out, fmt.Sprintf("%s: %d %s", v, resp.StatusCode, resp.Header.Get("X-Seen")))
		}
		results[name] = out
	}
	h, g := strings.Join(results["haproxy"], "\n"), strings.Join(results["gatehouse"], "\n")
	if h != g {
		t.Fatalf("differs:\nhaproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	t.Logf("both:\n%s", g)
}

// TestAbsoluteFormHostMatchesHAProxy: an absolute-form request whose Host
// names another authority is refused with 400, one naming the same
// (case aside, the scheme's default port written or not) goes on with
// the Host as the client wrote it, as in HAProxy 2.6; a default port
// written in the target goes from it and Host becomes its host.
func TestAbsoluteFormHostMatchesHAProxy(t *testing.T) {
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain lf-string "%%[req.hdr_cnt(host)] %%[req.hdr(host)] %%[url]"
`, port)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var out []string
		for _, p := range [][2]string{
			{"http://a.example/r", "b.example"},
			{"http://a.example:80/r", "A.Example"},
			{"HTTP://a.example/r", "a.example:80"},
			{"https://a.example/r", "a.example:443"},
			{"http://a.example/r", "a.example:443"},
			{"http://a.example:8080/r", "a.example:8080"},
			{"http://a.example:8080/r", "a.example"},
			{"http://[::1]/r", "[::1]:80"},
			{"https://a.example:443/r?q", "A.example"},
			{"http://a.example:/r", "a.example"},
			{"http://A.example:80", "a.example"},
		} {
			c, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", p[0], p[1])
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%s: %v: %v", name, p, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			c.Close()
			if resp.StatusCode != 200 {
				b = nil // the error pages' texts are not compared here
			}
			out = append(out, fmt.Sprintf("%s Host: %s => %d %s", p[0], p[1], resp.StatusCode, b))
		}
		results[name] = out
	}
	h, g := strings.Join(results["haproxy"], "\n"), strings.Join(results["gatehouse"], "\n")
	if h != g {
		t.Fatalf("differs:\nhaproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	t.Logf("both:\n%s", g)
}
