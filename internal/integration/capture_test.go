package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// captureLine: %ST %B %CC %CS %tsc ... %hr %hs "%r" of httplog.
var captureLine = regexp.MustCompile(` (\d+) \d+ (\S+) (\S+) \S{4} \S+ \S+ (\{[^}]*\})? ?(\{[^}]*\})? ?"(.*)"$`)

// TestCapturesMatchHAProxy runs "capture cookie", "capture request|response
// header", "declare capture" and "http-request|http-response capture" (len
// and id, in the frontend and in the backend) side by side with HAProxy
// 2.6: the same requests must log the same %CC, %CS, %hr and %hs.
func TestCapturesMatchHAProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "OTHER=1; Path=/")
		if r.URL.Query().Get("c") != "" {
			w.Header().Add("Set-Cookie", "SESSIONID="+r.URL.Query().Get("c")+"; Path=/; HttpOnly")
		}
		w.Header().Set("X-Srv", "server-one-with-a-long-name")
		w.Header().Set("X-B", "bee")
		io.WriteString(w, "ok")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	type req struct {
		path   string
		header map[string]string
	}
	reqs := []req{
		{"/a?c=abcdefghijklmnopq", map[string]string{"Cookie": "x=1; SESSIONID=0123456789abcdef; y=2", "X-A": "aaaaaaaaaa"}},
		{"/b", map[string]string{"Cookie": "SESS = spaced ; other=3", "X-C": "from-backend-rule"}},
		{"/c?c=short", nil},
		{"/deny", map[string]string{"Cookie": "SESSx=denied"}},
	}
	run := func(name string, start func(cfg string)) map[string]string {
		sink := startSyslogSink(t)
		port := testenv.FreePort(t)
		start(fmt.Sprintf(`global
    log %s format raw local0

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    capture cookie SESS len 12
    capture request header Host len 20
    declare capture request len 8
    http-request capture req.hdr(X-A) len 5
    http-request capture path id 1
    declare capture response len 10
    capture response header X-Srv len 10
    http-response capture res.hdr(X-B) id 0
    http-request deny if { path /deny }
    default_backend app

backend app
    http-request capture req.hdr(X-C) id 1
    server s1 %s
`, sink.Addr, port, ln.Addr().String()))
		for _, r := range reqs {
			hr, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, r.path), nil)
			hr.Host = "www.example.test"
			for k, v := range r.header {
				hr.Header.Set(k, v)
			}
			hr.Close = true
			resp, err := http.DefaultClient.Do(hr)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, r.path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		out := map[string]string{}
		testenv.Eventually(t, 20*time.Second, func() bool {
			for _, l := range sink.Lines(" fe ") {
				m := captureLine.FindStringSubmatch(strings.TrimSpace(l))
				if m == nil || strings.Contains(m[6], "BADREQ") {
					continue
				}
				out[m[6]] = fmt.Sprintf("status=%s CC=%s CS=%s hr=%s hs=%s", m[1], m[2], m[3], m[4], m[5])
			}
			return len(out) >= len(reqs)
		}, "%s: %d lines, want %d:\n%s", name, len(out), len(reqs), sink.All())
		return out
	}
	gh := run("gatehouse", func(cfg string) { testenv.StartGatehouse(t, cfg) })
	hp := run("haproxy", func(cfg string) { testenv.StartHAProxy(t, cfg) })
	for k, v := range hp {
		if gh[k] != v {
			t.Errorf("%s:\n gatehouse: %s\n   haproxy: %s", k, gh[k], v)
		}
	}
}
