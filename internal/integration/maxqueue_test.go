package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestMaxqueueLikeHAProxy: with hash balancing a request waits for its
// own server; "maxqueue 1" lets one wait there, and the next one is
// answered 503 at once. Once the server frees up the waiting one is served.
func TestMaxqueueLikeHAProxy(t *testing.T) {
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		var held atomic.Int64
		gate := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			held.Add(1)
			select {
			case <-gate:
			case <-time.After(30 * time.Second):
			}
			io.WriteString(w, "ok")
		}))
		t.Cleanup(srv.Close)
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout queue 60s

listen l
    bind 127.0.0.1:%d
    balance uri
    server s1 %s maxconn 1 maxqueue 1
`, port, srv.Listener.Addr())
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		get := func() {
			defer wg.Done()
			code := 0
			if resp, err := client.Get(fmt.Sprintf("http://%s/same", testenv.LocalAddr(port))); err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}
		wg.Add(1)
		go get()
		testenv.Eventually(t, 30*time.Second, func() bool { return held.Load() == 1 }, "%s: the first request never reached the server", name)
		// Two more for the same server: one may wait, the other may not.
		wg.Add(2)
		go get()
		go get()
		testenv.Eventually(t, 30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return codes[503] >= 1 },
			"%s: no request was refused for a full server queue", name)
		close(gate)
		wg.Wait()
		results[name] = fmt.Sprintf("200=%d 503=%d other=%d", codes[200], codes[503], 3-codes[200]-codes[503])
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] || results["gatehouse"] != "200=2 503=1 other=0" {
		t.Errorf("haproxy: %s, gatehouse: %s, want 200=2 503=1", results["haproxy"], results["gatehouse"])
	}
}
