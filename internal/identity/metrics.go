package identity

import (
	"errors"
	"sync/atomic"

	"github.com/go-jose/go-jose/v4/jwt"
)

// LoginFailure is why a login callback was refused: the "reason" label of
// the login-failure counters.
type LoginFailure uint8

const (
	LoginState    LoginFailure = iota // state missing, forged or expired
	LoginProvider                     // the provider answered error=...
	LoginExchange                     // the code exchange failed
	LoginIDToken                      // ID token invalid, nonce or subject mismatch
	LoginUserinfo                     // userinfo failed or names another subject
	LoginSession                      // the session could not be sealed
	NumLoginFailures
)

var loginFailureNames = [NumLoginFailures]string{"state", "provider_error", "code_exchange", "id_token", "userinfo", "session"}

// String is the metric label.
func (r LoginFailure) String() string { return loginFailureNames[r] }

// BearerRejection is why a bearer token was refused: the "reason" label of
// the bearer-rejected counters.
type BearerRejection uint8

const (
	RejectMalformed       BearerRejection = iota // not a compact JWS, or an algorithm not allowed
	RejectUnknownKey                             // no key of the provider's JWKS has its kid
	RejectSignature                              // the signature does not verify
	RejectExpired                                // exp passed, or nbf/iat in the future
	RejectIssuer                                 // iss is not the provider's
	RejectAudience                               // aud names none of the accepted audiences
	RejectClaims                                 // exp or sub missing
	RejectKeysUnavailable                        // the provider's JWKS could not be fetched
	NumBearerRejections
)

var bearerRejectionNames = [NumBearerRejections]string{"malformed", "unknown_key", "signature", "expired", "issuer", "audience", "claims", "jwks_unavailable"}

// String is the metric label.
func (r BearerRejection) String() string { return bearerRejectionNames[r] }

// rejectionOf maps a go-jose claims validation error to its reason.
func rejectionOf(err error) BearerRejection {
	switch {
	case errors.Is(err, jwt.ErrInvalidAudience):
		return RejectAudience
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return RejectIssuer
	case errors.Is(err, jwt.ErrExpired), errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return RejectExpired
	}
	return RejectClaims
}

// reasonError is a login step's failure with its counter label.
type reasonError struct {
	reason LoginFailure
	err    error
}

func (e *reasonError) Error() string { return e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

func failed(r LoginFailure, err error) error { return &reasonError{reason: r, err: err} }

// reasonOf is the label of a login step's error; LoginSession when the
// step did not say.
func reasonOf(err error) LoginFailure {
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	return LoginSession
}

// LoginFailureTotal sums the login failures of every reason.
func (c *Counters) LoginFailureTotal() uint64 {
	var n uint64
	for i := range c.LoginFailures {
		n += c.LoginFailures[i].Load()
	}
	return n
}

// BearerRejectedTotal sums the bearer rejections of every reason.
func (c *Counters) BearerRejectedTotal() uint64 {
	var n uint64
	for i := range c.BearerRejected {
		n += c.BearerRejected[i].Load()
	}
	return n
}

// SessionGauge reports the sessions a server-side store holds. A cookie
// session lives in the browser and cannot be counted, so a provider
// without a gauge reports none.
type SessionGauge struct {
	Store  string               // "redis", ...: the store's mode, for the stats
	Active func() (int64, bool) // false: unknown right now (store unreachable)
}

// SetSessionGauge installs the session store's gauge (the store calls it
// when it is attached to the provider).
func (p *Provider) SetSessionGauge(g SessionGauge) { p.sessionGauge.Store(&g) }

// ActiveSessions returns the store's mode and the sessions it holds; ok is
// false for cookie sessions or when the store cannot tell.
func (p *Provider) ActiveSessions() (store string, n int64, ok bool) {
	g := p.sessionGauge.Load()
	if g == nil || g.Active == nil {
		return "cookie", 0, false
	}
	n, ok = g.Active()
	return g.Store, n, ok
}

// Keys reports the JWKS the provider holds: its number of keys, and
// whether discovery found the set's URL.
func (p *Provider) Keys() (n int, ok bool) {
	d := p.ready.Load()
	if d == nil {
		return 0, false
	}
	return d.bearer.keys.count(), true
}

// MinterCounters are an identity-token section's statistics.
type MinterCounters struct {
	Minted       atomic.Uint64 // tokens signed (reused ones are not counted)
	MintFailures atomic.Uint64
	JWKSServed   atomic.Uint64 // JWKS answers (use-service jwks:NAME)
}
