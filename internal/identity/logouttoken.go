package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// backchannelEvent is the member of a logout token's "events" claim that
// makes it one (OpenID Connect Back-Channel Logout 1.0, 2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutMaxAge is how old a logout token may be (its iat), beyond the
// clock skew. The provider sends it at the logout; the spec's security
// considerations ask for lifetimes of about two minutes. The jti replay
// cache holds each token this long, so a token is good exactly once.
const logoutMaxAge = 5 * time.Minute

// maxLogoutToken bounds the token's size: a signed JWT with a handful of
// claims is well under 8 kB.
const maxLogoutToken = 16 << 10

// logoutClaims is what a verified logout token asks for.
type logoutClaims struct {
	sid, sub, jti string
	iat           time.Time
}

// logoutVerifier checks logout tokens from one provider for one client.
type logoutVerifier struct {
	issuer   string
	clientID string
	algs     []jose.SignatureAlgorithm
	keys     *remoteKeys
	skew     time.Duration
	jtis     *jtiCache
}

// logoutError is a refused logout token; the reason speaks of the token,
// never of configuration, so it can go back as error_description.
type logoutError struct{ reason string }

func (e *logoutError) Error() string { return e.reason }

func refuse(format string, args ...any) error {
	return &logoutError{reason: fmt.Sprintf(format, args...)}
}

// verify checks raw as section 2.6 of the spec requires: the signature
// against the provider's JWKS with the same algorithm allow-list as ID and
// bearer tokens, iss, aud, iat (and exp when present), a sub or sid or both,
// the back-channel logout event, no nonce, and a jti not seen before. A
// token that passes is recorded, so its replay is refused.
func (v *logoutVerifier) verify(ctx context.Context, raw string, now time.Time) (*logoutClaims, error) {
	if len(raw) > maxLogoutToken {
		return nil, refuse("logout token is too large")
	}
	if strings.Count(raw, ".") == 4 {
		// Encryption is only used when the client registered for it,
		// which Gatehouse does not.
		return nil, refuse("encrypted logout tokens are not accepted")
	}
	tok, err := jwt.ParseSigned(raw, v.algs)
	if err != nil {
		// Covers "none", HS*, and anything outside the allow-list.
		return nil, refuse("logout token is not a JWS with an accepted algorithm: %v", err)
	}
	if len(tok.Headers) != 1 {
		return nil, refuse("one signature expected")
	}
	hdr := tok.Headers[0]
	if err := checkLogoutTyp(hdr); err != nil {
		return nil, err
	}
	key, err := v.keys.key(ctx, hdr.KeyID)
	if err != nil {
		if errors.Is(err, errUnknownKey) {
			return nil, refuse("no key of the provider's JWKS matches kid %q", hdr.KeyID)
		}
		return nil, err // the provider's JWKS could not be fetched: not the token's fault
	}
	if key.Algorithm != "" && key.Algorithm != hdr.Algorithm {
		return nil, refuse("token alg %s does not match the key's %s", hdr.Algorithm, key.Algorithm)
	}
	var all map[string]json.RawMessage
	if err := tok.Claims(key.Key, &all); err != nil {
		return nil, refuse("signature: %v", err)
	}
	c, err := v.checkClaims(all, now)
	if err != nil {
		return nil, err
	}
	if !v.jtis.add(v.issuer, c.jti, c.iat.Add(logoutMaxAge+2*v.skew), now) {
		return nil, refuse("logout token jti %s was already used", quoteList([]string{c.jti}))
	}
	return c, nil
}

// checkLogoutTyp refuses a JWT explicitly typed as something else (an
// access token, "at+jwt"): the spec recommends "logout+jwt"; providers
// that predate it send "JWT" or nothing.
func checkLogoutTyp(hdr jose.Header) error {
	t, ok := hdr.ExtraHeaders[jose.HeaderType]
	if !ok {
		return nil
	}
	s, _ := t.(string)
	switch strings.ToLower(s) {
	case "jwt", "logout+jwt", "application/logout+jwt":
		return nil
	}
	return refuse("token type %s is not a logout token", quoteList([]string{fmt.Sprint(t)}))
}

