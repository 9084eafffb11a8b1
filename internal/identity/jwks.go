package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// remoteKeys is a provider's JWKS, fetched on first use and refetched when a
// token names a kid it does not hold, at most once per minRefetch (a flood of
// tokens with random kids must not become a flood of requests to the
// provider).
type remoteKeys struct {
	url        string
	client     *http.Client
	minRefetch time.Duration
	// fetches and failures count the requests (the provider's Counters);
	// nil: not counted.
	fetches, failures *atomic.Uint64

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time
	fetching  chan struct{} // closed when the running fetch ends
}

func newRemoteKeys(url string, client *http.Client, minRefetch time.Duration) *remoteKeys {
	if minRefetch <= 0 {
		minRefetch = 10 * time.Second
	}
	return &remoteKeys{url: url, client: client, minRefetch: minRefetch}
}

var errUnknownKey = errors.New("no key in the provider's JWKS matches the token")

// key returns the public key for kid (any key when kid is "" and the set
// holds exactly one), refetching the set if kid is unknown and the last
// fetch is old enough.
func (r *remoteKeys) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	if k := r.lookup(kid); k != nil {
		return k, nil
	}
	if err := r.refresh(ctx); err != nil {
		return nil, err
	}
	if k := r.lookup(kid); k != nil {
		return k, nil
	}
	return nil, errUnknownKey
}

func (r *remoteKeys) lookup(kid string) *jose.JSONWebKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	if kid == "" && len(r.keys) == 1 {
		return &r.keys[0]
	}
	for i := range r.keys {
		if r.keys[i].KeyID == kid && kid != "" && r.keys[i].Use != "enc" {
			return &r.keys[i]
		}
	}
	return nil
}

// refresh fetches the set unless a fetch ran less than minRefetch ago;
// concurrent callers share one fetch.
func (r *remoteKeys) refresh(ctx context.Context) error {
	r.mu.Lock()
	if ch := r.fetching; ch != nil {
		r.mu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !r.fetchedAt.IsZero() && time.Since(r.fetchedAt) < r.minRefetch {
		r.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	r.fetching = ch
	r.mu.Unlock()

	keys, err := r.fetch(ctx)
	if r.fetches != nil {
		r.fetches.Add(1)
		if err != nil {
			r.failures.Add(1)
		}
	}

	r.mu.Lock()
	r.fetching = nil
	r.fetchedAt = time.Now()
	if err == nil {
		r.keys = keys
	}
	r.mu.Unlock()
	close(ch)
	return err
}

func (r *remoteKeys) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching JWKS %s: %w", r.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fetching JWKS %s: %w", r.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching JWKS %s: status %d", r.url, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", r.url, err)
	}
	out := set.Keys[:0]
	for _, k := range set.Keys {
		if k.IsPublic() && k.Valid() {
			out = append(out, k)
		}
	}
	return out, nil
}

// count is the number of keys held.
func (r *remoteKeys) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.keys)
}

// signing returns the keys a token without a kid may be signed with,
// fetching the set first if it was never fetched.
func (r *remoteKeys) signing(ctx context.Context) ([]jose.JSONWebKey, error) {
	r.mu.Lock()
	never := r.fetchedAt.IsZero()
	r.mu.Unlock()
	if never {
		if err := r.refresh(ctx); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []jose.JSONWebKey
	for _, k := range r.keys {
		if k.Use != "enc" {
			out = append(out, k)
		}
	}
	return out, nil
}

// keySet verifies ID tokens for go-oidc with the provider's remoteKeys, so
// ID and bearer tokens share one fetched (and counted) JWKS.
type keySet struct {
	keys *remoteKeys
	algs []jose.SignatureAlgorithm
}

func (k keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, k.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed JWT: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("one signature expected")
	}
	kid := jws.Signatures[0].Header.KeyID
	if kid != "" {
		key, err := k.keys.key(ctx, kid)
		if err != nil {
			return nil, err
		}
		return jws.Verify(key)
	}
	// No kid: any of the provider's signing keys, as go-oidc's own key set.
	keys, err := k.keys.signing(ctx)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		if payload, err := jws.Verify(&keys[i]); err == nil {
			return payload, nil
		}
	}
	return nil, errors.New("no key in the provider's JWKS verifies the token")
}
