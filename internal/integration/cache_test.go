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
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// cacheOrigin serves responses shaped by the query (cc: Cache-Control,
// vary, etag, lm: Last-Modified, size: body bytes, status) and counts the
// requests that reach it per path, so a cache hit shows as a count that
// did not move.
type cacheOrigin struct {
	mu   sync.Mutex
	hits map[string]int
	addr string
}

func startCacheOrigin(t *testing.T) *cacheOrigin {
	o := &cacheOrigin{hits: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	o.addr = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go o.serve(c)
		}
	}()
	return o
}

func (o *cacheOrigin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

func (o *cacheOrigin) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		o.mu.Lock()
		o.hits[req.URL.Path]++
		o.mu.Unlock()
		q := req.URL.Query()
		status := q.Get("status")
		if status == "" {
			status = "200"
		}
		size, _ := strconv.Atoi(q.Get("size"))
		if size == 0 {
			size = 100
		}
		var b strings.Builder
		fmt.Fprintf(&b, "HTTP/1.1 %s X\r\nContent-Type: text/plain\r\n", status)
		for _, k := range []string{"cc:Cache-Control", "vary:Vary", "etag:ETag", "lm:Last-Modified", "ce:Content-Encoding"} {
			key, name, _ := strings.Cut(k, ":")
			for _, v := range q[key] {
				fmt.Fprintf(&b, "%s: %s\r\n", name, v)
			}
		}
		body := strings.Repeat("c", size)
		if q.Get("frame") == "chunked" {
			b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
			if req.Method != "HEAD" {
				for i := 0; i < len(body); i += 40 {
					part := body[i:min(i+40, len(body))]
					fmt.Fprintf(&b, "%x\r\n%s\r\n", len(part), part)
				}
				b.WriteString("0\r\n\r\n")
			}
		} else {
			fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", size)
			if req.Method != "HEAD" {
				b.WriteString(body)
			}
		}
		if _, err := io.WriteString(c, b.String()); err != nil {
			return
		}
	}
}

