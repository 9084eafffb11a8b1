package app

import (
	"io"

	"github.com/gatehouse/gatehouse/internal/httpcache"
)

// buildCaches makes the "cache" sections' stores. Like HAProxy's, a
// reload starts them empty.
func (b *builder) buildCaches() {
	for _, c := range b.cfg.Caches {
		b.g.caches = append(b.g.caches, httpcache.New(httpcache.Settings{
			Name: c.Name, TotalMax: int64(c.TotalMaxMB) << 20, MaxObject: c.MaxObject,
			MaxAge: c.MaxAge, ProcessVary: c.ProcessVary, MaxSecondary: c.MaxSecondary,
		}))
	}
}

// cacheIndex maps the caches by name, for the rules that use them.
func (g *Graph) cacheIndex() map[string]*httpcache.Cache {
	m := make(map[string]*httpcache.Cache, len(g.caches))
	for _, c := range g.caches {
		m[c.Name] = c
	}
	return m
}

// ShowCache is the runtime API's "show cache".
func (t *graphTarget) ShowCache(w io.Writer) {
	for _, c := range t.ops.g.caches {
		c.Show(w)
	}
}
