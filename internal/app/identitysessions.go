package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/store"
	"github.com/gatehouse/gatehouse/internal/runtimeapi"
)

// The runtime API's "show identity sessions", "del identity session" and
// "del identity sessions": the oidc sections' session stores, read and
// changed through identity.Provider.

// apiStoreTimeout bounds a runtime API command's store operations.
const apiStoreTimeout = 5 * time.Second

// storeProviders are the sections named (all when name is "") that keep
// sessions in a store.
func (t *graphTarget) storeProviders(name string) ([]*identity.Provider, error) {
	var out []*identity.Provider
	if r := t.ops.g.ident; r != nil {
		for _, p := range r.providerList {
			if name != "" && p.Name() != name {
				continue
			}
			if name != "" && !p.HasStore() {
				return nil, fmt.Errorf("oidc '%s' keeps its sessions in cookies (no session-store).\n", name)
			}
			if p.HasStore() {
				out = append(out, p)
			}
		}
	}
	if name != "" && len(out) == 0 {
		return nil, fmt.Errorf("No such oidc section '%s'.\n", name)
	}
	return out, nil
}

func storeError(name string, err error) error {
	return fmt.Errorf("oidc '%s': session store unreachable: %v\n", name, err)
}

// IdentitySessions implements runtimeapi.IdentityTarget.
func (t *graphTarget) IdentitySessions(name, sub string) ([]runtimeapi.IdentitySession, error) {
	ps, err := t.storeProviders(name)
	if err != nil {
		return nil, err
	}
	var out []runtimeapi.IdentitySession
	for _, p := range ps {
		ctx, cancel := context.WithTimeout(context.Background(), apiStoreTimeout)
		l, err := p.Sessions(ctx, sub)
		cancel()
		if err != nil {
			return nil, storeError(p.Name(), err)
		}
		for _, m := range l {
			out = append(out, runtimeapi.IdentitySession{OIDC: p.Name(), ID: m.ID, Sub: m.Sub, Sid: m.Sid, Email: m.Email,
				Created: m.Created, LastSeen: m.LastSeen, Replica: m.Replica})
		}
	}
	return out, nil
}

// EndIdentitySession implements runtimeapi.IdentityTarget: the id is
// looked for in every section's store (ids are random, so at most one
// holds it).
func (t *graphTarget) EndIdentitySession(id string) error {
	ps, err := t.storeProviders("")
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range ps {
		ctx, cancel := context.WithTimeout(context.Background(), apiStoreTimeout)
		ok, err := p.EndSession(ctx, id)
		cancel()
		if err != nil {
			errs = append(errs, storeError(p.Name(), err))
			continue
		}
		if ok {
			return nil
		}
	}
	if len(errs) > 0 {
		return errs[0] // one answer line: the API's answer ends at an empty line
	}
	return errors.New("No such session.\n")
}

// EndIdentitySessions implements runtimeapi.IdentityTarget.
func (t *graphTarget) EndIdentitySessions(name, sub string) (int, error) {
	ps, err := t.storeProviders(name)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), apiStoreTimeout)
	defer cancel()
	n, err := ps[0].EndSessions(ctx, store.BySub, sub)
	if err != nil {
		return 0, storeError(name, err)
	}
	return n, nil
}
