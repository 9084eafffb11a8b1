package app

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// compText is a compressible body of a few buffers.
var compText = strings.Repeat("Gatehouse compresses what HAProxy 2.6 compresses. ", 3000)

// compHandler serves compText as text/html with a strong ETag; /events
// sends one event, then waits for /release before the second, to show
// that a compressed stream is not held back; /pre is already encoded.
func compHandler(release <-chan struct{}, seenAE chan<- string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case seenAE <- r.Header.Get("Accept-Encoding"):
		default:
		}
		switch r.URL.Path {
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-time.After(20 * time.Second):
			}
			fmt.Fprint(w, "data: two\n\n")
		case "/pre":
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", "br")
			fmt.Fprint(w, "not really brotli")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Content-Length", fmt.Sprint(len(compText)))
			io.WriteString(w, compText)
		}
	}
}

func gunzip(t *testing.T, p []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(p))
	if err != nil {
		t.Fatalf("not gzip: %v (%q)", err, p[:min(len(p), 40)])
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return string(out)
}

// TestCompressionPaths compresses on every path a response takes: HTTP/1.1
// and HTTP/2 servers, HTTP/1.1 and HTTP/2 clients; streams without holding
// a body back; leaves refused, encoded and HEAD responses alone; offloads
// Accept-Encoding; and counts comp_in/comp_out/comp_rsp.
func TestCompressionPaths(t *testing.T) {
	release := make(chan struct{})
	seenAE := make(chan string, 1)
	h1 := echoBackendFunc(t, compHandler(release, seenAE))
	h2be := newH2Backend(t, true, compHandler(release, nil))
	port, h2port, stport := freePort(t), freePort(t), freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    compression algo gzip
    compression type text/html text/event-stream
    use_backend be2 if { path_beg /h2 }
    default_backend be1
backend be1
    compression offload
    server s1 %s
backend be2
    http-request set-path %%[path,regsub(^/h2,)]
    server s1 %s proto h2
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, port, h2port, hostPort(h1), h2be.addr(), stport))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	h2c := h2Client(t, nil, "")
	compressed := 0

	for _, server := range []string{"", "/h2"} {
		t.Run("h1 client, server "+server, func(t *testing.T) {
			c, br := dialKeepAlive(t, addr)
			fmt.Fprintf(c, "GET %s/page HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br;q=1, gzip;q=0.5\r\n\r\n", server)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Header.Get("Content-Encoding") != "gzip" || resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 ||
				resp.Header.Get("Vary") != "Accept-Encoding" || resp.Header.Get("ETag") != `W/"v1"` {
				t.Fatalf("head %v TE %v CL %d", resp.Header, resp.TransferEncoding, resp.ContentLength)
			}
			if got := gunzip(t, raw); got != compText {
				t.Fatalf("decoded %d bytes, want %d", len(got), len(compText))
			}
			compressed++
			// HEAD, q=0 and an already encoded body are left alone.
			fmt.Fprintf(c, "HEAD %s/page HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", server)
			resp, _ = readResponse(t, br, "HEAD")
			if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("ETag") != `"v1"` {
				t.Fatalf("HEAD compressed: %v", resp.Header)
			}
			fmt.Fprintf(c, "GET %s/page HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip;q=0\r\n\r\n", server)
			if resp, body := readResponse(t, br, "GET"); resp.Header.Get("Content-Encoding") != "" || body != compText {
				t.Fatalf("q=0 compressed: %v", resp.Header)
			}
			fmt.Fprintf(c, "GET %s/pre HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n", server)
			if resp, body := readResponse(t, br, "GET"); resp.Header.Get("Content-Encoding") != "br" || body != "not really brotli" {
				t.Fatalf("encoded twice: %v %q", resp.Header, body)
			}
		})
		t.Run("h2 client, server "+server, func(t *testing.T) {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s/page", h2port, server), nil)
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := h2c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Length") != "" || resp.Header.Get("ETag") != `W/"v1"` {
				t.Fatalf("head %v", resp.Header)
			}
			if got := gunzip(t, raw); got != compText {
				t.Fatalf("decoded %d bytes", len(got))
			}
			compressed++
		})
	}

	t.Run("offload", func(t *testing.T) {
		for len(seenAE) > 0 {
			<-seenAE
		}
		rawExchange(t, addr, "GET /page HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
		compressed++
		select {
		case ae := <-seenAE:
			if ae != "" {
				t.Fatalf("the server saw Accept-Encoding %q despite offload", ae)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the server saw no request")
		}
	})

	t.Run("streaming", func(t *testing.T) {
		c, br := dialKeepAlive(t, addr)
		fmt.Fprintf(c, "GET /events HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("not compressed: %v", resp.Header)
		}
		// The first event decodes before the server sends the second.
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		first := make([]byte, len("data: one\n\n"))
		if _, err := io.ReadFull(zr, first); err != nil || string(first) != "data: one\n\n" {
			t.Fatalf("first event: %q %v", first, err)
		}
		close(release)
		rest, err := io.ReadAll(zr)
		if err != nil || string(rest) != "data: two\n\n" {
			t.Fatalf("second event: %q %v", rest, err)
		}
		compressed++
	})

	deadline := time.Now().Add(10 * time.Second)
	for {
		rows := statsRows(t, fmt.Sprintf("http://127.0.0.1:%d/stats;csv", stport))
		fe := rows["fe/FRONTEND"]
		if fe["comp_rsp"] == fmt.Sprint(compressed) {
			in, out := atoi(fe["comp_in"]), atoi(fe["comp_out"])
			if in < int64(4*len(compText)) || out <= 0 || out*5 > in || fe["comp_byp"] != "0" {
				t.Fatalf("fe comp_in %d comp_out %d comp_byp %s", in, out, fe["comp_byp"])
			}
			be1, be2 := rows["be1/BACKEND"], rows["be2/BACKEND"]
			if atoi(be1["comp_rsp"])+atoi(be2["comp_rsp"]) != int64(compressed) || atoi(be1["comp_in"])+atoi(be2["comp_in"]) != in {
				t.Fatalf("backends: %v %v", be1, be2)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("comp_rsp %q, want %d", fe["comp_rsp"], compressed)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func atoi(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

var _ = bufio.NewReader

// TestCompressionMaxLevel: tune.comp.maxlevel sets the level responses are
// compressed with: at 9 the bench page comes out smaller than the default
// level 1 makes it.
func TestCompressionMaxLevel(t *testing.T) {
	page := benchPage()
	srv := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, page)
	})
	sizes := map[string]int{}
	for _, global := range []string{"", "global\n    tune.comp.maxlevel 9\n"} {
		port := freePort(t)
		start(t, global+testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    compression algo gzip
    default_backend be
backend be
    server s1 %s
`, port, hostPort(srv)))
		c, br := dialKeepAlive(t, fmt.Sprintf("127.0.0.1:%d", port))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		if err != nil || resp.Header.Get("Content-Encoding") != "gzip" || gunzip(t, raw) != page {
			t.Fatalf("%q: %v %v", global, err, resp.Header)
		}
		sizes[global] = len(raw)
	}
	if l1, l9 := sizes[""], sizes["global\n    tune.comp.maxlevel 9\n"]; l9 >= l1*95/100 {
		t.Fatalf("level 9 gave %d bytes, level 1 %d: the level is not applied", l9, l1)
	}
}

// TestCompressionConcurrent: many responses compressed at once through
// the pooled encoders, HTTP/1.1 and HTTP/2, each decoding to its own body
// (a pooled encoder reused by two responses would mix them).
func TestCompressionConcurrent(t *testing.T) {
	srv := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat(r.URL.Path+" ", 5000))
	})
	port, h2port := freePort(t), freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    compression algo gzip raw-deflate
    default_backend be
backend be
    server s1 %s
`, port, h2port, hostPort(srv)))
	h2c := h2Client(t, nil, "")
	errs := make(chan error, 64)
	for g := range 8 {
		go func() {
			var err error
			defer func() { errs <- err }()
			for i := range 15 {
				path := fmt.Sprintf("/g%d-r%d", g, i)
				var resp *http.Response
				req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
				if g%2 == 1 {
					req.URL.Host = fmt.Sprintf("127.0.0.1:%d", h2port)
					req.Header.Set("Accept-Encoding", "gzip")
					resp, err = h2c.Do(req)
				} else {
					req.Header.Set("Accept-Encoding", "gzip")
					resp, err = (&http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 20 * time.Second}).Do(req)
				}
				if err != nil {
					return
				}
				var zr *gzip.Reader
				if zr, err = gzip.NewReader(resp.Body); err != nil {
					resp.Body.Close()
					return
				}
				var body []byte
				body, err = io.ReadAll(zr)
				resp.Body.Close()
				if err != nil {
					return
				}
				if string(body) != strings.Repeat(path+" ", 5000) {
					err = fmt.Errorf("%s: got another body (%d bytes, starts %q)", path, len(body), body[:min(len(body), 20)])
					return
				}
			}
		}()
	}
	for range 8 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("clients did not finish")
		}
	}
}
