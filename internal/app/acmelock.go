package app

import (
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/acme"
	"github.com/gatehouse/gatehouse/internal/acme/lock"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/identity"
)

// acmeCoordination is how a section's replicas agree on who orders and
// share the pending HTTP-01 tokens: through the Valkey/Redis of the first
// oidc section with a session-store (keys "<prefix>acme:<section>:"), else
// files in "<state-dir>/.coord", which every replica sharing the state
// directory sees. The returned func releases it.
func acmeCoordination(cfg *config.Config, sec *config.ACME) (acme.Locker, acme.ChallengeStore, func(), error) {
	for _, o := range cfg.Identity.OIDC {
		if o.SessionStore == nil {
			continue
		}
		opts, err := identity.StoreOptions(o.SessionStore)
		if err != nil {
			return nil, nil, nil, err
		}
		if opts.Prefix == "" {
			opts.Prefix = "gatehouse:"
		}
		opts.Prefix += "acme:" + sec.Name + ":"
		r, err := lock.NewRedisFromOptions(opts)
		if err != nil {
			return nil, nil, nil, err
		}
		return r, r, func() { r.Close() }, nil
	}
	d, err := lock.NewDir(filepath.Join(sec.StateDir, ".coord"))
	if err != nil {
		return nil, nil, nil, err
	}
	return d, d, func() {}, nil
}
