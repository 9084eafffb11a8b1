// Package lock lets the replicas of an edge tier agree on who orders a
// certificate, and share what the ACME server will ask them: it implements
// the acme package's Locker (one holder of a name at a time, across
// processes and hosts) and ChallengeStore (pending HTTP-01 tokens, so any
// replica answers a challenge another ordered).
//
// Two back ends, each giving both:
//
//   - Dir: files in a directory every replica mounts (NFS, a shared volume).
//     Use it when no session store is configured.
//   - Redis: keys in the Valkey/Redis of `session-store redis ...`
//     (NewRedisFromOptions takes the same options the session store is
//     built from; identity.StoreOptions makes them from the configuration).
//
// Both are leases: Lock takes the name for ttl and a goroutine extends it
// every ttl/3 until unlock is called; a holder that dies stops extending
// and another replica takes the name once ttl has passed. A holder stalled
// for longer than ttl (a paused VM, a partition from the store) can lose the
// lease to another without knowing until its next extension finds the lock
// gone, so choose ttl well above such stalls (minutes for an ACME order):
// two replicas ordering the same name at once costs an order and a little
// rate limit, never a wrong certificate.
//
// Every error fails closed: Lock returns ok=false with the error, never
// ok=true, when the store cannot be asked.
package lock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// ChallengeStore keeps pending HTTP-01 challenges: token -> key
// authorization, each forgotten after its ttl. Get's found=false with a nil
// error means no such (live) token.
type ChallengeStore interface {
	Put(ctx context.Context, token, keyAuth string, ttl time.Duration) error
	Get(ctx context.Context, token string) (keyAuth string, found bool, err error)
	Delete(ctx context.Context, token string) error
}

var (
	_ ChallengeStore = (*Dir)(nil)
	_ ChallengeStore = (*Redis)(nil)
)

// newToken is a lock holder's identity: unique per Lock call, so two
// lockers in one process contend as two processes do.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validToken reports whether t is an ACME token: base64url characters only
// (RFC 8555 8.3), so it is safe as a file name or key and a path from a
// request cannot name anything else.
func validToken(t string) bool {
	if t == "" || len(t) > 256 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// renewInterval is how often a held lock is extended: a third of ttl, so
// two extensions can fail or come late before it lapses.
func renewInterval(ttl, override time.Duration) time.Duration {
	if override > 0 {
		return override
	}
	return ttl / 3
}
