package integration

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// compOriginBody is what the origin sends: compressible, a few buffers.
var compOriginBody = strings.Repeat("<p>HAProxy and Gatehouse compress the same responses.</p>\n", 1200)

// startCompOrigin serves responses shaped by the query string, written
// raw so framing and version are exactly as asked: status, ct (Content-
// Type, "-" for none), ce (Content-Encoding), cc (Cache-Control), etag
// (repeatable), vary, frame (cl, chunked, close, cl0), ver (1.0 or 1.1).
// Every answer carries X-Seen-AE: the Accept-Encoding that reached it.
func startCompOrigin(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveCompOrigin(c)
		}
	}()
	return ln.Addr().String()
}

func serveCompOrigin(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		q := req.URL.Query()
		get := func(k, def string) string {
			if v := q.Get(k); v != "" {
				return v
			}
			return def
		}
		status, frame, ver := get("status", "200"), get("frame", "cl"), get("ver", "1.1")
		var b strings.Builder
		fmt.Fprintf(&b, "HTTP/%s %s X\r\n", ver, status)
		if ct := get("ct", "text/html"); ct != "-" {
			fmt.Fprintf(&b, "Content-Type: %s\r\n", ct)
		}
		for _, k := range []string{"ce:Content-Encoding", "cc:Cache-Control", "vary:Vary", "etag:ETag"} {
			key, name, _ := strings.Cut(k, ":")
			for _, v := range q[key] {
				fmt.Fprintf(&b, "%s: %s\r\n", name, v)
			}
		}
		fmt.Fprintf(&b, "X-Seen-AE: %s\r\n", strings.Join(req.Header.Values("Accept-Encoding"), " | "))
		body := compOriginBody
		noBody := req.Method == "HEAD" || status == "204" || status == "304"
		switch frame {
		case "cl0":
			body = ""
			b.WriteString("Content-Length: 0\r\n\r\n")
		case "chunked":
			b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
			if !noBody {
				for i := 0; i < len(body); i += 10000 {
					part := body[i:min(i+10000, len(body))]
					fmt.Fprintf(&b, "%x\r\n%s\r\n", len(part), part)
				}
				b.WriteString("0\r\n\r\n")
			}
		case "close":
			b.WriteString("Connection: close\r\n\r\n")
			b.WriteString(body)
		default:
			fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
			if !noBody {
				b.WriteString(body)
			}
		}
		if _, err := io.WriteString(c, b.String()); err != nil || frame == "close" || ver == "1.0" {
			return
		}
	}
}

