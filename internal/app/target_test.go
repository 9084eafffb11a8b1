package app

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The request-target is split one way everywhere (issue 17, item 1): the
// path that rules match is the path the upstream gets, byte for byte, over
// HTTP/1.1 and HTTP/2 on either side; a "://" in the query is data.

// uriBackends are an HTTP/1.1 and an HTTP/2 (h2c) server that answer with
// the request-target they received.
func uriBackends(t *testing.T) (h1, h2 string) {
	echo := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.RequestURI) }
	return hostPort(echoBackendFunc(t, echo)), newH2Backend(t, true, echo).addr()
}

// getRaw sends one request with a raw target on a fresh HTTP/1.1 connection.
func getRaw(t *testing.T, addr, target, extra string) (*http.Response, string) {
	t.Helper()
	c, br := dialKeepAlive(t, addr)
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: app.example\r\n%s\r\n", target, extra)
	return readResponse(t, br, "GET")
}

// getH2 sends one request over cleartext HTTP/2 with :path = path?query.
func getH2(t *testing.T, c *http.Client, addr, path, query, extra string) (*http.Response, string) {
	t.Helper()
	u := &url.URL{Scheme: "http", Host: addr, Path: path, RawQuery: query}
	req := &http.Request{Method: "GET", URL: u, Host: "app.example", Header: http.Header{}}
	if k, v, ok := strings.Cut(extra, ": "); ok {
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s?%s: %v", path, query, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s?%s: reading the body: %v (%q, headers %v)", path, query, err, body, resp.Header)
	}
	return resp, string(body)
}

func TestPathRulesAndUpstreamAgree(t *testing.T) {
	h1, h2 := uriBackends(t)
	port, h2port := freePort(t), freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    http-request deny deny_status 403 if { path_beg /admin }
    use_backend up_h2 if { req.hdr(x-up) h2 }
    default_backend up_h1
backend up_h1
    server s1 %s
backend up_h2
    server s1 %s proto h2
`, port, h2port, h1, h2))
	addr, h2addr := fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", h2port)
	h2c := h2Client(t, nil, "")

	allowed := []struct{ path, query string }{
		{"/x", "u=http://y/admin/secret"},
		{"/x", "u=https://y/admin"},
		{"//x/admin", "u=1"},          // origin-form: the path is "//x/admin"
		{"/public/a:b//c", "d=e://f"}, // a "://" split over path and query
	}
	for _, up := range []string{"h1", "h2"} {
		for _, tc := range allowed {
			target := tc.path + "?" + tc.query
			resp, body := getRaw(t, addr, target, "X-Up: "+up+"\r\n")
			if resp.StatusCode != 200 || body != target {
				t.Errorf("HTTP/1.1 client, %s upstream, %s: status %d, upstream got %q", up, target, resp.StatusCode, body)
			}
			resp, body = getH2(t, h2c, h2addr, tc.path, tc.query, "X-Up: "+up)
			if resp.StatusCode != 200 || body != target {
				t.Errorf("HTTP/2 client, %s upstream, %s: status %d, upstream got %q", up, target, resp.StatusCode, body)
			}
		}
		for _, target := range []string{"/admin/secret", "/admin?u=http://y/x", "http://app.example/admin"} {
			if resp, body := getRaw(t, addr, target, "X-Up: "+up+"\r\n"); resp.StatusCode != 403 {
				t.Errorf("%s upstream, %s: status %d (%q), want 403", up, target, resp.StatusCode, body)
			}
		}
		// A "//" path that net/url would re-escape reaches an HTTP/2
		// upstream as it is too: :path is the target's bytes, never altered.
		if resp, body := getRaw(t, addr, "//x/a|b?c", "X-Up: "+up+"\r\n"); resp.StatusCode != 200 || body != "//x/a|b?c" {
			t.Errorf("%s upstream, //x/a|b?c: status %d, upstream got %q", up, resp.StatusCode, body)
		}
		// An absolute-form target reaches an HTTP/2 upstream as its path.
		want := map[string]string{"h1": "http://app.example/x?u=http://y/admin", "h2": "/x?u=http://y/admin"}[up]
		if resp, body := getRaw(t, addr, "http://app.example/x?u=http://y/admin", "X-Up: "+up+"\r\n"); resp.StatusCode != 200 || body != want {
			t.Errorf("%s upstream, absolute-form: status %d, upstream got %q, want %q", up, resp.StatusCode, body, want)
		}
	}
}

func TestRedirectPathFromOneParser(t *testing.T) {
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request redirect prefix / drop-query if { req.hdr(x-t) self }
    http-request redirect prefix https://new.example drop-query if { req.hdr(x-t) prefix-drop }
    http-request redirect prefix https://new.example if { req.hdr(x-t) prefix }
    http-request redirect scheme https if { req.hdr(x-t) scheme }
    http-request redirect scheme https drop-query if { req.hdr(x-t) scheme-drop }
    http-request return status 200
`, port))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	tests := []struct{ kind, target, want string }{
		{"self", "/?u=http://x//evil.example/", "/"},
		{"self", "/x?u=http://y/z", "/x"},
		{"self", "//evil.example/?a=1", "/evil.example/"},
		{"self", "/\\evil.example/", "/evil.example/"},
		{"self", "http://app.example//evil.example/", "/evil.example/"},
		{"self", "/a//b?c", "/a//b"},
		{"prefix-drop", "/x?u=http://y/z", "https://new.example/x"},
		{"prefix", "/x?u=http://y/z", "https://new.example/x?u=http://y/z"},
		{"prefix", "http://app.example/p?q", "https://new.example/p?q"},
		{"prefix", "http://app.example", "https://new.example/"},
		{"scheme", "http://app.example/p?u=http://y/z", "https://app.example/p?u=http://y/z"},
		{"scheme-drop", "/p?u=http://y/z", "https://app.example/p"},
	}
	for _, tc := range tests {
		resp, _ := getRaw(t, addr, tc.target, "X-T: "+tc.kind+"\r\n")
		loc := resp.Header.Get("Location")
		if resp.StatusCode != 302 || loc != tc.want {
			t.Errorf("%s %s: %d Location %q, want %q", tc.kind, tc.target, resp.StatusCode, loc, tc.want)
		}
		if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
			t.Errorf("%s %s: Location %q leaves the origin", tc.kind, tc.target, loc)
		}
	}
}

