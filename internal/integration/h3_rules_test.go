package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

const h3RulesConfig = `global
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind %[1]s alpn h3
    bind %[2]s
    http-request deny deny_status 403 if { path_beg /deny }
    http-request redirect location /moved code 302 if { path /old }
    http-request set-header X-From-Edge %%[req.ver]
    http-response set-header X-Resp edge
    http-response set-header alt-svc "h3=\":%[3]d\"; ma=900"
    use_backend framing if { path /framing }
    default_backend be

backend be
    server s1 ` + "%[4]s" + `

backend framing
    server s1 ` + "%[6]s" + `

listen stats
    bind 127.0.0.1:%[5]d
    stats enable
    stats uri /stats
`

// h3RulesCfg is h3RulesConfig with its backends: echo, and a server that
// answers how a request was framed.
func h3RulesCfg(t *testing.T, echo string, statsPort int) string {
	fr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "te=%v cl=%d", r.TransferEncoding, r.ContentLength)
	}))
	t.Cleanup(fr.Close)
	return strings.NewReplacer("%[4]s", echo, "%[5]d", strconv.Itoa(statsPort), "%[6]s", fr.Listener.Addr().String()).Replace(h3RulesConfig)
}

// TestH3Rules: over HTTP/3 the frontend's http-request and http-response
// rules do what they do over HTTP/2 on the TCP bind of the same frontend
// (deny, redirect, set-header both ways), Alt-Svc is advertised by a rule
// on both, each request is logged with HTTP/3.0 as its version, and the
// frontend's counters count them.
func TestH3Rules(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	statsPort := testenv.FreePort(t)
	e := startH3(t, h3RulesCfg(t, echo.Addr, statsPort))
	noRedirect := func(c *http.Client) *http.Client {
		cc := *c
		cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &cc
	}
	h3c, h2c := noRedirect(e.Client), noRedirect(e.TCP)
	altSvc := fmt.Sprintf(`h3=":%d"; ma=900`, e.UDPPort)
	stats := func() map[string]string {
		resp, body := e.do(t, http.DefaultClient, "GET", fmt.Sprintf("http://127.0.0.1:%d/stats;csv", statsPort), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("stats: %d", resp.StatusCode)
		}
		return csvRow(t, body, "fe", "FRONTEND")
	}
	before := stats()

	for _, tc := range []struct {
		path   string
		status int
		check  func(t *testing.T, resp *http.Response, body string)
	}{
		{"/deny/x", 403, nil},
		{"/old", 302, func(t *testing.T, resp *http.Response, _ string) {
			if resp.Header.Get("Location") != "/moved" {
				t.Errorf("Location %q", resp.Header.Get("Location"))
			}
		}},
		{"/app", 200, func(t *testing.T, resp *http.Response, body string) {
			if resp.Header.Get("X-Resp") != "edge" {
				t.Errorf("X-Resp %q", resp.Header.Get("X-Resp"))
			}
			if got := resp.Header.Get("Alt-Svc"); got != altSvc {
				t.Errorf("Alt-Svc %q, want %q", got, altSvc)
			}
		}},
	} {
		for _, side := range []struct {
			name  string
			c     *http.Client
			url   string
			proto string
		}{{"h2", h2c, e.TCPURL, "HTTP/2.0"}, {"h3", h3c, e.URL, "HTTP/3.0"}} {
			t.Run(side.name+tc.path, func(t *testing.T) {
				resp, body := e.do(t, side.c, "GET", side.url+tc.path, nil)
				if resp.StatusCode != tc.status || resp.Proto != side.proto {
					t.Fatalf("%d %s, want %d %s: %s", resp.StatusCode, resp.Proto, tc.status, side.proto, body)
				}
				if tc.check != nil {
					tc.check(t, resp, body)
				}
				if tc.status == 200 {
					// req.ver is "2.0" over HTTP/2 and "3.0" over HTTP/3.
					want := fmt.Sprintf(`"X-From-Edge":["%s"]`, strings.TrimPrefix(side.proto, "HTTP/"))
					if !strings.Contains(body, want) {
						t.Errorf("backend did not get %s: %s", want, body)
					}
				}
			})
		}
	}

	// The logs: one httplog line per HTTP/3 request, version HTTP/3.0.
	testenv.Eventually(t, 20*time.Second, func() bool {
		out := e.G.Process.Output.Stdout()
		return strings.Contains(out, `"GET /deny/x HTTP/3.0"`) && strings.Contains(out, `"GET /app HTTP/3.0"`) && strings.Contains(out, `"GET /old HTTP/3.0"`)
	}, "no HTTP/3.0 httplog lines:\n%s", e.G.Process.Output.Stdout())
	for _, l := range strings.Split(e.G.Process.Output.Stdout(), "\n") {
		switch {
		case strings.Contains(l, `"GET /deny/x HTTP/3.0"`):
			if !strings.Contains(l, " fe~ fe/<NOSRV> ") || !strings.Contains(l, " 403 ") || !strings.Contains(l, " PR-- ") {
				t.Errorf("denied request's log line: %s", l)
			}
		case strings.Contains(l, `"GET /app HTTP/3.0"`):
			if !strings.Contains(l, " fe~ be/s1 ") || !strings.Contains(l, " 200 ") {
				t.Errorf("served request's log line: %s", l)
			}
		}
	}

	// The counters: three requests over each protocol (and the start-up
	// probe before "before"), one 403 and one 302 each.
	after := stats()
	diff := func(col string) int {
		a, _ := strconv.Atoi(after[col])
		b, _ := strconv.Atoi(before[col])
		return a - b
	}
	if diff("req_tot") != 6 || diff("hrsp_2xx") != 2 || diff("hrsp_3xx") != 2 || diff("hrsp_4xx") != 2 || diff("dreq") != 2 {
		t.Errorf("frontend counters moved by req_tot %d hrsp_2xx %d hrsp_3xx %d hrsp_4xx %d dreq %d, want 6 2 2 2 2",
			diff("req_tot"), diff("hrsp_2xx"), diff("hrsp_3xx"), diff("hrsp_4xx"), diff("dreq"))
	}
}

