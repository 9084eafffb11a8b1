package app

import (
	"io"
	"log/slog"
	"os"

	"github.com/gatehouse/gatehouse/internal/logging"
)

// buildRings builds the "ring" sections: their forwarders start with the
// graph and stop when it retires (a reload starts new rings, as a new
// HAProxy process does).
func (b *builder) buildRings() {
	stderr := slog.New(logging.NewProcessHandler(os.Stderr, 0))
	for _, rc := range b.cfg.Rings {
		format, _ := logging.ParseLogFormat(rc.Format)
		if rc.Format == "" {
			format, _ = logging.ParseLogFormat("raw") // HAProxy's default for rings
		}
		o := logging.RingOptions{Name: rc.Name, Description: rc.Description, Format: format,
			MaxLen: rc.MaxLen, Size: rc.Size, ConnectTimeout: rc.TimeoutConnect, ServerTimeout: rc.TimeoutServer}
		for _, s := range rc.Servers {
			o.Servers = append(o.Servers, logging.RingServer{Name: s.Name, Addr: s.Addr, OctetCount: s.OctetCount})
		}
		// Forwarding failures go to stderr (as HAProxy's warnings): logging
		// them into a ring whose server is down would only fill it.
		o.Log = func(m string) { stderr.Warn(m) }
		r := logging.NewRing(o)
		b.g.rings = append(b.g.rings, r)
		b.g.starters = append(b.g.starters, r.Start)
		b.g.retirers = append(b.g.retirers, r.Close)
		b.g.stoppers = append(b.g.stoppers, r.Close)
	}
}

func (b *builder) ringMap() map[string]*logging.Ring {
	if len(b.g.rings) == 0 {
		return nil
	}
	m := make(map[string]*logging.Ring, len(b.g.rings))
	for _, r := range b.g.rings {
		m[r.Name()] = r
	}
	return m
}

// ShowSinks is the runtime API's "show events".
func (t *graphTarget) ShowSinks(w io.Writer) {
	for _, r := range t.ops.g.rings {
		r.ShowSink(w)
	}
}

// ShowEvents is the runtime API's "show events <ring> [-n]".
func (t *graphTarget) ShowEvents(w io.Writer, name string, seekEnd bool) bool {
	for _, r := range t.ops.g.rings {
		if r.Name() == name {
			r.ShowEvents(w, seekEnd)
			return true
		}
	}
	return false
}
