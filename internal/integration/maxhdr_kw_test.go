package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// TestMaxHdrLikeHAProxy: with tune.http.maxhdr 10 a head may have 9 fields
// (HAProxy counts the start line; Host is a field like any other, a
// Connection field naming only close is not): a request with more is
// refused with 400, a server response with more is answered 502. Side by
// side with HAProxy 2.6.
func TestMaxHdrLikeHAProxy(t *testing.T) {
	// The backend answers with exactly ?n= fields: Content-Length and n-1
	// X- fields (Date suppressed, no Content-Type without a body).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		h := w.Header()
		h["Date"] = nil
		h.Set("Content-Length", "0")
		for i := 1; i < n; i++ {
			h.Set(fmt.Sprintf("X-R%d", i), "v")
		}
		w.WriteHeader(200)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// reqWith is a request with n fields that count, Host among them, and
	// a Connection field, which HAProxy does not count when it names only
	// close (conn names one more token, which makes it count).
	reqWith := func(n, respFields int, conn string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "GET /?n=%d HTTP/1.1\r\nHost: a\r\nConnection: %s\r\n", respFields, conn)
		for i := 1; i < n; i++ {
			fmt.Fprintf(&b, "X-Q%d: v\r\n", i)
		}
		b.WriteString("\r\n")
		return b.String()
	}
	cases := []struct {
		name       string
		reqFields  int
		respFields int
		conn       string
		want       string
	}{
		{"request with 9 fields", 9, 1, "close", "200"},
		{"request with 10 fields", 10, 1, "close", "400"},
		{"request with 11 fields", 11, 1, "close", "400"},
		{"request with 8 fields and Connection: close, x-a", 8, 1, "close, x-a", "200"},
		{"request with 9 fields and Connection: close, x-a", 9, 1, "close, x-a", "400"},
		// The server adds Connection: close, which does not count either.
		{"response with 9 fields", 1, 9, "close", "200"},
		{"response with 10 fields", 1, 10, "close", "502"},
		{"response with 11 fields", 1, 11, "close", "502"},
	}
	got := map[string]string{}
	for _, proxy := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := maxHdrConfig(port, "", ln.Addr().String(), "")
		if proxy == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		for _, c := range cases {
			got[proxy+" "+c.name] = strings.SplitN(exchangeRaw(t, port, reqWith(c.reqFields, c.respFields, c.conn)), " ", 2)[0]
		}
	}
	for _, c := range cases {
		if h, g := got["haproxy "+c.name], got["gatehouse "+c.name]; h != c.want || g != h {
			t.Errorf("%s: haproxy %s, gatehouse %s, want %s", c.name, h, g, c.want)
		}
	}
}

// TestMaxHdrH3H2: tune.http.maxhdr bounds HTTP/3 requests too (HAProxy
// 2.6 here has no QUIC, so Gatehouse alone): a few fields pass, past
// maxhdr-1 a 400 that never reaches the server. HTTP/2: the h2c test below.
func TestMaxHdrH3H2(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	e := startH3(t, `global
    tune.http.maxhdr 10
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind %[1]s alpn h3
    bind %[2]s
    default_backend be

backend be
    server s1 `+echo.Addr+"\n")
	fields := func(n int) []string {
		var kv []string
		for i := range n {
			kv = append(kv, fmt.Sprintf("X-Q%d", i), "v")
		}
		return kv
	}
	for _, c := range []struct {
		name string
		cl   *http.Client
		url  string
	}{{"HTTP/3", e.Client, e.URL}} {
		resp, body := e.do(t, c.cl, "GET", c.url+"/few", nil, fields(2)...)
		if resp.StatusCode != 200 || !strings.Contains(body, `"uri":"/few"`) {
			t.Errorf("%s, 2 added fields: status %d %s, want 200 from the server", c.name, resp.StatusCode, body)
		}
		resp, body = e.do(t, c.cl, "GET", c.url+"/many", nil, fields(20)...)
		if resp.StatusCode != 400 || strings.Contains(body, `"uri":"/many"`) {
			t.Errorf("%s, 20 added fields: status %d %s, want 400 from the proxy", c.name, resp.StatusCode, body)
		}
	}
}

