package app

import (
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/h2"
	"github.com/gatehouse/gatehouse/internal/http1"
)

// h2Config maps tune.h2.* and the frontend's timeouts onto the HTTP/2
// engine. Zero values keep the engine's (HAProxy's) defaults.
func h2Config(g *config.Global, p *config.Proxy, lim http1.Limits) *h2.Config {
	t := g.H2
	c := &h2.Config{
		MaxConcurrentStreams: uint32(firstSet(t.FEMaxConcurrentStreams, t.MaxConcurrentStreams)),
		InitialWindowSize:    uint32(firstSet(t.FEInitialWindowSize, t.InitialWindowSize)),
		MaxFrameSize:         uint32(t.MaxFrameSize),
		HeaderTableSize:      uint32(t.HeaderTableSize),
		// A request head is bounded by tune.bufsize over HTTP/2 as over
		// HTTP/1.1 (HPACK's list size counts 32 bytes more per field).
		MaxHeaderListSize: uint32(max(lim.BufSize, http1.DefaultBufSize)),
		MaxHdr:            g.TuneMaxHdr,
		// timeout client is HAProxy's idle bound of an h2 connection
		// without streams; http-keep-alive shortens it when set.
		IdleTimeout: firstSet(p.Timeouts.HTTPKeepAlive, p.Timeouts.Client),
		// A client that stops reading, or never opens its window, is
		// inactive: timeout client ends it as it does on HTTP/1.1.
		SendTimeout: p.Timeouts.Client,
		Counters:    new(h2.Counters),
	}
	return c
}

func firstSet[T comparable](v ...T) T {
	var zero T
	for _, x := range v {
		if x != zero {
			return x
		}
	}
	return zero
}
