package app

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

func getStatus(t *testing.T, c *http.Client, url string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, string(b)
}

// A per-source rate limit: limit 10 per 10 s, 15 requests, the last 5
// denied with 429, on keep-alive and new connections alike; the counters
// read back through sc_*, sc0_* and src_* fetches.
func TestStickRateLimit(t *testing.T) {
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
		}
		fmt.Fprintf(w, "ok")
	})
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 30s store http_req_rate(10s),http_req_cnt,conn_cur,conn_cnt,gpc0,http_err_cnt,gpt0
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 10 }
    default_backend app

backend app
    server s1 %s
`, port, hostPort(be)))
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	keep := &http.Client{}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var codes []int
	for i := 0; i < 15; i++ {
		c := keep
		if i%2 == 1 {
			c = fresh
		}
		code, _, _ := getStatus(t, c, url+"/")
		codes = append(codes, code)
	}
	denied := 0
	for i, c := range codes {
		if c == 429 {
			denied++
			if i < 10 {
				t.Errorf("request %d denied", i+1)
			}
		}
	}
	if denied != 5 {
		t.Fatalf("denied %d of 15, want 5: %v", denied, codes)
	}
	// Still over the limit: the rule denies before anything else answers.
	if code, _, _ := getStatus(t, keep, url+"/show"); code != 429 {
		t.Fatalf("request 16: %d, want 429", code)
	}
}

// The fetches read what tracking counted (below the limit).
func TestStickFetches(t *testing.T) {
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
		}
		fmt.Fprintf(w, "ok")
	})
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 30s store http_req_rate(10s),http_req_cnt,conn_cur,conn_cnt,gpc0,http_err_cnt,gpt0
    http-request track-sc0 src
    http-request track-sc1 req.hdr(x-user) table users if { req.hdr(x-user) -m found }
    http-request sc-inc-gpc0(0) if { path /count }
    http-request sc-set-gpt0(0) req.hdr(x-tag) if { path /tag }
    http-request return status 200 content-type text/plain lf-string "rate=%%[sc0_http_req_rate] cnt=%%[src_http_req_cnt] cur=%%[sc_conn_cur(0)] gpc0=%%[sc_get_gpc0(0)] err=%%[sc0_http_err_cnt] gpt0=%%[sc0_get_gpt0] tracked=%%[sc1_tracked] user=%%[sc1_http_req_cnt] other=%%[sc_http_req_cnt(1,fe)]" if { path /show }
    default_backend app

backend users
    stick-table type string len 8 size 10 store http_req_cnt

backend app
    server s1 %s
`, port, hostPort(be)))
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := &http.Client{}
	getStatus(t, c, url+"/count")
	getStatus(t, c, url+"/count")
	if code, _, _ := getStatus(t, c, url+"/missing"); code != 404 {
		t.Fatalf("missing: %d", code)
	}
	getStatus(t, c, url+"/tag", "X-Tag", "42")
	getStatus(t, c, url+"/", "X-User", "alice-and-more")
	_, _, body := getStatus(t, c, url+"/show", "X-User", "alice-and-bob")
	want := "rate=6 cnt=6 cur=1 gpc0=2 err=1 gpt0=42 tracked=1 user=2 other=0"
	if body != want {
		t.Errorf("got  %q\nwant %q", body, want)
	}
}

// In mode http the tracked entries count each transaction's bytes when it
// ends: the request as received (head included) in bytes_in_*, the
// response as sent in bytes_out_*.
func TestStickHTTPBytes(t *testing.T) {
	body := make([]byte, 4096)
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(body)
	})
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 30s store bytes_in_cnt,bytes_in_rate(1m),bytes_out_cnt,bytes_out_rate(1m)
    http-request track-sc0 src
    http-request return status 200 content-type text/plain lf-string "in=%%[sc0_bytes_in_rate] kin=%%[sc0_kbytes_in] kout=%%[sc0_kbytes_out] out=%%[sc0_bytes_out_rate]" if { path /show }
    default_backend app

backend app
    server s1 %s
`, port, hostPort(be)))
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := &http.Client{}
	for i := 0; i < 2; i++ {
		if code, _, b := getStatus(t, c, url+"/big"); code != 200 || len(b) != 4096 {
			t.Fatalf("/big: %d, %d bytes", code, len(b))
		}
	}
	req := fmt.Sprintf("GET /big HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n", port)
	// Both responses: their bodies and heads, 8 kB and a little more.
	_, _, b := getStatus(t, c, url+"/show")
	var in, kin, kout, out int
	if _, err := fmt.Sscanf(b, "in=%d kin=%d kout=%d out=%d", &in, &kin, &kout, &out); err != nil {
		t.Fatalf("/show: %q: %v", b, err)
	}
	if in != 2*len(req) || kin != 0 || kout != 8 || out <= 2*4096 || out >= 2*4096+1024 {
		t.Errorf("/show: %q, want in=%d kin=0 kout=8 and out a little over 8192", b, 2*len(req))
	}
}

// The array actions in an HTTP frontend's tcp-request rule sets: the
// session rules run once per connection, the content rules once per
// request, on the entry the connection rules track. (HAProxy 2.6, with two
// sc-inc-gpc(1,0) for the sc-add-gpc it lacks, answers the same.)
func TestStickArrayActionsInTCPRules(t *testing.T) {
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 30s store gpc(2),gpt(1),sess_cnt
    tcp-request connection track-sc0 src
    tcp-request session sc-inc-gpc(0,0)
    tcp-request content sc-add-gpc(1,0) 2
    tcp-request content sc-set-gpt(0,0) path,length
    http-request return status 200 content-type text/plain lf-string "g0=%%[sc_get_gpc(0,0)] g1=%%[sc_get_gpc(1,0)] t0=%%[sc_get_gpt(0,0)] s=%%[sc0_sess_cnt]"
`, port))
	c := &http.Client{}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	var b string
	for _, p := range []string{"/", "/ab", "/abcd"} {
		_, _, b = getStatus(t, c, url+p)
	}
	// One connection: one session; three requests of 2 each; the last
	// path's length.
	if want := "g0=1 g1=6 t0=5 s=1"; b != want {
		t.Errorf("%q, want %q", b, want)
	}
}