// TestMaxHdrH2ServerLikeHAProxy: HAProxy 2.6 decodes an HTTP/2 server's
// response head (proto h2) into a list of 2*maxhdr entries, :status and an
// end marker included: with maxhdr 10, 18 fields pass (not 9 as over
// HTTP/1.1), 19 are a 502. Side by side with HAProxy 2.6.
func TestMaxHdrH2ServerLikeHAProxy(t *testing.T) {
	srv := httptest.NewServer(h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		h := w.Header()
		h["Date"] = nil
		h.Set("Content-Length", "0")
		for i := 1; i < n; i++ {
			h.Set(fmt.Sprintf("X-R%d", i), "v")
		}
		w.WriteHeader(200)
	}), &http2.Server{}))
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	counts := []int{9, 10, 18, 19}
	got := map[string]string{}
	for _, proxy := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := maxHdrConfig(port, "", addr, " proto h2")
		if proxy == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		for _, n := range counts {
			req := fmt.Sprintf("GET /?n=%d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", n)
			got[fmt.Sprint(proxy, n)] = strings.SplitN(exchangeRaw(t, port, req), " ", 2)[0]
		}
	}
	for _, n := range counts {
		want := "200"
		if n > 18 {
			want = "502"
		}
		if h, g := got[fmt.Sprint("haproxy", n)], got[fmt.Sprint("gatehouse", n)]; h != want || g != h {
			t.Errorf("response with %d fields: haproxy %s, gatehouse %s, want %s", n, h, g, want)
		}
	}
}

// TestMaxHdrH2ClientLikeHAProxy: an HTTP/2 request (h2c) must fit a list
// of 2*maxhdr entries too, its 4 pseudo-fields and an end marker included:
// with maxhdr 10 it may have 15 fields; 16 are a connection error
// (GOAWAY COMPRESSION_ERROR, HAProxy's HPACK decoder failing). Side by side
// with HAProxy 2.6.
func TestMaxHdrH2ClientLikeHAProxy(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	tr := &http2.Transport{AllowHTTP: true, DisableCompression: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	t.Cleanup(tr.CloseIdleConnections)
	cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	counts := []int{14, 15, 16, 17} // with User-Agent
	got := map[string]string{}
	for _, proxy := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := maxHdrConfig(port, " proto h2", echo.Addr, "")
		if proxy == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		for _, n := range counts {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
			req.Header.Set("User-Agent", "t")
			for i := 1; i < n; i++ {
				req.Header.Set(fmt.Sprintf("X-Q%d", i), "v")
			}
			resp, err := cl.Do(req)
			switch {
			case err != nil && strings.Contains(err.Error(), "GOAWAY") && strings.Contains(err.Error(), "COMPRESSION_ERROR"):
				got[fmt.Sprint(proxy, n)] = "COMPRESSION_ERROR"
			case err != nil:
				t.Fatalf("%s, %d fields: %v", proxy, n, err)
			default:
				resp.Body.Close()
				got[fmt.Sprint(proxy, n)] = strconv.Itoa(resp.StatusCode)
			}
		}
		tr.CloseIdleConnections()
	}
	for _, n := range counts {
		want := "200"
		if n > 15 {
			want = "COMPRESSION_ERROR"
		}
		if h, g := got[fmt.Sprint("haproxy", n)], got[fmt.Sprint("gatehouse", n)]; h != want || g != h {
			t.Errorf("request with %d fields: haproxy %s, gatehouse %s, want %s", n, h, g, want)
		}
	}
}

// maxHdrConfig is the side-by-side tests' config: tune.http.maxhdr 10, one
// frontend on port (bindOpts appended to its bind) and one server (srvOpts).
func maxHdrConfig(port int, bindOpts, server, srvOpts string) string {
	return fmt.Sprintf(`global
    tune.http.maxhdr 10
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d%s
    default_backend be
backend be
    server s1 %s%s
`, port, bindOpts, server, srvOpts)
}
