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

// TestMinconnFullconnLikeHAProxy: a server with "minconn 1 maxconn 10" in
// a backend with "fullconn 100" takes max(1, beconn*10/100) connections at
// once: of 20 concurrent requests at most 2 are at the server at a time
// (1 until all 20 are in the backend), the rest wait in the queue, and all
// are answered. With maxconn alone 10 would be.
func TestMinconnFullconnLikeHAProxy(t *testing.T) {
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		var held, peak atomic.Int64
		gate := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := held.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			// Held long enough for the others to arrive meanwhile.
			select {
			case <-gate:
			case <-time.After(300 * time.Millisecond):
			}
			held.Add(-1)
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
    fullconn 100
    server s1 %s minconn 1 maxconn 10
`, port, srv.Listener.Addr())
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var wg sync.WaitGroup
		var ok, sent atomic.Int64
		client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sent.Add(1)
				resp, err := client.Get(fmt.Sprintf("http://%s/%d", testenv.LocalAddr(port), i))
				if err == nil {
					if resp.StatusCode == 200 {
						ok.Add(1)
					}
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		close(gate)
		results[name] = fmt.Sprintf("peak<=2:%v ok=%d", peak.Load() <= 2, ok.Load())
		t.Logf("%s: %s", name, results[name])
	}
	if results["haproxy"] != results["gatehouse"] || results["gatehouse"] != "peak<=2:true ok=20" {
		t.Errorf("haproxy: %s, gatehouse: %s, want at most 2 at once and 20 answers", results["haproxy"], results["gatehouse"])
	}
}
