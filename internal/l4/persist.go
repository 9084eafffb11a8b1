package l4

import (
	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// Persistence is what of persistence applies in mode tcp: use-server
// rules, "option persist" and force-persist (there is no cookie).
type Persistence struct {
	Always     bool // option persist
	Rules      []PersistRule
	UseServers []UseServer
}

// UseServer is a use-server rule naming a server.
type UseServer struct {
	Server *upstream.Server
	Cond   *acl.Cond
}

// PersistRule is a force-persist or ignore-persist rule in declaration
// order (the first that matches decides).
type PersistRule struct {
	Force bool
	Cond  *acl.Cond
}

// useServer runs the backend's force-/ignore-persist and use-server rules
// as HAProxy's process_switching_rules and process_server_rules do: the
// first matching rule whose server is up (or may be forced) assigns it.
func (s *session) useServer() {
	p := s.be.Persist
	if p == nil {
		return
	}
	for _, r := range p.Rules {
		if r.Cond.Match(&s.txn) {
			s.force = r.Force
			break
		}
	}
	for _, r := range p.UseServers {
		if !r.Cond.Match(&s.txn) {
			continue
		}
		if r.Server.Reachable() || p.Always || s.force {
			s.target = r.Server
			return
		}
	}
}
