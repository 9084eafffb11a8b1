package app

import (
	"context"
	"log/slog"

	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// WatchCertificates reloads the graph's certificate stores when their
// files change (a vault agent or a Kubernetes secret rotating them), so
// new handshakes get the new certificate without a restart. The returned
// func stops watching.
func WatchCertificates(g *Graph, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	for _, s := range g.Stores {
		go tlsconf.Watch(ctx, s, func(err error) {
			log.Error("certificate reload failed; keeping the previous certificates", "err", err)
		})
	}
	return cancel
}