func TestSetPathQueryKeepTheRest(t *testing.T) {
	h1, h2 := uriBackends(t)
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request set-query new=1 if { req.hdr(x-t) setq }
    http-request set-query "" if { req.hdr(x-t) setq-empty }
    http-request set-path /b if { req.hdr(x-t) setp }
    http-request set-path %%[req.hdr(x-p)] if { req.hdr(x-t) setp-hdr }
    http-request set-uri %%[req.hdr(x-p)] if { req.hdr(x-t) setu-hdr }
    use_backend up_h2 if { req.hdr(x-up) h2 }
    default_backend up_h1
backend up_h1
    server s1 %s
backend up_h2
    server s1 %s proto h2
`, port, h1, h2))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	tests := []struct {
		up, kind, target, extra string
		status                  int
		want                    string
	}{
		{"h1", "setq", "/p?u=http://x/a/b", "", 200, "/p?new=1"},
		{"h2", "setq", "/p?u=http://x/a/b", "", 200, "/p?new=1"},
		{"h1", "setq", "/p", "", 200, "/p?new=1"},
		{"h1", "setq", "http://app.example/p?u=http://x/a", "", 200, "http://app.example/p?new=1"},
		{"h2", "setq", "http://app.example/p?u=http://x/a", "", 200, "/p?new=1"},
		// A '?' that was there stays, even for an empty query.
		{"h1", "setq-empty", "/p?u=http://x/a/b", "", 200, "/p?"},
		{"h1", "setq-empty", "/p", "", 200, "/p"},
		{"h1", "setp", "/a?u=http://x/c/d", "", 200, "/b?u=http://x/c/d"},
		{"h2", "setp", "/a?u=http://x/c/d", "", 200, "/b?u=http://x/c/d"},
		// set-path keeps an absolute target's scheme and authority.
		{"h1", "setp", "http://app.example/a?q", "", 200, "http://app.example/b?q"},
		// A rewrite that leaves no valid target is an internal error.
		{"h1", "setp-hdr", "/a?q", "X-P: nopath\r\n", 500, ""},
		{"h2", "setp-hdr", "/a?q", "X-P: nopath\r\n", 500, ""},
		{"h1", "setu-hdr", "/a", "X-P: x?u=http://y/z\r\n", 500, ""},
		{"h1", "setu-hdr", "/a", "X-P: /c?u=http://y/z\r\n", 200, "/c?u=http://y/z"},
		{"h2", "setu-hdr", "/a", "X-P: /c?u=http://y/z\r\n", 200, "/c?u=http://y/z"},
	}
	for _, tc := range tests {
		resp, body := getRaw(t, addr, tc.target, "X-T: "+tc.kind+"\r\nX-Up: "+tc.up+"\r\n"+tc.extra)
		if resp.StatusCode != tc.status || tc.status == 200 && body != tc.want {
			t.Errorf("%s %s %s: status %d, upstream got %q; want %d %q", tc.up, tc.kind, tc.target, resp.StatusCode, body, tc.status, tc.want)
		}
	}
}

// TestOIDCAuthPathFromOneParser: oidc-auth guards /app; a public page whose
// query names /app passes without identity and reaches the upstream as it
// was sent, not as "/app/secret". The provider is never discovered, so a
// request that oidc-auth does guard is refused.
func TestOIDCAuthPathFromOneParser(t *testing.T) {
	h1, h2 := uriBackends(t)
	dir := t.TempDir()
	for name, v := range map[string]string{"client": "s3cret", "cookie": "0123456789abcdef0123456789abcdef"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
oidc corp
    issuer http://127.0.0.1:%d
    client-id edge
    client-secret file:%s/client
    cookie-secret file:%s/cookie
    redirect-uri http://app.example/oauth2/callback

frontend fe
    bind 127.0.0.1:%d
    http-request oidc-auth corp if { path_beg /app }
    use_backend up_h2 if { req.hdr(x-up) h2 }
    default_backend up_h1
backend up_h1
    server s1 %s
backend up_h2
    server s1 %s proto h2
`, freePort(t), dir, dir, port, h1, h2))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for _, up := range []string{"h1", "h2"} {
		for _, target := range []string{"/public?u=http://x/app/secret", "/public/page?u=http://x/oauth2/sign_out"} {
			resp, body := getRaw(t, addr, target, "Accept: text/html\r\nX-Up: "+up+"\r\n")
			if resp.StatusCode != 200 || body != target {
				t.Errorf("%s upstream, %s: status %d, upstream got %q", up, target, resp.StatusCode, body)
			}
		}
		if resp, body := getRaw(t, addr, "/app/secret", "Accept: text/html\r\nX-Up: "+up+"\r\n"); resp.StatusCode == 200 {
			t.Errorf("%s upstream: /app/secret passed without identity: %q", up, body)
		}
	}
}

