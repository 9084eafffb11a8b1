// Package store holds the server-side session stores of the identity layer.
//
// In the default (cookie) mode a session lives sealed in the browser's
// cookies and there is nothing to store: the identity package keeps that
// mode without a Store. A Store is what a server-side mode adds: the cookie
// carries only a ticket (a session id and a per-session secret), and the
// store keeps the session sealed with that secret, so a dump of the store
// reveals no token; the store can list sessions, end them one by one or by
// the OIDC 'sid' or 'sub' they belong to (back-channel logout, the runtime
// API, sign-out), and give one replica the right to refresh a session.
//
// The store knows nothing of OIDC: it keeps opaque sealed bytes and the
// clear metadata that listing and revocation need (Meta).
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound: no such session (never created, ended, or expired).
var ErrNotFound = errors.New("session not found in the store")

// Meta is what the store keeps in the clear about a session: enough to list
// it and to find it by subject or OIDC session, never a token.
type Meta struct {
	ID       string
	Sub      string
	Sid      string // the provider's OIDC session id ('sid' claim), "" if none
	Email    string
	Created  time.Time
	LastSeen time.Time
	Replica  string // the replica that last verified it
	Expires  time.Time
}

// Record is a stored session: its metadata and the session sealed with the
// per-session secret only the browser's ticket holds.
type Record struct {
	Meta
	Sealed []byte
}

// Index names the metadata field sessions can be found and ended by.
type Index int

const (
	BySub Index = iota // the subject ('sub')
	BySid              // the provider's session ('sid')
)

func (i Index) String() string {
	if i == BySid {
		return "sid"
	}
	return "sub"
}

// Store is a server-side session store shared by every replica. Errors
// other than ErrNotFound mean the store could not answer: callers fail
// closed.
type Store interface {
	// Get returns the session id, and records that replica saw it at now
	// (one round trip).
	Get(ctx context.Context, id, replica string, now time.Time) (*Record, error)
	// Put creates or replaces a session; the store forgets it at
	// rec.Expires.
	Put(ctx context.Context, rec *Record) error
	// Delete ends one session; ending one that does not exist is not an
	// error (false).
	Delete(ctx context.Context, id string) (bool, error)
	// DeleteBy ends every session whose field by is value and returns how
	// many ended.
	DeleteBy(ctx context.Context, by Index, value string) (int, error)
	// List returns the metadata of the live sessions, all of them (value
	// "") or those whose field by is value, oldest first.
	List(ctx context.Context, by Index, value string) ([]Meta, error)
	// Count is the number of live sessions.
	Count(ctx context.Context) (int64, error)
	// Lock takes the short lock named id for ttl on behalf of owner (a
	// random value); false when another owner holds it.
	Lock(ctx context.Context, id, owner string, ttl time.Duration) (bool, error)
	// Unlock releases the lock if owner still holds it.
	Unlock(ctx context.Context, id, owner string) error
	// Close releases the store's connections.
	Close() error
}
