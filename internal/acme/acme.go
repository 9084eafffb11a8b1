// Package acme orders and renews certificates over ACME (RFC 8555) for the
// `acme` sections of the configuration and hands them to tlsconf's store.
package acme

import (
	"context"
	"time"
)

// Locker serialises ordering across replicas. Lock returns ok=false (no
// error) when another holder has name.
type Locker interface {
	Lock(ctx context.Context, name string, ttl time.Duration) (unlock func(), ok bool, err error)
}

// DNSSolver publishes and removes the DNS-01 TXT record `fqdn` (already
// "_acme-challenge.<domain>.") with value `value`.
type DNSSolver interface {
	Present(ctx context.Context, fqdn, value string) error
	CleanUp(ctx context.Context, fqdn, value string) error
}