func compConfig(fe, fe2, fe3, feH2 int, origin string) string {
	return fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    compression algo raw-deflate gzip
    compression type text/html text/plain application/json
    default_backend app

frontend fe2
    bind 127.0.0.1:%d
    default_backend app2

frontend fe3
    bind 127.0.0.1:%d
    compression algo gzip
    compression type text/html
    stats enable
    stats uri /fe-stats

backend app
    http-response set-header X-Comp "%%[res.comp] %%[res.comp_algo]"
    server s1 %s

backend app2
    compression algo identity gzip
    compression offload
    http-response set-header X-Comp "%%[res.comp] %%[res.comp_algo]"
    server s1 %s
`, fe, feH2, fe2, fe3, origin, origin)
}

// compCase is one request of the matrix: its frontend, request line
// pieces, extra request headers and the origin's shaping query.
type compCase struct {
	name    string
	fe2     bool
	fe3     bool // the stats page's frontend
	method  string
	version string // "1.1" unless set
	headers []string
	query   string
	path    string // "/r" (the origin) unless set
}

// target is the request-target.
func (c compCase) target() string {
	if c.path != "" {
		return c.path
	}
	return "/r?" + c.query
}

func compCases() []compCase {
	ae := func(v string) []string { return []string{"Accept-Encoding: " + v} }
	return []compCase{
		{name: "gzip", headers: ae("gzip")},
		{name: "deflate is raw-deflate", headers: ae("deflate")},
		{name: "best q wins", headers: ae("gzip;q=0.5, deflate;q=0.9")},
		{name: "equal q first wins", headers: ae("deflate, gzip")},
		{name: "q=0 refuses", headers: ae("gzip;q=0")},
		{name: "q=0 and another", headers: ae("gzip;q=0, deflate;q=0.001")},
		{name: "star", headers: ae("*")},
		{name: "upper Q", headers: ae("gzip;Q=0")},
		{name: "unknown coding", headers: ae("br")},
		{name: "no Accept-Encoding"},
		{name: "two headers", headers: []string{"Accept-Encoding: br", "Accept-Encoding: gzip;q=0.2"}},
		{name: "already encoded", headers: ae("gzip"), query: "ce=br"},
		{name: "no-transform", headers: ae("gzip"), query: "cc=public,%20no-transform"},
		{name: "cache-control other", headers: ae("gzip"), query: "cc=max-age=60"},
		{name: "206", headers: ae("gzip"), query: "status=206"},
		{name: "201", headers: ae("gzip"), query: "status=201"},
		{name: "404", headers: ae("gzip"), query: "status=404"},
		{name: "304", headers: ae("gzip"), query: "status=304&frame=cl0"},
		{name: "204", headers: ae("gzip"), query: "status=204&frame=cl0"},
		{name: "HEAD", method: "HEAD", headers: ae("gzip")},
		{name: "type listed with charset", headers: ae("gzip"), query: "ct=text/html;%20charset=utf-8"},
		{name: "type prefix any case", headers: ae("gzip"), query: "ct=TEXT/PLAINISH"},
		{name: "type not listed", headers: ae("gzip"), query: "ct=image/png"},
		{name: "no type", headers: ae("gzip"), query: "ct=-"},
		{name: "strong etag", headers: ae("gzip"), query: "etag=%22v1%22"},
		{name: "weak etag", headers: ae("gzip"), query: "etag=W/%22v1%22"},
		{name: "invalid etag", headers: ae("gzip"), query: "etag=v1"},
		{name: "two etags", headers: ae("gzip"), query: "etag=%22a%22&etag=%22b%22"},
		{name: "vary kept", headers: ae("gzip"), query: "vary=Origin"},
		{name: "chunked", headers: ae("gzip"), query: "frame=chunked"},
		{name: "until close", headers: ae("gzip"), query: "frame=close"},
		{name: "empty body", headers: ae("gzip"), query: "frame=cl0"},
		{name: "HTTP/1.0 server", headers: ae("gzip"), query: "ver=1.0"},
		{name: "HTTP/1.0 client", version: "1.0", headers: ae("gzip")},
		{name: "old Mozilla", headers: append(ae("gzip"), "User-Agent: Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)")},
		{name: "MSIE 6 SP2", headers: append(ae("gzip"), "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)")},
		{name: "identity implicit", fe2: true, headers: ae("br")},
		{name: "identity no header", fe2: true},
		{name: "offload gzip", fe2: true, headers: ae("gzip")},
		{name: "offload refused", fe2: true, headers: ae("gzip;q=0")},
		{name: "multipart", fe2: true, headers: ae("gzip"), query: "ct=multipart/mixed"},
		{name: "any type without list", fe2: true, headers: ae("gzip"), query: "ct=image/png"},
		// HAProxy's filter compresses its stats page as a server's answer.
		{name: "stats page", fe3: true, path: "/fe-stats", headers: ae("gzip")},
		{name: "stats page q=0", fe3: true, path: "/fe-stats", headers: ae("gzip;q=0")},
		{name: "stats page HEAD", fe3: true, method: "HEAD", path: "/fe-stats", headers: ae("gzip")},
	}
}

// compOutcome renders what a client sees of a response: status, the
// headers compression decides, the framing, and the body once decoded.
func compOutcome(t *testing.T, status int, h http.Header, chunked bool, raw []byte, page bool) string {
	t.Helper()
	ce := strings.Join(h.Values("Content-Encoding"), ",")
	var body []byte
	var err error
	switch ce {
	case "gzip":
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(raw)); err == nil {
			body, err = io.ReadAll(zr)
		}
	case "deflate":
		// zlib or raw: decode what the header says (0x78 starts zlib).
		if len(raw) > 0 && raw[0] == 0x78 {
			var zr io.ReadCloser
			if zr, err = zlib.NewReader(bytes.NewReader(raw)); err == nil {
				body, err = io.ReadAll(zr)
			}
		} else {
			body, err = io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
		}
	default:
		body = raw
	}
	if err != nil {
		return fmt.Sprintf("status=%d ce=%s UNDECODABLE: %v", status, ce, err)
	}
	bodyDesc := fmt.Sprintf("%d bytes", len(body))
	switch {
	case string(body) == compOriginBody:
		bodyDesc = "origin body"
	case page && bytes.Contains(body, []byte("</html>")):
		// Each proxy's own stats page: whole once decoded.
		bodyDesc = "a stats page"
	}
	// The framing compression sets (no length, chunked) is compared where
	// the compression filter acted; elsewhere it is the HTTP layer's
	// business (HAProxy drops a 204's Content-Length and passes a body
	// delimited by close as it is, Gatehouse keeps the first and chunks
	// the second for a keep-alive client), not this test's.
	// A stats page is whole in memory: Gatehouse keeps its Content-Length
	// where HAProxy's applet streams it chunked.
	framing := "as relayed"
	if slices.Contains(h.Values("Vary"), "Accept-Encoding") && !page {
		framing = fmt.Sprintf("cl=%v chunked=%v", h.Get("Content-Length") != "", chunked)
	}
	return fmt.Sprintf("status=%d ce=%q vary=%q etag=%q framing=%s seen-ae=%q res.comp=%q body=%s",
		status, ce, h.Values("Vary"), h.Values("Etag"), framing, h.Get("X-Seen-Ae"), h.Get("X-Comp"), bodyDesc)
}

// h1Outcome sends one request on a fresh connection and reads the answer.
func h1Outcome(t *testing.T, addr string, c compCase) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	method, version := c.method, c.version
	if method == "" {
		method = "GET"
	}
	if version == "" {
		version = "1.1"
	}
	fmt.Fprintf(conn, "%s %s HTTP/%s\r\nHost: app\r\n%s", method, c.target(), version, strings.Join(append(slices.Clone(c.headers), "Connection: close", "", ""), "\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: body: %v", c.name, err)
	}
	return compOutcome(t, resp.StatusCode, resp.Header, slices.Contains(resp.TransferEncoding, "chunked"), raw, c.path != "")
}

// TestCompressionMatchesHAProxy: the same request/response matrix through
// HAProxy 2.6 and Gatehouse (HTTP/1.1 and HTTP/1.0 clients, HTTP/2 clients
// for a subset): the same decision, the same Content-Encoding, Vary and
// ETag, the same framing, bodies that decode to the same bytes, the same
// Accept-Encoding at the server (offload), and the same compression
// counters on the stats page.
func TestCompressionMatchesHAProxy(t *testing.T) {
	origin := startCompOrigin(t)
	results := map[string][]string{}
	counters := map[string]string{}
	compIn := map[string]int64{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		fe, fe2, fe3, feH2, st := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
		cfg := compConfig(fe, fe2, fe3, feH2, origin) + fmt.Sprintf(`
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, st)
		stop := testenv.StartSide(t, name, cfg)
		var out []string
		for _, c := range compCases() {
			if only := os.Getenv("COMP_ONLY"); only != "" && !strings.Contains(c.name, only) {
				continue
			}
			port := fe
			switch {
			case c.fe2:
				port = fe2
			case c.fe3:
				port = fe3
			}
			out = append(out, c.name+": "+h1Outcome(t, fmt.Sprintf("127.0.0.1:%d", port), c))
		}
		h2 := &http2.Transport{AllowHTTP: true, DisableCompression: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}
		client := &http.Client{Transport: h2, Timeout: 20 * time.Second}
		for _, c := range compCases() {
			if only := os.Getenv("COMP_ONLY"); only != "" && !strings.Contains(c.name, only) {
				continue
			}
			if c.fe2 || c.fe3 || c.version != "" || strings.Contains(c.name, "two headers") {
				continue
			}
			method := c.method
			if method == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", feH2, c.target()), nil)
			for _, h := range c.headers {
				k, v, _ := strings.Cut(h, ": ")
				req.Header.Add(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: h2 %s: %v", name, c.name, err)
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("%s: h2 %s: body: %v", name, c.name, err)
			}
			out = append(out, "h2 "+c.name+": "+compOutcome(t, resp.StatusCode, resp.Header, false, raw, c.path != ""))
		}
		h2.CloseIdleConnections()
		// comp_in differs with the compressor; the responses counted and
		// the bytes that entered it do not.
		want := func(row map[string]string) bool { return row["comp_rsp"] != "" }
		var rows map[string]map[string]string
		testenv.Eventually(t, 10*time.Second, func() bool {
			rows = compStatsRows(t, fmt.Sprintf("http://127.0.0.1:%d/stats;csv", st))
			return want(rows["fe/FRONTEND"]) && rows["fe/FRONTEND"]["scur"] == "0"
		}, "%s: no stats", name)
		for _, row := range []string{"fe/FRONTEND", "fe2/FRONTEND", "app/BACKEND", "app2/BACKEND"} {
			r := rows[row]
			counters[name] += fmt.Sprintf("%s comp_rsp=%s comp_byp=%s comp_out>0=%v\n", row, r["comp_rsp"], r["comp_byp"], r["comp_out"] != "0" && r["comp_out"] != "")
			compIn[name+row] = atoi64(r["comp_in"])
		}
		// The page's compression tooltips (Bytes/Out), numbers aside.
		counters[name] += compTooltips(t, fmt.Sprintf("http://127.0.0.1:%d/stats", st))
		// Each proxy's stats page is its own: only the count compares.
		counters[name] += "fe3/FRONTEND comp_rsp=" + rows["fe3/FRONTEND"]["comp_rsp"] + "\n"
		results[name] = out
		stop()
	}
	h, g := results["haproxy"], results["gatehouse"]
	diff := 0
	for i := range h {
		if h[i] != g[i] {
			diff++
			t.Errorf("differs:\n  haproxy:   %s\n  gatehouse: %s", h[i], g[i])
		}
	}
	if counters["haproxy"] != counters["gatehouse"] {
		t.Errorf("counters differ:\nhaproxy:\n%s\ngatehouse:\n%s", counters["haproxy"], counters["gatehouse"])
	}
	// comp_in: the body bytes compressed. HAProxy 2.6 adds 2 bytes for a
	// chunked server response (a framing block its filter counts as
	// consumed); allow that much per chunked case, and no more.
	for _, row := range []string{"fe/FRONTEND", "fe2/FRONTEND", "app/BACKEND", "app2/BACKEND"} {
		hi, gi := compIn["haproxy"+row], compIn["gatehouse"+row]
		if gi < hi-4 || gi > hi {
			t.Errorf("%s comp_in: haproxy %d, gatehouse %d", row, hi, gi)
		}
	}
	compressed := 0
	for _, l := range g {
		if strings.Contains(l, `ce="gzip"`) || strings.Contains(l, `ce="deflate"`) {
			compressed++
		}
	}
	if compressed < 10 {
		t.Errorf("only %d compressed responses: the matrix does not exercise compression", compressed)
	}
	if diff == 0 {
		t.Logf("both:\n%s\n%s", strings.Join(g, "\n"), counters["gatehouse"])
	}
}

