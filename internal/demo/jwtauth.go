package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// RequestAuthentication is the gateway's JWT rule, as an Istio
// RequestAuthentication with one jwtRule (issuer, audiences, jwksUri)
// together with an AuthorizationPolicy that requires a request principal:
//
//   - a token that does not verify gets 401 "Jwt verification fails"
//     (Envoy's jwt_authn answer), whatever the path;
//   - a request without a token gets 403 "RBAC: access denied";
//   - a verified token gives the principal "<iss>/<sub>" and its claims,
//     and is removed from the request (forwardOriginalToken: false, the
//     default).
//
// The JWKS is fetched on first use and again for an unknown kid, at most
// every 5 seconds (Envoy refetches on its own schedule; the point here is
// that keys come from the edge's JWKS endpoint, not from configuration).
type RequestAuthentication struct {
	Issuer    string
	Audiences []string
	JWKSURI   string
	Client    *http.Client // fetches the JWKS; nil: http.DefaultClient
	// Exempt paths need no principal (Istio's health probes do not go
	// through the policy).
	Exempt []string

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time
}

// check verifies r's token; on failure it has answered w.
func (a *RequestAuthentication) check(w http.ResponseWriter, r *http.Request) (principal string, claims map[string]any, ok bool) {
	v := r.Header.Get("Authorization")
	if v == "" {
		for _, p := range a.Exempt {
			if r.URL.Path == p {
				return "", nil, true
			}
		}
		envoyReply(w, http.StatusForbidden, "RBAC: access denied")
		return "", nil, false
	}
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		envoyReply(w, http.StatusUnauthorized, "Jwt is missing")
		return "", nil, false
	}
	principal, claims, err := a.verify(r.Context(), strings.TrimSpace(v[7:]))
	if err != nil {
		envoyReply(w, http.StatusUnauthorized, "Jwt verification fails")
		return "", nil, false
	}
	r.Header.Del("Authorization")
	return principal, claims, true
}

func envoyReply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Server", "istio-envoy")
	w.Header().Set("Content-Type", "text/plain")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+msg+`"`)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// verify checks a token's signature against the JWKS, then iss, aud, exp
// and nbf (with Envoy's 60s clock skew).
func (a *RequestAuthentication) verify(ctx context.Context, raw string) (string, map[string]any, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256, jose.ES384, jose.RS384})
	if err != nil {
		return "", nil, err
	}
	if len(tok.Headers) != 1 {
		return "", nil, errors.New("one signature expected")
	}
	key, err := a.key(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return "", nil, err
	}
	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(key.Key, &std, &all); err != nil {
		return "", nil, err
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: a.Issuer, AnyAudience: a.Audiences, Time: time.Now()}, time.Minute); err != nil {
		return "", nil, err
	}
	if std.Subject == "" || std.Expiry == nil {
		return "", nil, errors.New("sub and exp are required")
	}
	return std.Issuer + "/" + std.Subject, all, nil
}

func (a *RequestAuthentication) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	find := func() *jose.JSONWebKey {
		for i := range a.keys {
			if a.keys[i].KeyID == kid {
				return &a.keys[i]
			}
		}
		return nil
	}
	if k := find(); k != nil {
		return k, nil
	}
	if !a.fetched.IsZero() && time.Since(a.fetched) < 5*time.Second {
		return nil, fmt.Errorf("kid %q is not in the JWKS", kid)
	}
	a.fetched = time.Now()
	keys, err := a.fetch(ctx)
	if err != nil {
		return nil, err
	}
	a.keys = keys
	if k := find(); k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("kid %q is not in the JWKS", kid)
}

func (a *RequestAuthentication) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	c := a.Client
	if c == nil {
		c = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", a.JWKSURI, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("JWKS %s: status %d", a.JWKSURI, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, err
	}
	return set.Keys, nil
}
