package h2

import (
	"net"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/h2spectest"
)

// TestH2Spec runs the h2spec conformance suite (generic, http2, hpack) over
// TLS against the engine alone; internal/app runs it against the edge.
func TestH2Spec(t *testing.T) {
	srv := startServer(t, &Config{}, selfSignedTLS(t), okHandler)
	port := srv.ln.Addr().(*net.TCPAddr).Port
	total, failed := h2spectest.Run(t, "127.0.0.1", port, true)
	if len(failed) > 0 {
		t.Fatalf("h2spec: %d of %d cases failed:\n%s", len(failed), total, strings.Join(failed, "\n"))
	}
	t.Logf("h2spec: %d/%d passed", total, total)
}

// TestH2SpecCleartext runs the suite over h2c (prior knowledge), whose
// frames are read by rawReader.FillWith inside the socket's read.
func TestH2SpecCleartext(t *testing.T) {
	srv := startServer(t, &Config{}, nil, okHandler)
	port := srv.ln.Addr().(*net.TCPAddr).Port
	total, failed := h2spectest.Run(t, "127.0.0.1", port, false)
	if len(failed) > 0 {
		t.Fatalf("h2spec (h2c): %d of %d cases failed:\n%s", len(failed), total, strings.Join(failed, "\n"))
	}
	t.Logf("h2spec (h2c): %d/%d passed", total, total)
}
