package h2cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// A connection carries requests one after the other over h2c and over TLS,
// its receive window topped up as responses use it, and reports a non-200.
func TestGetAgainstGoServer(t *testing.T) {
	body := strings.Repeat("x", 300<<10) // 4 responses use more than the 1 MiB top-up
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			http.Error(w, "not h2", http.StatusHTTPVersionNotSupported)
			return
		}
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, body)
	})
	plain := httptest.NewServer(h2c.NewHandler(h, &http2.Server{}))
	defer plain.Close()
	tlsSrv := httptest.NewUnstartedServer(h)
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	for _, tc := range []struct {
		name   string
		addr   string
		useTLS bool
	}{{"h2c", plain.Listener.Addr().String(), false}, {"h2", tlsSrv.Listener.Addr().String(), true}} {
		c, err := Dial(tc.addr, "example.test", "/", tc.useTLS, 10*time.Second)
		if err != nil {
			t.Fatalf("%s: dial: %v", tc.name, err)
		}
		for i := range 8 {
			if err := c.Get(); err != nil {
				t.Fatalf("%s: request %d: %v", tc.name, i+1, err)
			}
		}
		c.Close()
		c, err = Dial(tc.addr, "example.test", "/missing", tc.useTLS, 10*time.Second)
		if err != nil {
			t.Fatalf("%s: dial: %v", tc.name, err)
		}
		if err := c.Get(); err == nil || !strings.Contains(err.Error(), `"404"`) {
			t.Fatalf("%s: a 404 gave %v, want a status error", tc.name, err)
		}
		c.Close()
	}
}
