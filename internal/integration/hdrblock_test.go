package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestHeaderBlockFetchesMatchHAProxy: req.hdrs (the header block with its
// final empty line), req.hdr_names and res.hdr_names (with a delimiter,
// only its first character used) give what HAProxy 2.6 gives, names in
// lower case, over HTTP/1.1 and HTTP/2 (where the cookie crumbs are one
// field after the others).
func TestHeaderBlockFetchesMatchHAProxy(t *testing.T) {
	echo := testenv.StartEchoServer(t)
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
    http-request return status 200 content-type text/plain lf-string "[%%[req.hdrs]] [%%[req.hdrs,hex]] [%%[req.hdr_names]] [%%[req.hdr_names(;x)]]" if { path /r }
    http-response set-header X-Names "%%[res.hdr_names] %%[res.hdr_names(:)]"
    default_backend be

backend be
    server s1 %s
`, h1, h2c, echo.Addr)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var out []string
		c1 := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{}}
		do := func(c *http.Client, url string) {
			req, err := http.NewRequest("GET", url, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Go's HTTP/2 client sends its header map in random order: one
			// field name besides Cookie, which both put last (its crumbs
			// joined), keeps the order the same for both.
			if c == c1 {
				req.Header.Set("X-Mixed-Case", "Value Kept")
			}
			req.Header.Add("X-Two", "a")
			req.Header.Add("X-Two", "b, c")
			req.Header.Set("Cookie", "a=1; b=2")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, url, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := ""
			if strings.HasSuffix(url, "/r") {
				body = string(b)
			}
			// The request's port is the one thing that differs.
			body = strings.NewReplacer(fmt.Sprint(h1), "PORT", fmt.Sprint(h2c), "PORT",
				fmt.Sprintf("%X", fmt.Sprint(h1)), "PORT", fmt.Sprintf("%X", fmt.Sprint(h2c)), "PORT").Replace(body)
			out = append(out, fmt.Sprintf("%s %s: %d x-names=%q %s", resp.Proto, url[strings.LastIndex(url, "/"):], resp.StatusCode, resp.Header.Get("X-Names"), body))
		}
		c2 := &http.Client{Timeout: 20 * time.Second, Transport: &http2.Transport{AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}}
		for _, u := range []string{"/r", "/echo"} {
			do(c1, "http://"+testenv.LocalAddr(h1)+u)
			do(c2, "http://"+testenv.LocalAddr(h2c)+u)
		}
		results[name] = out
	}
	h, g := strings.Join(results["haproxy"], "\n"), strings.Join(results["gatehouse"], "\n")
	if h != g {
		t.Fatalf("differs:\nhaproxy:\n%s\n\ngatehouse:\n%s", h, g)
	}
	if !strings.Contains(g, "[host,user-agent,cookie,x-mixed-case,x-two,x-two,accept-encoding]") ||
		!strings.Contains(g, "[host,x-two,x-two,accept-encoding,user-agent,cookie]") {
		t.Errorf("want the request's names in order, HTTP/2's cookie last:\n%s", g)
	}
	t.Logf("both:\n%s", g)
}
