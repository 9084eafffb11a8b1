package cfgparse

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Value checks of the identity keywords, and the whole-configuration checks
// of the identity sections (required keywords, references from rules).

func checkIssuer(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("'%s' is not an absolute http(s) URL without query or fragment", v)
	}
	return nil
}

func checkAbsURL(needPath bool) func(string) error {
	return func(v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("'%s' is not an absolute http(s) URL", v)
		}
		if needPath && (u.Path == "" || u.Path == "/") {
			return fmt.Errorf("'%s' needs a path of its own (the edge answers it as the callback)", v)
		}
		return nil
	}
}

func checkPath(v string) error {
	if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.ContainsAny(v, "?# \t") {
		return fmt.Errorf("'%s' is not an absolute path", v)
	}
	return nil
}

// checkToken refuses what cannot appear in a cookie or header attribute.
func checkToken(what string) func(string) error {
	return func(v string) error {
		for _, c := range v {
			if c <= ' ' || c >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
				return fmt.Errorf("invalid character '%c' in %s '%s'", c, what, v)
			}
		}
		return nil
	}
}

// bearerAlgorithms are the JWS algorithms a bearer JWT may use; "none" and
// the HS family never (RFC 8725: an HMAC keyed with a public key is
// forgeable). The same list as internal/identity's, which cfgparse may not
// import.
func bearerAlgorithms() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
}

func checkAlgorithm(v string) error {
	if contains(bearerAlgorithms(), v) {
		return nil
	}
	if strings.EqualFold(v, "none") || strings.HasPrefix(strings.ToUpper(v), "HS") {
		return fmt.Errorf("algorithm '%s' can never be accepted for bearer tokens (asymmetric JWS algorithms only)", v)
	}
	msg := fmt.Sprintf("unknown algorithm '%s' (expected %s)", v, strings.Join(bearerAlgorithms(), ", "))
	if best := bestMatch(v, bearerAlgorithms()); best != "" {
		msg += fmt.Sprintf("; did you mean '%s' maybe ?", best)
	}
	return fmt.Errorf("%s", msg)
}

// checkCopiedClaim refuses the claims the edge sets itself.
func checkCopiedClaim(v string) error {
	switch v {
	case "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "idp":
		return fmt.Errorf("claim '%s' is set by the edge and cannot be copied", v)
	}
	return nil
}

// finishIdentity checks what needs the whole configuration: each section
// has its required keywords, and every rule names a declared section.
func (p *parser) finishIdentity() {
	id := &p.cfg.Identity
	missing := func(pos config.Pos, sec, name string, kws ...string) {
		p.errs = append(p.errs, config.Errorf(pos, "%s '%s' lacks required %s.", sec, name, quoteJoin(kws)))
	}
	for _, o := range id.OIDC {
		var lack []string
		for _, k := range []struct {
			kw  string
			set bool
		}{{"issuer", o.Issuer != ""}, {"client-id", o.ClientID != ""}, {"redirect-uri", o.RedirectURI != ""}, {"cookie-secret", len(o.CookieSecrets) > 0}} {
			if !k.set {
				lack = append(lack, k.kw)
			}
		}
		if len(lack) > 0 {
			missing(o.Pos, "oidc", o.Name, lack...)
		}
		if len(o.Scopes) > 0 && !contains(o.Scopes, "openid") {
			p.errs = append(p.errs, config.Errorf(o.Pos, "oidc '%s': 'scopes' must include 'openid' (without it the provider issues no ID token).", o.Name))
		}
		p.checkBackchannelPath(o)
	}
	for _, t := range id.Tokens {
		var lack []string
		for _, k := range []struct {
			kw  string
			set bool
		}{{"issuer", t.Issuer != ""}, {"audience", len(t.Audiences) > 0}, {"signing-key", len(t.SigningKeys) > 0}} {
			if !k.set {
				lack = append(lack, k.kw)
			}
		}
		if len(lack) > 0 {
			missing(t.Pos, "identity-token", t.Name, lack...)
		}
	}
	p.checkIdentityRefs()
	p.checkClientCertRules()
}