// TestStatsURIOnThePath: the stats uri matches the target's path and query
// (as in HAProxy, also in absolute-form), never a URL inside the query.
func TestStatsURIOnThePath(t *testing.T) {
	h1, _ := uriBackends(t)
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
    default_backend up
backend up
    server s1 %s
`, port, h1))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for _, tc := range []struct {
		target string
		stats  bool
	}{
		{"/stats;csv", true},
		{"http://app.example/stats;csv", true},
		{"/x?u=http://y/stats;csv", false},
		{"http://app.example/x?u=/stats;csv", false},
	} {
		resp, body := getRaw(t, addr, tc.target, "")
		gotStats := resp.StatusCode == 200 && strings.HasPrefix(body, "# pxname,")
		if gotStats != tc.stats || !tc.stats && body != tc.target {
			t.Errorf("%s: status %d, stats page %v, body %.60q", tc.target, resp.StatusCode, gotStats, body)
		}
	}
}

// TestErespCountsServerFaultsOnce: a request HTTP/2 cannot carry (a Host
// outside :authority's syntax) is the client's fault, not a response error; an invalid response head is one
// response error, counted once on the backend and on the server.
func TestErespCountsServerFaultsOnce(t *testing.T) {
	_, h2 := uriBackends(t)
	bad := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		c, bw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		bw.WriteString("HTTP/1.1 200 OK\r\nBad Header\r\n\r\n")
		bw.Flush()
	})
	port, mon := freePort(t), freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request set-header Host bad|host if { path_beg /badhost }
    use_backend bad if { path_beg /bad } !{ path_beg /badhost }
    default_backend up_h2
backend up_h2
    server s1 %s proto h2
backend bad
    server s1 %s
frontend mon
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, port, h2, hostPort(bad), mon))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// An :authority HTTP/2 cannot carry: the request is refused (400),
	// which is no server's fault.
	if resp, _ := getRaw(t, addr, "/badhost", ""); resp.StatusCode != 400 {
		t.Fatalf("Host bad|host to an HTTP/2 server: %d, want 400", resp.StatusCode)
	}
	if resp, _ := getRaw(t, addr, "/bad", ""); resp.StatusCode != 502 {
		t.Fatalf("invalid response head: %d, want 502", resp.StatusCode)
	}
	rows := h2StatsCSV(t, fmt.Sprintf("http://127.0.0.1:%d", mon))
	for row, want := range map[string]string{"up_h2/BACKEND": "0", "up_h2/s1": "0", "bad/BACKEND": "1", "bad/s1": "1"} {
		if got := rows[row]["eresp"]; got != want {
			t.Errorf("%s eresp = %q, want %s", row, got, want)
		}
	}
}
