package identity

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Identity is a verified caller: from a session cookie or a bearer JWT.
// Identities are cached and shared by concurrent requests; they are
// immutable except for the minted-token cache, which has its own lock.
type Identity struct {
	// Provider names the oidc section that verified the caller: a subject
	// is only unique within its provider.
	Provider string
	Issuer   string
	Subject  string
	Expiry   time.Time
	// Claims are the caller's claims as JSON values (ID token merged with
	// userinfo, or the bearer token's).
	Claims map[string]json.RawMessage

	// Claim returns the values of a claim: a string, number or bool is one
	// value, an array one value per element, absent nil. Built once, so
	// acl.Txn.Claims can point at it without allocating per request.
	Claim func(name string) []string

	flat map[string][]string

	// sid and started (unix ms) are the session's, for back-channel
	// logouts; zero for a bearer token.
	sid     string
	started int64

	mu     sync.Mutex
	minted []mintedToken

	// cert: a client certificate vouches for the caller (FromCertificate):
	// no oidc section, and Subject is the edge token's sub as is.
	cert bool
}

type mintedToken struct {
	m      *Minter
	value  string // header value, "Bearer <jwt>"
	renew  time.Time
	expiry time.Time
}

// newIdentity builds an Identity and flattens its claims.
func newIdentity(provider, iss, sub string, exp time.Time, claims map[string]json.RawMessage) *Identity {
	id := &Identity{Provider: provider, Issuer: iss, Subject: sub, Expiry: exp, Claims: claims, flat: make(map[string][]string, len(claims))}
	for k, v := range claims {
		if vals := flattenClaim(v); vals != nil {
			id.flat[k] = vals
		}
	}
	id.Claim = id.claim
	return id
}

func (id *Identity) claim(name string) []string { return id.flat[name] }

// flattenClaim turns a JSON claim into strings: arrays element by element,
// nested objects as their JSON text.
func flattenClaim(raw json.RawMessage) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil || v == nil {
		return nil
	}
	if arr, ok := v.([]any); ok {
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			if s, ok := scalarString(e); ok {
				out = append(out, s)
			}
		}
		return out
	}
	if s, ok := scalarString(v); ok {
		return []string{s}
	}
	return []string{string(raw)}
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	case float64:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%f", x), "0"), "."), true
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b), true
	}
	return "", false
}

// String joins a claim's values with ",", as headers show them.
func (id *Identity) String(name string) string { return strings.Join(id.flat[name], ",") }
