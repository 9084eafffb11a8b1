package cfgparse

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The identity sections: "oidc NAME" and "identity-token NAME". Their
// keywords live in tables of their own (sectionDef.kws); the runtime
// (internal/identity) applies the defaults, so the model keeps what was
// written and zero for what was not.

func oidcKeywords() []keyword {
	return []keyword{
		oidcString("issuer", "issuer <url>", "The provider; its configuration is discovered at <url>/.well-known/openid-configuration, retried with backoff (requests get 503 meanwhile).",
			func(o *config.OIDC) *string { return &o.Issuer }, checkIssuer),
		oidcString("client-id", "client-id <id>", "The client id registered at the provider; also the default accepted bearer audience.",
			func(o *config.OIDC) *string { return &o.ClientID }, nil),
		{name: "client-secret", syntax: "client-secret file:<path>|env:<NAME>", parse: parseClientSecret,
			desc: "The client secret, read from a file or an environment variable; an inline secret is an error. Omit it for a public client (PKCE only)."},
		oidcList("scopes", "scopes <scope>...", "Scopes asked for at login (default 'openid email profile'); 'openid' is required.",
			func(o *config.OIDC) *[]string { return &o.Scopes }, nil),
		{name: "cookie-secret", syntax: "cookie-secret file:<path>|env:<NAME>", parse: parseCookieSecret,
			desc: "Key material (>= 32 bytes) sealing session cookies. Repeat the line to rotate: the first one seals, all of them open."},
		oidcString("redirect-uri", "redirect-uri <url>", "The absolute callback URL registered at the provider; the edge answers its path.",
			func(o *config.OIDC) *string { return &o.RedirectURI }, checkAbsURL(true)),
		oidcString("cookie-name", "cookie-name <name>", "Session cookie name (default '_gatehouse_<section>'); chunks are '<name>_0', '<name>_1', ..., flow state '<name>_st_*'.",
			func(o *config.OIDC) *string { return &o.CookieName }, checkToken("cookie name")),
		oidcString("cookie-domain", "cookie-domain <domain>", "Domain attribute of the session cookie (default: host-only).",
			func(o *config.OIDC) *string { return &o.CookieDomain }, checkToken("cookie domain")),
		oidcDuration("session-lifetime", "session-lifetime <time>", "Absolute lifetime of a session (default 12h).",
			func(o *config.OIDC) *time.Duration { return &o.SessionLifetime }),
		oidcDuration("refresh-before", "refresh-before <time>", "Refresh the tokens this long before the access token expires (default 1m), or at half its life when it lives less than twice that; one refresh per session at a time.",
			func(o *config.OIDC) *time.Duration { return &o.RefreshBefore }),
		oidcString("sign-out-path", "sign-out-path <path>", "Path that ends the session (default '/oauth2/sign_out').",
			func(o *config.OIDC) *string { return &o.SignOutPath }, checkPath),
		oidcString("backchannel-logout-path", "backchannel-logout-path <path>", "Path of the OpenID Connect Back-Channel Logout endpoint: the provider POSTs a signed logout token there, and the edge ends the sessions of its sid or sub (register <origin><path> as the client's backchannel_logout_uri). Without it there is no endpoint.",
			func(o *config.OIDC) *string { return &o.BackchannelLogoutPath }, checkPath),
		oidcString("post-logout-uri", "post-logout-uri <url>", "post_logout_redirect_uri sent to the provider's end_session_endpoint at sign-out.",
			func(o *config.OIDC) *string { return &o.PostLogoutURI }, checkAbsURL(false)),
		oidcList("bearer-audience", "bearer-audience <aud>...", "Accepted 'aud' of bearer JWTs (default: the client id).",
			func(o *config.OIDC) *[]string { return &o.Audiences }, nil),
		oidcList("algorithms", "algorithms <alg>...", "Accepted bearer JWT algorithms (default all of RS*, PS*, ES*, EdDSA); 'none' and HS* are refused.",
			func(o *config.OIDC) *[]string { return &o.Algorithms }, checkAlgorithm),
		oidcDuration("clock-skew", "clock-skew <time>", "Leeway on 'exp' and 'nbf' (default 30s).",
			func(o *config.OIDC) *time.Duration { return &o.ClockSkew }),
		oidcFlag("bearer-only", "Never redirect to a login: requests without a valid bearer JWT get 401.",
			func(o *config.OIDC) *bool { return &o.BearerOnly }),
		oidcFlag("no-userinfo", "Do not call the userinfo endpoint at login (the ID token's claims are used alone).",
			func(o *config.OIDC) *bool { return &o.NoUserinfo }),
		{name: "ca-file", syntax: "ca-file <file>", parse: parseOIDCCAFile,
			desc: "CA certificates that verify the provider's TLS certificate (default: the system's); relative paths start at 'ca-base'."},
		sessionStoreKeyword(),
	}
}