// checkClaims validates the claims of a logout token whose signature is good.
func (v *logoutVerifier) checkClaims(all map[string]json.RawMessage, now time.Time) (*logoutClaims, error) {
	iss, err := stringClaim(all, "iss")
	if err != nil {
		return nil, err
	}
	if iss == "" {
		return nil, refuse("no iss claim")
	}
	if iss != v.issuer {
		return nil, refuse("iss %s is not the provider's", quoteList([]string{iss}))
	}
	auds, err := audienceClaim(all["aud"])
	if err != nil {
		return nil, err
	}
	found := false
	for _, a := range auds {
		found = found || a == v.clientID
	}
	if !found {
		return nil, refuse("aud %s does not name this client", quoteList(auds))
	}
	iat, err := timeClaim(all, "iat")
	if err != nil {
		return nil, err
	}
	if iat.IsZero() {
		return nil, refuse("no iat claim")
	}
	if iat.After(now.Add(v.skew)) {
		return nil, refuse("iat is in the future")
	}
	if now.Sub(iat) > logoutMaxAge+v.skew {
		return nil, refuse("logout token is too old (iat more than %s ago)", logoutMaxAge)
	}
	exp, err := timeClaim(all, "exp")
	if err != nil {
		return nil, err
	}
	if !exp.IsZero() && !now.Before(exp.Add(v.skew)) {
		return nil, refuse("logout token has expired")
	}
	nbf, err := timeClaim(all, "nbf")
	if err != nil {
		return nil, err
	}
	if !nbf.IsZero() && now.Add(v.skew).Before(nbf) {
		return nil, refuse("logout token is not valid yet (nbf)")
	}
	jti, err := stringClaim(all, "jti")
	if err != nil {
		return nil, err
	}
	if jti == "" {
		return nil, refuse("no jti claim")
	}
	if err := checkEvents(all["events"]); err != nil {
		return nil, err
	}
	if _, ok := all["nonce"]; ok {
		return nil, refuse("a logout token must not contain a nonce")
	}
	sub, err := stringClaim(all, "sub")
	if err != nil {
		return nil, err
	}
	sid, err := stringClaim(all, "sid")
	if err != nil {
		return nil, err
	}
	if sub == "" && sid == "" {
		return nil, refuse("logout token names neither a sub nor a sid")
	}
	return &logoutClaims{sid: sid, sub: sub, jti: jti, iat: iat}, nil
}

// stringClaim returns a claim that must be a string when present ("" when
// absent); an empty string counts as absent only for the caller to refuse.
func stringClaim(all map[string]json.RawMessage, name string) (string, error) {
	raw, ok := all[name]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", refuse("claim %s is not a string", name)
	}
	if s == "" {
		return "", refuse("claim %s is empty", name)
	}
	return s, nil
}

// timeClaim returns a NumericDate claim (zero when absent).
func timeClaim(all map[string]json.RawMessage, name string) (time.Time, error) {
	raw, ok := all[name]
	if !ok {
		return time.Time{}, nil
	}
	var n jwt.NumericDate
	if err := json.Unmarshal(raw, &n); err != nil || bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) {
		return time.Time{}, refuse("claim %s is not a number", name)
	}
	return n.Time(), nil
}

// audienceClaim reads "aud": a string or an array of strings.
func audienceClaim(raw json.RawMessage) ([]string, error) {
	if raw == nil {
		return nil, refuse("no aud claim")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, refuse("claim aud is neither a string nor an array of strings")
	}
	return many, nil
}

// checkEvents requires "events" to be a JSON object with the back-channel
// logout member, whose value is itself a JSON object (2.4).
func checkEvents(raw json.RawMessage) error {
	if raw == nil {
		return refuse("no events claim")
	}
	var events map[string]json.RawMessage
	if err := json.Unmarshal(raw, &events); err != nil || events == nil {
		return refuse("claim events is not a JSON object")
	}
	ev, ok := events[backchannelEvent]
	if !ok {
		return refuse("claim events has no %s member", backchannelEvent)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(ev, &obj); err != nil || obj == nil {
		return refuse("the %s event is not a JSON object", backchannelEvent)
	}
	return nil
}

// jtiCache remembers the logout tokens accepted, until they would be too
// old anyway, so a captured token cannot be replayed.
type jtiCache struct {
	mu    sync.Mutex
	seen  map[string]time.Time // issuer NUL jti -> forget after
	swept time.Time
}

// add records jti until forget and reports whether it was new.
func (c *jtiCache) add(iss, jti string, forget, now time.Time) bool {
	k := iss + "\x00" + jti
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]time.Time{}
	}
	if now.Sub(c.swept) >= time.Minute {
		c.swept = now
		for x, t := range c.seen {
			if !now.Before(t) {
				delete(c.seen, x)
			}
		}
	}
	if t, ok := c.seen[k]; ok && now.Before(t) {
		return false
	}
	c.seen[k] = forget
	return true
}

// forget drops jti again: the logout it carried could not be carried out,
// and the provider may send it again.
func (c *jtiCache) forget(iss, jti string) {
	c.mu.Lock()
	delete(c.seen, iss+"\x00"+jti)
	c.mu.Unlock()
}
