package config

import "time"

// Identity holds the identity sections: "oidc NAME" and "identity-token NAME".
type Identity struct {
	OIDC   []*OIDC
	Tokens []*IdentityToken
}

// FindOIDC returns the oidc section called name, nil if none.
func (id *Identity) FindOIDC(name string) *OIDC {
	for _, o := range id.OIDC {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// FindToken returns the identity-token section called name, nil if none.
func (id *Identity) FindToken(name string) *IdentityToken {
	for _, t := range id.Tokens {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// SecretRef names where a secret lives: "file:/path" or "env:NAME". Inline
// secrets are refused by the parser, so a secret never sits in a config file.
type SecretRef struct {
	Pos  Pos
	Kind string // "file" or "env"
	Ref  string // path or variable name
}

func (s SecretRef) String() string { return s.Kind + ":" + s.Ref }

// OIDC is an "oidc NAME" section: an OpenID Connect relying party (login,
// sessions, bearer JWTs from the same provider).
type OIDC struct {
	Pos          Pos
	Name         string
	Issuer       string    // discovery at Issuer/.well-known/openid-configuration
	ClientID     string    // also the default accepted bearer audience
	ClientSecret SecretRef // Kind "" for a public client (PKCE only)
	Scopes       []string  // default: openid email profile
	// CookieSecrets: key material for session cookies (>= 32 bytes each);
	// the first one seals, all of them open (rotation).
	CookieSecrets []SecretRef
	RedirectURI   string // absolute; its path is the callback path

	CookieName      string        // default "_gatehouse_NAME"
	CookieDomain    string        // default: host-only cookie
	SessionLifetime time.Duration // absolute session lifetime; default 12h
	RefreshBefore   time.Duration // refresh this long before the access token expires; default 1m
	SignOutPath     string        // default "/oauth2/sign_out"
	PostLogoutURI   string        // post_logout_redirect_uri sent to end_session_endpoint
	Audiences       []string      // accepted bearer JWT audiences; default [ClientID]
	Algorithms      []string      // accepted bearer JWT algorithms; default RS256 ES256 (and the other asymmetric ones)
	ClockSkew       time.Duration // leeway on exp/nbf/iat; default 30s
	BearerOnly      bool          // never redirect to login: 401 without a valid bearer JWT
	NoUserinfo      bool          // do not call the userinfo endpoint at login
	CAFile          string        // CA bundle for the provider's TLS; default system roots

	// BackchannelLogoutPath: where the provider POSTs back-channel logout
	// tokens; "" no endpoint.
	BackchannelLogoutPath string

	// SessionStore keeps sessions server-side; nil: sessions live in the
	// cookies (the default).
	SessionStore *SessionStore `json:",omitempty"`
}

// SessionStore is "session-store redis ...": sessions in Valkey/Redis, the
// cookie holding only a ticket.
type SessionStore struct {
	Pos      Pos
	Kind     string   // "redis"
	Master   string   // "sentinel MASTER ADDR...": the monitored primary's name
	Cluster  bool     // "cluster ADDR..."
	Addrs    []string // host:port: the server, the sentinels, or cluster seeds
	TLS      bool
	CAFile   string
	User     string
	Password SecretRef // Kind "": no AUTH
	DB       int
	Prefix   string // key prefix; default "gatehouse:<section>:"
}

// IdentityToken is an "identity-token NAME" section: how the edge signs the
// short-lived token it hands the mesh.
type IdentityToken struct {
	Pos       Pos
	Name      string
	Issuer    string
	Audiences []string
	// SigningKeys: PEM files or directories (EC P-256 or RSA). The first key
	// of the first entry signs (in a directory, the file whose name sorts
	// last); every key is published in the JWKS.
	SigningKeys []SecretRef
	// PublishKeys: keys only published (the next key before it signs, the
	// previous one until its tokens expire).
	PublishKeys []SecretRef
	Lifetime    time.Duration // default 5m
	Claims      []string      // identity claims copied into the token
	Header      string        // default "Authorization" (value "Bearer <jwt>")
}
