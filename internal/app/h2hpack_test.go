package app

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// Request fields are views of the transaction's arena, which the next
// request on the connection writes over. The HTTP/2 upstream's encoder must
// not keep them in its dynamic table: an entry whose bytes changed under it
// matched later values, and the gateway got a header of an earlier request
// (the edge's view of who the caller is, among others).
func TestH2UpstreamGetsEachRequestsOwnFields(t *testing.T) {
	up := newH2Backend(t, true, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("X-Who"))
	})
	port := freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend up
backend up
    server s1 %s proto h2
`, port, up.addr()))
	c, br := dialKeepAlive(t, fmt.Sprintf("127.0.0.1:%d", port))
	for i := range 300 {
		who := fmt.Sprintf("user-%04d", i%37)
		fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: app.example\r\nX-Who: %s\r\n\r\n", i, who)
		resp, body := readResponse(t, br, "GET")
		if resp.StatusCode != 200 || body != who {
			t.Fatalf("request %d with X-Who %q: status %d, the gateway got %q", i, who, resp.StatusCode, body)
		}
	}
}
