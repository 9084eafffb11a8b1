package app

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/cfgparse"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// start builds cfg and serves it; the runtime stops with the test.
func start(t *testing.T, cfg string) *Runtime { return startAdjusted(t, cfg, nil) }

// startAdjusted is start with a chance to adjust the graph before it serves.
func startAdjusted(t *testing.T, cfg string, adjust func(*Graph)) *Runtime {
	t.Helper()
	c, err := parseText(cfg)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	g, err := Build(c, "test")
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if adjust != nil {
		adjust(g)
	}
	rt := NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := rt.Apply(g); err != nil {
		t.Fatalf("apply: %v", err)
	}
	t.Cleanup(func() { _ = rt.Shutdown() })
	return rt
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	return testenv.FreePort(t)
}

// rawExchange writes req on a fresh connection and returns everything
// read until the server closes or 2s pass.
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// readResponse reads one response from br.
func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(body)
}

// echoBackend answers with what reached it, as text lines.
func echoBackend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "backend=%s\nmethod=%s\nuri=%s\nhost=%s\nbody=%s\n", name, r.Method, r.RequestURI, r.Host, body)
		for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Custom", "X-Forwarded-User"} {
			fmt.Fprintf(w, "%s=%s\n", strings.ToLower(k), strings.Join(r.Header.Values(k), "|"))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func hostPort(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

func parseText(cfg string) (*config.Config, error) {
	return cfgparse.Parse("test.cfg", []byte(cfg), cfgparse.Options{})
}

// echoBackendFunc serves h on a test server.
func echoBackendFunc(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
