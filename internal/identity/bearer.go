package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DefaultAlgorithms are the bearer JWT algorithms accepted when none are
// configured: asymmetric only. "none" and the HS family can never be
// allowed (RFC 8725 §3.1, §2.1: an HMAC keyed with a public key is forgeable).
var defaultAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// ParseAlgorithms checks an algorithm allow-list.
func ParseAlgorithms(names []string) ([]jose.SignatureAlgorithm, error) {
	if len(names) == 0 {
		return defaultAlgorithms, nil
	}
	var out []jose.SignatureAlgorithm
	for _, n := range names {
		ok := false
		for _, a := range defaultAlgorithms {
			if string(a) == n {
				out = append(out, a)
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("algorithm '%s' is not accepted for bearer tokens (asymmetric JWS algorithms only: RS*, PS*, ES*, EdDSA)", n)
		}
	}
	return out, nil
}

// verifier checks bearer JWTs issued by one provider.
type verifier struct {
	provider  string // the oidc section's name, for Identity.Provider
	issuer    string
	audiences []string
	algs      []jose.SignatureAlgorithm
	skew      time.Duration
	keys      *remoteKeys
	cache     *lru
	now       func() time.Time
}

// tokenError is a refused token. reason goes to the log; desc, when set,
// is the client-facing error_description of WWW-Authenticate: only what
// the caller's own token says, never configuration.
type tokenError struct {
	reason, desc string
	kind         BearerRejection // the counters' label
}

func (e *tokenError) Error() string { return "invalid bearer token: " + e.reason }

func invalid(kind BearerRejection, format string, args ...any) error {
	return &tokenError{reason: fmt.Sprintf(format, args...), kind: kind}
}

// cached returns the identity of a token verified before and not expired.
func (v *verifier) cached(token string) *Identity {
	return v.cache.get(v.cache.hash(token), v.now(), token)
}

// verify returns the identity a bearer token proves. Verified tokens are
// cached until they expire.
func (v *verifier) verify(ctx context.Context, token string) (*Identity, error) {
	now := v.now()
	h := v.cache.hash(token)
	id, err := v.verifySlow(ctx, token, now)
	if err != nil {
		return nil, err
	}
	v.cache.put(h, id, id.Expiry.Add(v.skew), token)
	return id, nil
}

func (v *verifier) verifySlow(ctx context.Context, token string, now time.Time) (*Identity, error) {
	tok, err := jwt.ParseSigned(token, v.algs)
	if err != nil {
		// Covers "none", HS*, and anything outside the allow-list.
		return nil, invalid(RejectMalformed, "%v", err)
	}
	if len(tok.Headers) != 1 {
		return nil, invalid(RejectMalformed, "one signature expected")
	}
	hdr := tok.Headers[0]
	key, err := v.keys.key(ctx, hdr.KeyID)
	if err != nil {
		kind := RejectKeysUnavailable
		if errors.Is(err, errUnknownKey) {
			kind = RejectUnknownKey
		}
		return nil, invalid(kind, "kid %q: %v", hdr.KeyID, err)
	}
	if key.Algorithm != "" && key.Algorithm != hdr.Algorithm {
		return nil, invalid(RejectSignature, "token alg %s does not match the key's %s", hdr.Algorithm, key.Algorithm)
	}
	var std jwt.Claims
	var all map[string]json.RawMessage
	if err := tok.Claims(key.Key, &std, &all); err != nil {
		return nil, invalid(RejectSignature, "%v", err)
	}
	if std.Expiry == nil {
		return nil, invalid(RejectClaims, "no exp claim")
	}
	if std.Subject == "" {
		return nil, invalid(RejectClaims, "no sub claim")
	}
	exp := jwt.Expected{Issuer: v.issuer, AnyAudience: v.audiences, Time: now}
	if err := std.ValidateWithLeeway(exp, v.skew); err != nil {
		if errors.Is(err, jwt.ErrInvalidAudience) {
			// The issuer and signature are good (checked first), so the
			// audience is the provider's word, not a forger's. The operator
			// sees both sides; the client sees what its token carried.
			got := quoteList(std.Audience)
			desc := "token audience " + got + " is not accepted here"
			if len(std.Audience) == 0 {
				got, desc = "none", "token has no audience"
			}
			return nil, &tokenError{
				reason: fmt.Sprintf("audience %s is not accepted (expected one of %s)", got, quoteList(v.audiences)),
				desc:   desc,
				kind:   RejectAudience,
			}
		}
		return nil, invalid(rejectionOf(err), "%v", err)
	}
	return newIdentity(v.provider, std.Issuer, std.Subject, std.Expiry.Time(), all), nil
}

// isTokenError tells a bad token (401) from a provider problem.
func isTokenError(err error) bool {
	var te *tokenError
	return errors.As(err, &te)
}

// quoteList renders values as ['a', 'b'] for messages, with every byte that
// is not printable ASCII, a quote or a backslash percent-encoded, and the
// list and its values cut short, so it fits a log line and a quoted-string header parameter.
func quoteList(vals []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range vals {
		if i == 8 {
			b.WriteString(", ...")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if len(v) > 128 {
			v = v[:128] + "..."
		}
		b.WriteByte('\'')
		for j := 0; j < len(v); j++ {
			c := v[j]
			if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '\'' {
				fmt.Fprintf(&b, "%%%02X", c)
				continue
			}
			b.WriteByte(c)
		}
		b.WriteByte('\'')
	}
	b.WriteByte(']')
	return b.String()
}
