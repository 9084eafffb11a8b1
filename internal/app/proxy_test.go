package app

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

const testDefaults = `
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout http-request 2s
`

func TestProxyBasics(t *testing.T) {
	be := echoBackend(t, "b1")
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    option forwardfor
    http-request deny deny_status 403 if { path_beg /admin }
    http-request return status 200 content-type text/plain string "edge ok" if { path /edge }
    http-request redirect scheme https code 301 if { path /secure }
    http-request set-header X-Custom %%[req.hdr(host),lower]
    default_backend app

backend app
    http-request set-header Host app.mesh.local
    server s1 %s
`, port, hostPort(be)))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	url := "http://" + addr

	t.Run("forward with rules", func(t *testing.T) {
		req, _ := http.NewRequest("POST", url+"/p?q=1", strings.NewReader("hello"))
		req.Host = "Client.Example"
		req.Header.Set("X-Forwarded-For", "6.6.6.6")
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := string(body)
		for _, want := range []string{"method=POST", "uri=/p?q=1", "host=app.mesh.local", "body=hello",
			"x-forwarded-for=127.0.0.1\n", "x-forwarded-proto=http\n", "x-custom=client.example\n"} {
			if !strings.Contains(got, want) {
				t.Errorf("backend saw:\n%s\nmissing %q", got, want)
			}
		}
	})
	t.Run("deny", func(t *testing.T) {
		resp, err := http.Get(url + "/admin/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
	})
	t.Run("return", func(t *testing.T) {
		resp, err := http.Get(url + "/edge")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "edge ok" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("got %d %q %q", resp.StatusCode, b, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("redirect scheme", func(t *testing.T) {
		out := rawExchange(t, addr, "GET /secure?a=b HTTP/1.1\r\nHost: x.example\r\nConnection: close\r\n\r\n")
		if !strings.HasPrefix(out, "HTTP/1.1 301") || !strings.Contains(out, "Location: https://x.example/secure?a=b\r\n") {
			t.Errorf("got:\n%s", out)
		}
	})
	t.Run("keep-alive 200 requests", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for i := 0; i < 200; i++ {
			fmt.Fprintf(c, "GET /n/%d HTTP/1.1\r\nHost: h\r\n\r\n", i)
			resp, body := readResponse(t, br, "GET")
			if resp.StatusCode != 200 || !strings.Contains(body, fmt.Sprintf("uri=/n/%d\n", i)) {
				t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
			}
		}
	})
	t.Run("pipelined answered in order", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var reqs strings.Builder
		for i := 0; i < 5; i++ {
			fmt.Fprintf(&reqs, "GET /pipe/%d HTTP/1.1\r\nHost: h\r\n\r\n", i)
		}
		io.WriteString(c, reqs.String())
		br := bufio.NewReader(c)
		for i := 0; i < 5; i++ {
			_, body := readResponse(t, br, "GET")
			if !strings.Contains(body, fmt.Sprintf("uri=/pipe/%d\n", i)) {
				t.Fatalf("response %d out of order: %q", i, body)
			}
		}
	})
	t.Run("chunked request body", func(t *testing.T) {
		out := rawExchange(t, addr, "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
		if !strings.Contains(out, "body=hello world\n") {
			t.Errorf("got:\n%s", out)
		}
	})
}

// TestProxyBadInput says what each kind of hostile or broken request gets.
func TestProxyBadInput(t *testing.T) {
	be := echoBackend(t, "b1")
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    server s1 %s
`, port, hostPort(be)))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cases := []struct {
		name, req, status string
	}{
		{"CL and TE (smuggling)", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"conflicting CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", "400"},
		{"obfuscated TE", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", "501"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", "400"},
		{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", "400"},
		{"missing Host", "GET / HTTP/1.1\r\n\r\n", "400"},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
		{"bad version", "GET / HTTP/2.7\r\nHost: h\r\n\r\n", "505"},
		{"control char in URI", "GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", "400"},
		{"oversized head", "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 20000) + "\r\n\r\n", "431"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := rawExchange(t, addr, tc.req)
			if !strings.HasPrefix(out, "HTTP/1.1 "+tc.status) {
				t.Errorf("got %q, want status %s", firstLine(out), tc.status)
			}
		})
	}
	t.Run("slow client gets 408", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(b), "HTTP/1.1 408") {
			t.Errorf("got %q", firstLine(string(b)))
		}
	})
}

func firstLine(s string) string {
	if i := strings.Index(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

func TestProxyServerFailures(t *testing.T) {
	good := echoBackend(t, "good")
	dead := freePort(t) // nothing listens here
	port := freePort(t)
	port2 := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend app
frontend fe2
    bind 127.0.0.1:%d
    default_backend onlydead
backend app
    balance roundrobin
    retries 2
    option redispatch
    server dead 127.0.0.1:%d
    server good %s
backend onlydead
    retries 1
    server dead 127.0.0.1:%d
`, port, port2, dead, hostPort(good), dead))
	for i := 0; i < 6; i++ {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/r%d", port, i))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "backend=good") {
			t.Fatalf("request %d: %d %s (redispatch should reach the good server)", i, resp.StatusCode, b)
		}
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port2))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("dead server: status %d, want 503", resp.StatusCode)
	}
}
