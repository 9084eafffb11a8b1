package app

import (
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpcomp"
)

// compSettings compiles a proxy's "compression" lines; nil without them.
// In mode tcp there is no HTTP message to compress (as in HAProxy, the
// lines are accepted and do nothing there).
func compSettings(p *config.Proxy) *httpcomp.Settings {
	c := p.Compression
	if c == nil || p.Mode != config.ModeHTTP {
		return nil
	}
	s := &httpcomp.Settings{Types: c.Types, Offload: c.Offload}
	for _, name := range c.Algos {
		a, ok := httpcomp.ParseAlgo(name)
		if !ok {
			continue // cfgparse accepts only httpcomp's names (TestAlgoNames)
		}
		s.Algos = append(s.Algos, a)
	}
	return s
}

// compLevel is tune.comp.maxlevel, HAProxy's default 1 when unset.
func compLevel(g config.Global) int {
	if g.TuneCompMaxLevel > 0 {
		return g.TuneCompMaxLevel
	}
	return httpcomp.DefaultLevel
}
