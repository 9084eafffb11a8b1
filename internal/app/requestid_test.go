package app

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var (
	uuidRe        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	traceparentRe = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)
)

// TestRequestIDs: every request leaves with an X-Request-Id and a
// traceparent; an untrusted client's ids are replaced, a trusted one's
// kept (with a new span id for the edge's hop), and unique-id-format
// drives the id when set.
func TestRequestIDs(t *testing.T) {
	seen := make(chan http.Header, 10)
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		io.WriteString(w, "ok")
	})
	untrusted, trusted, custom := freePort(t), freePort(t), freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend untrusted
    bind 127.0.0.1:%d
    default_backend app
frontend trusted
    bind 127.0.0.1:%d
    request-id-trust 127.0.0.0/8
    default_backend app
frontend custom
    bind 127.0.0.1:%d
    unique-id-format edge-%%[str(fixed)]
    unique-id-header X-Edge-Id
    default_backend app
backend app
    server s1 %s
`, untrusted, trusted, custom, hostPort(be)))
	const clientTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	send := func(port int) http.Header {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
		req.Header.Set("X-Request-Id", "client-chosen")
		req.Header.Set("traceparent", clientTP)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return <-seen
	}
	h := send(untrusted)
	if id := h.Get("X-Request-Id"); !uuidRe.MatchString(id) {
		t.Errorf("untrusted: X-Request-Id %q, want a generated UUID", id)
	}
	if m := traceparentRe.FindStringSubmatch(h.Get("traceparent")); m == nil || m[1] == "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("untrusted: traceparent %q, want a new trace", h.Get("traceparent"))
	}
	h = send(trusted)
	if id := h.Get("X-Request-Id"); id != "client-chosen" {
		t.Errorf("trusted: X-Request-Id %q, want the client's", id)
	}
	m := traceparentRe.FindStringSubmatch(h.Get("traceparent"))
	if m == nil || m[1] != "4bf92f3577b34da6a3ce929d0e0e4736" || m[2] == "00f067aa0ba902b7" {
		t.Errorf("trusted: traceparent %q, want the same trace with the edge's span", h.Get("traceparent"))
	}
	h = send(custom)
	if id := h.Get("X-Edge-Id"); id != "edge-fixed" {
		t.Errorf("unique-id-format: X-Edge-Id %q", id)
	}
	if len(h.Values("traceparent")) != 1 || strings.Contains(h.Get("traceparent"), "4bf92f35") {
		t.Errorf("custom: traceparent %v", h.Values("traceparent"))
	}
}
