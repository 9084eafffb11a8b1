package app

import (
	"io"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/stats"
)

// maxAdminBody bounds what the stats page reads from an admin POST.
const maxAdminBody = 64 << 10

// statsService adapts the engine-neutral stats service to the proxy.
type statsService struct {
	svc *stats.Service
}

func (s *statsService) Serve(t *proxy.Txn) *proxy.Reply {
	var body []byte
	if t.Req.HasBody() {
		b, err := io.ReadAll(io.LimitReader(t.Body(), maxAdminBody))
		if err != nil {
			return &proxy.Reply{Status: 400}
		}
		body = b
	}
	r := s.svc.Serve(&t.Req, body)
	return &proxy.Reply{Status: r.Status, Header: r.Header, Body: r.Body}
}

// graphSource gives the stats service the graph's snapshot.
type graphSource struct{ g *Graph }

func (s graphSource) Snapshot() *stats.Snapshot { return s.g.Snapshot() }

func (b *builder) statsService(p *config.Proxy) (proxy.Service, error) {
	return &statsService{svc: stats.NewService(p.Stats, graphSource{b.g})}, nil
}

// service resolves "http-request use-service NAME".
func (b *builder) service(p *config.Proxy, name string, pos config.Pos) (proxy.Service, error) {
	return nil, config.Errorf(pos, "'http-request use-service %s': unknown service (available: none yet)", name)
}