// TestH3Bodies: large bodies cross HTTP/3 both ways intact, many streams
// share one connection concurrently, and a client that goes away in the
// middle of a response is logged as such (CD) without disturbing the
// connection's other requests or the next ones.
func TestH3Bodies(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	statsPort := testenv.FreePort(t)
	e := startH3(t, h3RulesCfg(t, echo.Addr, statsPort))

	t.Run("upload", func(t *testing.T) {
		up := make([]byte, 12<<20)
		rand.Read(up)
		// Without a length (streamed) and with one.
		for _, withLen := range []bool{false, true} {
			var body io.Reader = bytes.NewReader(up)
			if !withLen {
				body = io.MultiReader(bytes.NewReader(up[:1<<20]), bytes.NewReader(up[1<<20:]))
			}
			resp, got := e.do(t, e.Client, "POST", e.URL+"/upload", body)
			if resp.StatusCode != 200 {
				t.Fatalf("%d: %s", resp.StatusCode, got)
			}
			want := fmt.Sprintf(`"body_len":%d,"body_sha256":"%s"`, len(up), testenv.SHA256Hex(up))
			if !strings.Contains(got, want) {
				t.Fatalf("length given %v: the backend got %s, want %s", withLen, got, want)
			}
		}
	})
	t.Run("download", func(t *testing.T) {
		const n = 64 << 20
		resp, body := e.do(t, e.Client, "GET", e.URL+fmt.Sprintf("/bytes/%d", n), nil)
		if resp.StatusCode != 200 || len(body) != n || strings.Trim(body, "x") != "" {
			t.Fatalf("%d, %d bytes, want %d x", resp.StatusCode, len(body), n)
		}
	})
	t.Run("framing", func(t *testing.T) {
		// A GET ends its stream with its head: the server gets no body,
		// no chunked framing invented for it; a body without a length is
		// sent chunked, one with a length with it.
		for _, tc := range []struct {
			method string
			body   io.Reader
			want   string
		}{
			{"GET", nil, "te=[] cl=0"},
			{"POST", io.MultiReader(strings.NewReader("ab"), strings.NewReader("cd")), "te=[chunked] cl=-1"},
			{"POST", strings.NewReader("abcd"), "te=[] cl=4"},
		} {
			resp, body := e.do(t, e.Client, tc.method, e.URL+"/framing", tc.body)
			if resp.StatusCode != 200 || body != tc.want {
				t.Errorf("%s: %d %q, want %q", tc.method, resp.StatusCode, body, tc.want)
			}
		}
	})
	t.Run("concurrent streams", func(t *testing.T) {
		const n = 60
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				path := fmt.Sprintf("/slow/%d?i=%d", 50+i%5*20, i)
				req, _ := http.NewRequest("GET", e.URL+path, nil)
				resp, err := e.Client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || !strings.Contains(string(b), fmt.Sprintf(`"uri":"%s"`, path)) {
					errs <- fmt.Errorf("%s: %d %v %s", path, resp.StatusCode, err, b)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("client gone mid-stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+"/bytes/500000000", nil)
		resp, err := e.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
			t.Fatal(err)
		}
		cancel() // resets the stream
		resp.Body.Close()
		testenv.Eventually(t, 30*time.Second, func() bool {
			for _, l := range strings.Split(e.G.Process.Output.Stdout(), "\n") {
				if strings.Contains(l, `"GET /bytes/500000000 HTTP/3.0"`) && strings.Contains(l, " CD-- ") {
					return true
				}
			}
			return false
		}, "no CD log line for the abandoned download:\n%s", e.G.Process.Output.Stdout())
		// The connection serves on.
		if resp, body := e.do(t, e.Client, "GET", e.URL+"/after", nil); resp.StatusCode != 200 {
			t.Fatalf("after the reset: %d %s", resp.StatusCode, body)
		}
	})
}