// checkClientCertRules warns about client-cert-auth and
// set-forwarded-client-cert in a frontend none of whose binds verifies
// client certificates: the rule would never find one. (A backend's may be
// reached from any frontend, and a crt-list line may set verify itself.)
func (p *parser) checkClientCertRules() {
	seen := map[config.Pos]bool{}
	for _, ps := range p.proxies {
		px := ps.px
		if px.Cap&config.CapFE == 0 {
			continue
		}
		verifies := false
		for _, b := range px.Binds {
			verifies = verifies || b.Verify == "optional" || b.Verify == "required" || len(b.CrtLists) > 0
		}
		if verifies {
			continue
		}
		for _, a := range px.HTTPRequest {
			if (a.Action == "client-cert-auth" || a.Action == "set-forwarded-client-cert") && !seen[a.Pos] {
				seen[a.Pos] = true
				p.warnAt(a.Pos, "Proxy '%s': 'http-request %s' will never find a verified client certificate: no 'bind' of this proxy has 'verify optional' or 'verify required'.", px.Name, a.Action)
			}
		}
	}
}

// checkIdentityRefs reports rules naming an undeclared section. A rule of a
// named defaults section is copied into each proxy that uses it; it is
// reported once.
func (p *parser) checkIdentityRefs() {
	id := &p.cfg.Identity
	var oidcNames, tokNames []string
	for _, o := range id.OIDC {
		oidcNames = append(oidcNames, o.Name)
	}
	for _, t := range id.Tokens {
		tokNames = append(tokNames, t.Name)
	}
	seen := map[config.Pos]bool{}
	for _, ps := range p.proxies {
		for _, a := range ps.px.HTTPRequest {
			var sec, name string
			var names []string
			switch {
			case a.Action == "oidc-auth":
				sec, name, names = "oidc", a.Name, oidcNames
			case a.Action == "set-identity-token":
				sec, name, names = "identity-token", a.Name, tokNames
			case a.Action == "use-service" && strings.HasPrefix(a.Name, "jwks:"):
				sec, name, names = "identity-token", strings.TrimPrefix(a.Name, "jwks:"), tokNames
			default:
				continue
			}
			if contains(names, name) || seen[a.Pos] {
				continue
			}
			seen[a.Pos] = true
			msg := fmt.Sprintf("Proxy '%s': 'http-request %s' refers to unknown %s section '%s'", ps.px.Name, a.Action, sec, name)
			if best := bestMatch(name, names); best != "" {
				msg += fmt.Sprintf("; did you mean '%s' maybe ?", best)
			} else if len(names) == 0 {
				msg += fmt.Sprintf(" (no '%s' section is declared).", sec)
			} else {
				msg += fmt.Sprintf(" (declared: %s).", quoteJoin(names))
			}
			p.errs = append(p.errs, config.Errorf(a.Pos, "%s", msg))
		}
	}
}

func quoteJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + w + "'"
	}
	return strings.Join(q, ", ")
}

// checkBackchannelPath: the back-channel logout endpoint cannot share the
// callback's path or the sign-out's, which the edge answers first.
func (p *parser) checkBackchannelPath(o *config.OIDC) {
	bp := o.BackchannelLogoutPath
	if bp == "" {
		return
	}
	signOut := o.SignOutPath
	if signOut == "" {
		signOut = "/oauth2/sign_out"
	}
	callback := ""
	if u, err := url.Parse(o.RedirectURI); err == nil {
		callback = u.Path
	}
	if bp == callback || bp == signOut {
		p.errs = append(p.errs, config.Errorf(o.Pos, "oidc '%s': 'backchannel-logout-path %s' is also the callback or the sign-out path.", o.Name, bp))
	}
}