func cacheConfig(sock string, fe, feVary, feShort, feH2 int, origin, h2origin, logAddr string) string {
	return fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

cache plain
    total-max-size 1
    max-object-size 2000
    max-age 60

cache vary
    total-max-size 1
    process-vary on
    max-secondary-entries 2

cache short
    total-max-size 1
    max-age 2

frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    log %s local0
    log-format "%%ci %%b/%%s %%ST %%HM %%HP"
    http-request cache-use plain
    http-response cache-store plain
    default_backend app

frontend fevary
    bind 127.0.0.1:%d
    http-request cache-use vary
    http-response cache-store vary
    default_backend app

frontend feshort
    bind 127.0.0.1:%d
    http-request cache-use short
    http-response cache-store short
    use_backend h2app if { path_beg /h2srv }
    default_backend app

backend h2app
    server s1 %s proto h2

backend app
    server s1 %s
`, sock, fe, feH2, logAddr, feVary, feShort, h2origin, origin)
}

// cacheReq is one request of a case.
type cacheReq struct {
	method  string
	headers []string
	query   string // the origin's shaping, overriding the case's
}

type cacheCase struct {
	name  string
	port  string // "fe", "vary"
	query string
	reqs  []cacheReq
	want  string // the origin's count after each request, e.g. "1 1 2"
}

func cacheCases() []cacheCase {
	get := cacheReq{method: "GET"}
	with := func(h ...string) cacheReq { return cacheReq{method: "GET", headers: h} }
	return []cacheCase{
		{name: "max-age: miss then hit", query: "cc=max-age=60", reqs: []cacheReq{get, get, get}, want: "1 1 1"},
		{name: "s-maxage", query: "cc=public,%20s-maxage=30", reqs: []cacheReq{get, get}, want: "1 1"},
		{name: "no-store", query: "cc=no-store", reqs: []cacheReq{get, get}, want: "1 2"},
		{name: "private", query: "cc=private", reqs: []cacheReq{get, get}, want: "1 2"},
		{name: "no-cache", query: "cc=no-cache", reqs: []cacheReq{get, get}, want: "1 2"},
		{name: "max-age=0", query: "cc=max-age=0", reqs: []cacheReq{get, get}, want: "1 2"},
		{name: "no-cache set-cookie", query: "cc=max-age=60&cc=no-cache=%22set-cookie%22", reqs: []cacheReq{get, get}, want: "1 2"},
		{name: "neither expiry nor validator", reqs: []cacheReq{get, get}, want: "1 2"},
		{name: "ETag validator only", query: "etag=%22v1%22", reqs: []cacheReq{get, get}, want: "1 1"},
		{name: "Last-Modified only", query: "lm=Mon,%2001%20Jan%202024%2000:00:00%20GMT", reqs: []cacheReq{get, get}, want: "1 1"},
		{name: "Expires", query: "lm=x&cc=public", reqs: []cacheReq{get, get}, want: "1 1"},
		{name: "request no-cache", query: "cc=max-age=60", reqs: []cacheReq{get, with("Cache-Control: no-cache"), get}, want: "1 2 2"},
		{name: "request Pragma no-cache", query: "cc=max-age=60", reqs: []cacheReq{get, with("Pragma: no-cache"), get}, want: "1 2 2"},
		{name: "Authorization not served", query: "cc=max-age=60", reqs: []cacheReq{get, with("Authorization: Basic dTpw"), get}, want: "1 2 2"},
		{name: "Authorization not stored", query: "cc=max-age=60", reqs: []cacheReq{with("Authorization: Basic dTpw"), get, get}, want: "1 2 2"},
		{name: "POST not cached", query: "cc=max-age=60", reqs: []cacheReq{{method: "POST"}, {method: "POST"}}, want: "1 2"},
		{name: "POST invalidates", query: "cc=max-age=60", reqs: []cacheReq{get, get, {method: "POST"}, get}, want: "1 1 2 3"},
		{name: "HEAD served from cache", query: "cc=max-age=60", reqs: []cacheReq{get, {method: "HEAD"}}, want: "1 1"},
		{name: "If-None-Match 304", query: "cc=max-age=60&etag=%22v1%22", reqs: []cacheReq{get, with(`If-None-Match: "v1"`), with(`If-None-Match: "v2"`)}, want: "1 1 1"},
		{name: "If-Modified-Since 304", query: "cc=max-age=60&lm=Mon,%2001%20Jan%202024%2000:00:00%20GMT",
			reqs: []cacheReq{get, with("If-Modified-Since: Tue, 02 Jan 2024 00:00:00 GMT"), with("If-Modified-Since: Sun, 31 Dec 2023 00:00:00 GMT")}, want: "1 1 1"},
		{name: "chunked body", query: "cc=max-age=60&size=1000&frame=chunked", reqs: []cacheReq{get, get}, want: "1 1"},
		{name: "chunked larger than max-object-size", query: "cc=max-age=60&size=5000&frame=chunked", reqs: []cacheReq{get, get}, want: "1 2"},
		{name: "larger than max-object-size", query: "cc=max-age=60&size=5000", reqs: []cacheReq{get, get}, want: "1 2"},
		{name: "404 not cached", query: "cc=max-age=60&status=404", reqs: []cacheReq{get, get}, want: "1 2"},
		{name: "Vary without process-vary", query: "cc=max-age=60&vary=Accept-Encoding", reqs: []cacheReq{get, get}, want: "1 2"},
		{name: "Vary Accept-Encoding", port: "vary", query: "cc=max-age=60&vary=Accept-Encoding",
			reqs: []cacheReq{with("Accept-Encoding: gzip"), with("Accept-Encoding: gzip"), with("Accept-Encoding: br")}, want: "1 1 1"},
		{name: "Vary gzip response", port: "vary", query: "cc=max-age=60&vary=Accept-Encoding&ce=gzip",
			reqs: []cacheReq{with("Accept-Encoding: gzip"), with("Accept-Encoding: br"), with("Accept-Encoding: gzip, br")}, want: "1 2 2"},
		// HAProxy 2.6 stores a response varying on Referer alone but
		// never matches it (its key's encoding part is the response's).
		{name: "Vary Referer alone", port: "vary", query: "cc=max-age=60&vary=Referer",
			reqs: []cacheReq{with("Referer: /a"), with("Referer: /a")}, want: "1 2"},
		{name: "Vary Referer and Accept-Encoding", port: "vary", query: "cc=max-age=60&vary=Referer&vary=Accept-Encoding",
			reqs: []cacheReq{with("Referer: /a"), with("Referer: /a"), with("Referer: /b"), with("Referer: /b"), with("Referer: /a")}, want: "1 1 2 2 2"},
		{name: "Vary User-Agent", port: "vary", query: "cc=max-age=60&vary=User-Agent", reqs: []cacheReq{get, get}, want: "1 2"},
		{name: "max-secondary-entries", port: "vary", query: "cc=max-age=60&vary=Referer,%20Accept-Encoding",
			reqs: []cacheReq{with("Referer: /1"), with("Referer: /2"), with("Referer: /3"), with("Referer: /3"), with("Referer: /1")}, want: "1 2 3 4 4"},
	}
}

// cacheSend sends one request and renders what the client sees that
// the cache decides: status, whether Age is there, the ETag and body size.
func cacheSend(t *testing.T, addr, path string, r cacheReq) string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	req, err := http.NewRequest(r.method, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range r.headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	_, age := resp.Header["Age"]
	return fmt.Sprintf("%d age=%v etag=%s ce=%s body=%d", resp.StatusCode, age, resp.Header.Get("ETag"), resp.Header.Get("Content-Encoding"), len(body))
}

// cacheStats picks the cache counters of the FRONTEND rows of "show stat"
// (feshort's depend on how many polls its expiry took).
func cacheStats(t *testing.T, csv string) string {
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	idx := map[string]int{}
	for i, c := range cols {
		idx[c] = i
	}
	var out []string
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) <= idx["cache_hits"] || f[1] != "FRONTEND" || f[0] == "feshort" {
			continue
		}
		out = append(out, fmt.Sprintf("%s lookups=%s hits=%s", f[0], f[idx["cache_lookups"]], f[idx["cache_hits"]]))
	}
	if len(out) != 2 {
		t.Errorf("show stat: %d frontends with cache counters:\n%s", len(out), csv)
	}
	return strings.Join(out, " ")
}

func TestCacheMatchesHAProxy(t *testing.T) {
	results := map[string][]string{}
	shows := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		origin := startCacheOrigin(t)
		fe, feVary, feShort, feH2 := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
		sock := filepath.Join(t.TempDir(), name+".sock")
		sink := startSyslogSink(t)
		// An HTTP/2 (h2c) server: its bodies reach the cache through the
		// HTTP/2 relay.
		var h2hits atomic.Int32
		h2srv := httptest.NewServer(h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h2hits.Add(1)
			w.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(w, strings.Repeat("h", 300))
		}), &http2.Server{}))
		t.Cleanup(h2srv.Close)
		cfg := cacheConfig(sock, fe, feVary, feShort, feH2, origin.addr, strings.TrimPrefix(h2srv.URL, "http://"), sink.Addr)
		stop := testenv.StartSide(t, name, cfg)
		var out []string
		for i, c := range cacheCases() {
			port := fe
			if c.port == "vary" {
				port = feVary
			}
			path := fmt.Sprintf("/c%d", i)
			var seen, counts []string
			for _, r := range c.reqs {
				q := c.query
				if r.query != "" {
					q = r.query
				}
				seen = append(seen, cacheSend(t, testenv.LocalAddr(port), path+"?"+q, r))
				counts = append(counts, strconv.Itoa(origin.count(path)))
			}
			got := strings.Join(counts, " ")
			if got != c.want {
				t.Errorf("%s: %s: origin reached %s times after each request, want %s (%s)", name, c.name, got, c.want, strings.Join(seen, "; "))
			}
			out = append(out, fmt.Sprintf("%s: origin %s: %s", c.name, got, strings.Join(seen, "; ")))
		}
		var h2srvSeen []string
		for i := 0; i < 2; i++ {
			h2srvSeen = append(h2srvSeen, cacheSend(t, testenv.LocalAddr(feShort), "/h2srv", cacheReq{method: "GET"}))
			h2srvSeen = append(h2srvSeen, fmt.Sprintf("server %d", h2hits.Load()))
		}
		if got := strings.Join(h2srvSeen, "; "); got != "200 age=false etag= ce= body=300; server 1; 200 age=true etag= ce= body=300; server 1" {
			t.Errorf("%s: HTTP/2 server: %s", name, got)
		}
		out = append(out, "h2 server: "+strings.Join(h2srvSeen, "; "))
		// Expiry: the cache's max-age 2 caps the response's 60; a copy
		// is served at once, and the origin is reached again once it
		// expired (polled with a deadline, not a fixed sleep).
		path := "/short"
		first := cacheSend(t, testenv.LocalAddr(feShort), path+"?cc=max-age=60", cacheReq{method: "GET"})
		second := cacheSend(t, testenv.LocalAddr(feShort), path+"?cc=max-age=60", cacheReq{method: "GET"})
		hitAtOnce := origin.count(path) == 1
		deadline := time.Now().Add(20 * time.Second)
		for origin.count(path) < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the max-age 2 copy was still served after 20s", name)
			}
			cacheSend(t, testenv.LocalAddr(feShort), path+"?cc=max-age=60", cacheReq{method: "GET"})
			time.Sleep(100 * time.Millisecond) // a poll interval, not a wait for the outcome
		}
		out = append(out, fmt.Sprintf("expiry: %s; %s; served from cache at once: %v; expired", first, second, hitAtOnce))
		// HTTP/2 clients are served from the cache. Their absolute target
		// ("http://" + authority) is the key, not "https://" + Host as
		// for an origin-form HTTP/1.1 target: HAProxy 2.6 does not share
		// the copy of a cleartext HTTP/2 request with HTTP/1.1 clients.
		h2 := &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}}
		var h2seen []string
		for i, port := range []int{feH2, feH2, fe} {
			u := "http://" + testenv.LocalAddr(port) + "/h2?cc=max-age=60"
			if i == 2 {
				h2seen = append(h2seen, cacheSend(t, testenv.LocalAddr(port), "/h2?cc=max-age=60", cacheReq{method: "GET"}))
			} else if resp, err := h2.Get(u); err != nil {
				h2seen = append(h2seen, "error: "+err.Error())
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				_, age := resp.Header["Age"]
				h2seen = append(h2seen, fmt.Sprintf("%d age=%v body=%d", resp.StatusCode, age, len(b)))
			}
			h2seen = append(h2seen, fmt.Sprintf("origin %d", origin.count("/h2")))
		}
		if got := strings.Join(h2seen, "; "); !strings.Contains(got, "200 age=false body=100; origin 1; 200 age=true body=100; origin 1; 200 age=false etag= ce= body=100; origin 2") {
			t.Errorf("%s: HTTP/2 then HTTP/1.1 clients: %s", name, got)
		}
		out = append(out, "h2: "+strings.Join(h2seen, "; "))
		// An HTTP/1.0 request is neither served from the cache nor stored.
		for i := 0; i < 2; i++ {
			c, err := net.DialTimeout("tcp", testenv.LocalAddr(fe), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "GET /c0?cc=max-age=60 HTTP/1.0\r\nHost: %s\r\n\r\n", testenv.LocalAddr(fe))
			b, _ := io.ReadAll(c)
			c.Close()
			age := strings.Contains(strings.ToLower(string(b)), "\r\nage:")
			out = append(out, fmt.Sprintf("HTTP/1.0: age=%v origin %d", age, origin.count("/c0")))
		}
		// The log names the cache as the server of a hit: the first
		// case's three requests.
		var logs []string
		deadline = time.Now().Add(20 * time.Second)
		for {
			logs = logs[:0]
			for _, l := range sink.Lines(" /c0") {
				_, rest, _ := strings.Cut(l, "127.0.0.1 ")
				logs = append(logs, rest)
			}
			if len(logs) >= 5 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Datagrams need not arrive in the order of the requests.
		slices.Sort(logs)
		if n := len(sink.Lines("/<CACHE> 200 GET /c0")); len(logs) != 5 || n != 2 {
			t.Errorf("%s: %d of the logs name the server <CACHE>, want the 2 hits: %q", name, n, logs)
		}
		out = append(out, "logs: "+strings.Join(logs, " | "))
		shows[name] = runtimeCmd(t, sock, "show cache")
		out = append(out, "stats: "+cacheStats(t, runtimeCmd(t, sock, "show stat")))
		stop()
		results[name] = out
	}
	for i := range results["haproxy"] {
		if h, g := results["haproxy"][i], results["gatehouse"][i]; h != g {
			t.Errorf("differs:\n  haproxy:   %s\n  gatehouse: %s", h, g)
		}
	}
	// show cache: each cache's line, then its entries, in HAProxy's shape.
	head := regexp.MustCompile(`^0x[0-9a-f]+: (\w+) \(shctx:0x[0-9a-f]+, available blocks:(\d+)\)$`)
	entry := regexp.MustCompile(`^0x[0-9a-f]+ hash:\d+ vary:0x[0-9a-f]{16} size:\d+ \(\d+ blocks\), refcount:\d+, expire:-?\d+$`)
	for name, s := range shows {
		var caches []string
		entries := 0
		for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			if m := head.FindStringSubmatch(l); m != nil {
				caches = append(caches, m[1])
				// Idle: every block is available, stored objects included.
				if m[2] != "1024" {
					t.Errorf("%s: show cache: available blocks %s of an idle 1 MB cache: %q", name, m[2], l)
				}
				continue
			}
			if !entry.MatchString(l) {
				t.Errorf("%s: show cache: unexpected line %q", name, l)
			}
			entries++
		}
		if strings.Join(caches, ",") != "plain,vary,short" || entries == 0 {
			t.Errorf("%s: show cache lists caches %v and %d entries:\n%s", name, caches, entries, s)
		}
	}
}
