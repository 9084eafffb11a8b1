package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// TestNoCertificateWatchInChroot: in a chroot jail the certificate paths
// are not reachable; Gatehouse says so once instead of an error at every
// check (corpus 001 and 087 logged one each poll).
func TestNoCertificateWatchInChroot(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	g := &app.Graph{Cfg: &config.Config{}, Stores: []*tlsconf.Store{nil}}
	g.Cfg.Global.Process.Chroot = "/var/lib/haproxy"
	stop := watchCertificates(g, logger)
	stop()
	if !strings.Contains(buf.String(), "not watched in the chroot jail") || strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("log: %q", buf.String())
	}
}
