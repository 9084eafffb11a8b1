package app

import (
	"context"
	"log/slog"
	"strings"

	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// WatchCertificates reloads the graph's certificate stores when their
// files change (a vault agent or a Kubernetes secret rotating them), so
// new handshakes get the new certificate without a restart. The returned
// func stops watching.
func WatchCertificates(g *Graph, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	for _, s := range g.Stores {
		files := strings.Join(s.Paths(), " ")
		if files == "" {
			files = "the crt-list"
		}
		o := tlsconf.WatchOptions{OnReload: func() { log.Info("TLS certificates reloaded from " + files + ".") }}
		go tlsconf.WatchWithOptions(ctx, s, o, func(err error) {
			log.Error("TLS certificates of "+files+" not reloaded; the previous ones stay", "reason", err)
		})
	}
	return cancel
}