func identityTokenKeywords() []keyword {
	return []keyword{
		tokString("issuer", "issuer <url>", "'iss' of the tokens the edge signs.",
			func(t *config.IdentityToken) *string { return &t.Issuer }, checkIssuer),
		tokList("audience", "audience <aud>...", "'aud' of the tokens (one or more).",
			func(t *config.IdentityToken) *[]string { return &t.Audiences }, nil),
		{name: "signing-key", syntax: "signing-key file:<path>", parse: parseTokenKey,
			desc: "PEM private key(s), EC P-256 or RSA >= 2048: a file, or a directory of '*.pem'/'*.key' files. The first key of the first line signs (in a directory, the file whose name sorts last); every key is published."},
		{name: "publish-key", syntax: "publish-key file:<path>", parse: parseTokenKey,
			desc: "Key(s) only published in the JWKS: the next key before it signs, the previous one until its tokens expire."},
		{name: "lifetime", syntax: "lifetime <time>", parse: parseTokenLifetime,
			desc: "Lifetime of a token (default 5m; never beyond the user's session)."},
		tokList("claims", "claims <claim>...", "Claims copied from the user's identity into the token (e.g. 'email groups'); 'sub' is '<oidc section>/<sub>' and 'idp' the provider's issuer, set by the edge.",
			func(t *config.IdentityToken) *[]string { return &t.Claims }, checkCopiedClaim),
		tokString("header", "header <name>", "Request header that carries the token (default 'Authorization', as 'Bearer <jwt>').",
			func(t *config.IdentityToken) *string { return &t.Header }, checkToken("header name")),
	}
}

// openOIDC handles "oidc NAME".
func openOIDC(p *parser, sec *sectionDef, toks []token) {
	name, ok := p.identitySectionName(sec, toks)
	if !ok {
		return
	}
	if prev := p.cfg.Identity.FindOIDC(name); prev != nil {
		p.errorf("oidc '%s' has the same name as oidc '%s' declared at %s.", name, name, prev.Pos)
	}
	// Edge tokens name an oidc caller "<section>/<sub>" and a certificate
	// one by a URI or "dns:..."; a ':' in the section would let them meet.
	if strings.Contains(name, ":") {
		p.errorf("character ':' is not permitted in 'oidc' name '%s' (it would make the edge token's sub '%s/<sub>' read as a client certificate's).", name, name)
	}
	p.oidc = &config.OIDC{Pos: p.pos(), Name: name}
	p.cfg.Identity.OIDC = append(p.cfg.Identity.OIDC, p.oidc)
}

// openIdentityToken handles "identity-token NAME".
func openIdentityToken(p *parser, sec *sectionDef, toks []token) {
	name, ok := p.identitySectionName(sec, toks)
	if !ok {
		return
	}
	if prev := p.cfg.Identity.FindToken(name); prev != nil {
		p.errorf("identity-token '%s' has the same name as identity-token '%s' declared at %s.", name, name, prev.Pos)
	}
	p.idTok = &config.IdentityToken{Pos: p.pos(), Name: name}
	p.cfg.Identity.Tokens = append(p.cfg.Identity.Tokens, p.idTok)
}

// identitySectionName checks the header "SECTION NAME". On a bad header the
// section's lines are skipped, since they would have nowhere to go.
func (p *parser) identitySectionName(sec *sectionDef, toks []token) (string, bool) {
	if len(toks) != 2 {
		if len(toks) < 2 {
			p.errorf("'%s' expects a <name> argument.", sec.name)
		} else {
			p.errorf("'%s' cannot handle unexpected argument '%s'.", sec.name, toks[2].Text)
		}
		p.sec = &sectionDef{name: sec.name, skip: true}
		return "", false
	}
	name := toks[1].Text
	if c, bad := invalidChar(name); bad {
		p.errorf("character '%c' is not permitted in '%s' name '%s'.", c, sec.name, name)
	}
	return name, true
}

// The table helpers: one per value shape, so each keyword above is a line.

func oidcString(name, syntax, desc string, field func(*config.OIDC) *string, check func(string) error) keyword {
	return keyword{name: name, syntax: syntax, desc: desc, parse: func(p *parser, args []token) error {
		return setOnce(args, field(p.oidc), check)
	}}
}

func tokString(name, syntax, desc string, field func(*config.IdentityToken) *string, check func(string) error) keyword {
	return keyword{name: name, syntax: syntax, desc: desc, parse: func(p *parser, args []token) error {
		return setOnce(args, field(p.idTok), check)
	}}
}

func oidcList(name, syntax, desc string, field func(*config.OIDC) *[]string, check func(string) error) keyword {
	return keyword{name: name, syntax: syntax, desc: desc, parse: func(p *parser, args []token) error {
		return appendWords(args, field(p.oidc), check)
	}}
}

func tokList(name, syntax, desc string, field func(*config.IdentityToken) *[]string, check func(string) error) keyword {
	return keyword{name: name, syntax: syntax, desc: desc, parse: func(p *parser, args []token) error {
		return appendWords(args, field(p.idTok), check)
	}}
}

func oidcDuration(name, syntax, desc string, field func(*config.OIDC) *time.Duration) keyword {
	return keyword{name: name, syntax: syntax, desc: desc, parse: func(p *parser, args []token) error {
		return setDuration(args, field(p.oidc))
	}}
}

