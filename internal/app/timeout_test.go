package app

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTimeoutsAreInactivity: timeout client and timeout server bound
// silence, not the length of an exchange: a stream that keeps flowing for
// three times the timeouts completes, a server that goes silent is cut.
func TestTimeoutsAreInactivity(t *testing.T) {
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		f := w.(http.Flusher)
		switch r.URL.Path {
		case "/stream":
			for i := 0; i < 15; i++ {
				fmt.Fprintf(w, "tick %d\n", i)
				f.Flush()
				time.Sleep(100 * time.Millisecond)
			}
		case "/stall":
			io.WriteString(w, "start\n")
			f.Flush()
			time.Sleep(3 * time.Second)
			io.WriteString(w, "too late\n")
		}
	})
	port := freePort(t)
	start(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 1s
    timeout client 500ms
    timeout server 500ms
frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    server s1 %s
`, port, hostPort(be)))
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stream", port))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(b), "tick 14\n") {
		t.Errorf("a 1.5s stream under 500ms timeouts: %v %q", err, b)
	}
	startAt := time.Now()
	resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/stall", port))
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || strings.Contains(string(b), "too late") {
		t.Errorf("a silent server was not cut: %v %q", err, b)
	}
	if d := time.Since(startAt); d > 2*time.Second {
		t.Errorf("cut after %v, want about timeout server (500ms)", d)
	}
}