// compStatsRows reads a CSV stats page into rows by "pxname/svname".
func compStatsRows(t *testing.T, u string) map[string]map[string]string {
	t.Helper()
	if _, err := url.Parse(u); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return nil
	}
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	rows := map[string]map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		row := map[string]string{}
		for i, c := range cols {
			if i < len(f) {
				row[c] = f[i]
			}
		}
		rows[row["pxname"]+"/"+row["svname"]] = row
	}
	return rows
}

func atoi64(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

// compTooltips returns the stats page's shown compression tooltips (on an
// underlined Bytes/Out cell; HAProxy also writes a hidden one on every
// other row) with their numbers blanked, in page order.
func compTooltips(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	var out strings.Builder
	// The share of 2xx compressed, per frontend and backend.
	for _, m := range regexp.MustCompile(`Compressed 2xx:</th><td>[^<]*</td><td>[^<]*</td>`).FindAllString(page, -1) {
		out.WriteString(m + "\n")
	}
	for {
		i := strings.Index(page, "<tr><th>Response bytes in:")
		if i < 0 {
			break
		}
		j := strings.Index(page[i:], "</table>")
		if j < 0 {
			break
		}
		cell := page[strings.LastIndex(page[:i], "<td>"):i]
		if strings.HasPrefix(cell, "<td><u>") {
			n := regexp.MustCompile(`(<span class="rls">|</span>|[0-9])+`).ReplaceAllString(page[i:i+j], "N")
			out.WriteString(n + "\n")
		}
		page = page[i+j:]
	}
	return out.String()
}