func oidcFlag(name, desc string, field func(*config.OIDC) *bool) keyword {
	return keyword{name: name, syntax: name, desc: desc, parse: func(p *parser, args []token) error {
		if err := wantArgs(args, name, 0, 0, "no argument"); err != nil {
			return err
		}
		*field(p.oidc) = true
		return nil
	}}
}

// setOnce stores the single argument of a keyword that may appear once: a
// second line is more likely a mistake than an intended override.
func setOnce(args []token, dst *string, check func(string) error) error {
	kw := args[0].Text
	if err := wantArgs(args, kw, 1, 1, "exactly one argument"); err != nil {
		return err
	}
	if *dst != "" {
		return fmt.Errorf("'%s' is already set for this section.", kw)
	}
	if check != nil {
		if err := check(args[1].Text); err != nil {
			return fmt.Errorf("'%s' : %v.", kw, err)
		}
	}
	*dst = args[1].Text
	return nil
}

// appendWords adds every argument to a list; the keyword may be repeated.
func appendWords(args []token, dst *[]string, check func(string) error) error {
	kw := args[0].Text
	if err := wantArgs(args, kw, 1, -1, "at least one argument"); err != nil {
		return err
	}
	for _, a := range args[1:] {
		if check != nil {
			if err := check(a.Text); err != nil {
				return fmt.Errorf("'%s' : %v.", kw, err)
			}
		}
		if !contains(*dst, a.Text) {
			*dst = append(*dst, a.Text)
		}
	}
	return nil
}

func setDuration(args []token, dst *time.Duration) error {
	kw := args[0].Text
	if err := wantArgs(args, kw, 1, 1, "a time argument"); err != nil {
		return err
	}
	if *dst != 0 {
		return fmt.Errorf("'%s' is already set for this section.", kw)
	}
	d, err := parseDuration(args[1].Text)
	if err != nil {
		return fmt.Errorf("'%s' : %v.", kw, err)
	}
	if d <= 0 {
		return fmt.Errorf("'%s' must be greater than zero.", kw)
	}
	*dst = d
	return nil
}

// secretRef parses "file:<path>" or "env:<NAME>". Anything else would be the
// secret itself, written into a file that is copied, diffed and logged.
func secretRef(p *parser, args []token) (config.SecretRef, error) {
	kw := args[0].Text
	if err := wantArgs(args, kw, 1, 1, "'file:<path>' or 'env:<NAME>'"); err != nil {
		return config.SecretRef{}, err
	}
	kind, ref, ok := strings.Cut(args[1].Text, ":")
	if !ok || ref == "" || (kind != "file" && kind != "env") {
		return config.SecretRef{}, fmt.Errorf("'%s' : secrets must be given as 'file:<path>' or 'env:<NAME>'; an inline secret is refused (it would sit in the configuration file).", kw)
	}
	return config.SecretRef{Pos: p.pos(), Kind: kind, Ref: ref}, nil
}

func parseClientSecret(p *parser, args []token) error {
	if p.oidc.ClientSecret.Kind != "" {
		return fmt.Errorf("'client-secret' is already set for this section.")
	}
	ref, err := secretRef(p, args)
	if err != nil {
		return err
	}
	p.oidc.ClientSecret = ref
	return nil
}

func parseCookieSecret(p *parser, args []token) error {
	ref, err := secretRef(p, args)
	if err != nil {
		return err
	}
	p.oidc.CookieSecrets = append(p.oidc.CookieSecrets, ref)
	return nil
}

func parseOIDCCAFile(p *parser, args []token) error {
	var v string
	if err := setOnce(args, &v, nil); err != nil {
		return err
	}
	if p.oidc.CAFile != "" {
		return fmt.Errorf("'ca-file' is already set for this section.")
	}
	p.oidc.CAFile = p.filePath(p.cfg.Global.CABase, v)
	return nil
}

// parseTokenKey handles signing-key and publish-key: private keys are read
// from files only (a PEM key does not fit an environment variable well,
// and a directory is how keys rotate).
func parseTokenKey(p *parser, args []token) error {
	ref, err := secretRef(p, args)
	if err != nil {
		return err
	}
	if ref.Kind != "file" {
		return fmt.Errorf("'%s' : keys are read from files: use 'file:<path>' (a PEM file or a directory).", args[0].Text)
	}
	if args[0].Text == "signing-key" {
		p.idTok.SigningKeys = append(p.idTok.SigningKeys, ref)
	} else {
		p.idTok.PublishKeys = append(p.idTok.PublishKeys, ref)
	}
	return nil
}

func parseTokenLifetime(p *parser, args []token) error {
	if err := setDuration(args, &p.idTok.Lifetime); err != nil {
		return err
	}
	// A token outliving a day is no longer short-lived: the mesh could not
	// revoke it, which defeats minting one per request path.
	if p.idTok.Lifetime > 24*time.Hour {
		return fmt.Errorf("'lifetime' : %s is too long for a token the mesh cannot revoke (at most 24h).", p.idTok.Lifetime)
	}
	return nil
}
