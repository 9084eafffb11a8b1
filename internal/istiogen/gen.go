package istiogen

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Options place the policies.
type Options struct {
	Namespace string            // default "istio-system"
	Selector  map[string]string // default istio=ingressgateway
}

// Noted is a rule with the comment that says where it comes from.
type Noted struct {
	Rule Rule
	Note string
}

// Plan is what one identity-token section asks of the mesh.
type Plan struct {
	Token *config.IdentityToken
	Name  string // base of the resources' names

	JWT       JWTRule
	JWKSNotes []string // how jwksUri was worked out, what was assumed

	Principals     []string
	PrincipalNotes []string

	// Public: requests the edge forwards without a token (oidc-auth or
	// set-identity-token does not apply to them), allowed without one.
	Public     []Noted
	PublicGaps []string // public requests the mesh cannot single out (it refuses them)

	Deny    []Noted  // claim rules with a mesh equivalent
	NoEquiv []string // claim rules without one

	TerminatesTLS bool     // a frontend of the token terminates TLS
	NoForwardFor  []string // frontends of the token without option forwardfor

	Warnings []string // also worth a line on stderr
}

// Generate builds a plan per identity-token section, in declaration order.
func Generate(cfg *config.Config) []*Plan {
	var out []*Plan
	for _, t := range cfg.Identity.Tokens {
		out = append(out, plan(cfg, t))
	}
	return out
}

func plan(cfg *config.Config, t *config.IdentityToken) *Plan {
	p := &Plan{Token: t, Name: "gatehouse-" + dnsLabel(t.Name)}
	p.JWT = JWTRule{Issuer: t.Issuer, Audiences: t.Audiences, ForwardOriginalToken: true}
	if t.Header != "" && !strings.EqualFold(t.Header, "Authorization") {
		p.JWT.FromHeaders = []JWTHeader{{Name: t.Header, Prefix: "Bearer "}}
	}
	scope := tokenScope(cfg, t.Name)
	p.jwks(cfg, t)
	p.identity(scope, t)
	p.claimRules(scope, t)
	for _, px := range scope {
		if px.Cap&config.CapFE == 0 {
			continue
		}
		for _, b := range px.Binds {
			if b.SSL {
				p.TerminatesTLS = true
			}
		}
		if px.ForwardFor == nil {
			p.NoForwardFor = append(p.NoForwardFor, px.Name)
		}
	}
	return p
}

// tokenScope is every proxy a minted request passes through: those with
// set-identity-token NAME, the backends their frontends route to and the
// frontends routing to their backends, in declaration order.
func tokenScope(cfg *config.Config, name string) []*config.Proxy {
	in := map[*config.Proxy]bool{}
	byName := map[string]*config.Proxy{}
	for _, px := range cfg.Proxies {
		if px.Cap&config.CapBE != 0 {
			byName[px.Name] = px
		}
		for _, a := range px.HTTPRequest {
			if a.Action == "set-identity-token" && a.Name == name {
				in[px] = true
			}
		}
	}
	minting := make([]*config.Proxy, 0, len(in))
	for _, px := range cfg.Proxies {
		if in[px] {
			minting = append(minting, px)
		}
	}
	for _, px := range cfg.Proxies {
		for _, be := range routes(px) {
			b := byName[be]
			if b == nil || b == px {
				continue
			}
			for _, m := range minting {
				if m == px {
					in[b] = true
				}
				if m == b {
					in[px] = true
				}
			}
		}
	}
	var out []*config.Proxy
	for _, px := range cfg.Proxies {
		if in[px] {
			out = append(out, px)
		}
	}
	return out
}

// routes are the static backend names a frontend routes to.
func routes(px *config.Proxy) []string {
	if px.Cap&config.CapFE == 0 {
		return nil
	}
	var out []string
	if px.DefaultBackend != "" {
		out = append(out, px.DefaultBackend)
	}
	for _, u := range px.UseBackends {
		if !strings.Contains(u.Name, "%[") {
			out = append(out, u.Name)
		}
	}
	return out
}

// identity works out the principals (one per oidc section that logs in
// the token's callers) and the requests that reach the mesh without a
// token: those oidc-auth skips, and those set-identity-token skips.
func (p *Plan) identity(scope []*config.Proxy, t *config.IdentityToken) {
	authSkip := always()
	mintSkip := dnf{}
	auths := 0
	var gap []string
	for _, px := range scope {
		for _, a := range px.HTTPRequest {
			switch {
			case a.Action == "oidc-auth":
				auths++
				pr := t.Issuer + "/" + a.Name + "/*" // Istio's principal is iss + "/" + sub
				if !contains(p.Principals, pr) {
					p.Principals = append(p.Principals, pr)
				}
				s, err := skipDNF(a.Cond, px.ACLs)
				if err == nil {
					authSkip, err = and(authSkip, s)
				}
				if err != nil {
					gap = append(gap, fmt.Sprintf("%s: 'http-request oidc-auth %s' condition: %v", a.Pos, a.Name, err))
				}
			case a.Action == "set-identity-token" && a.Name == t.Name:
				s, err := skipDNF(a.Cond, px.ACLs)
				if err != nil {
					gap = append(gap, fmt.Sprintf("%s: 'http-request set-identity-token %s' condition: %v", a.Pos, a.Name, err))
				}
				mintSkip = append(mintSkip, s...)
			}
		}
	}
	if auths == 0 {
		p.Principals = []string{t.Issuer + "/*"}
		p.PrincipalNotes = append(p.PrincipalNotes, "no 'http-request oidc-auth' runs with this token's 'set-identity-token': no identity, so no token is minted; the principal covers any subject of the issuer")
		p.Warnings = append(p.Warnings, fmt.Sprintf("identity-token '%s': no 'http-request oidc-auth' before 'set-identity-token %[1]s': the edge never mints it", t.Name))
		return
	}
	public := simplify(append(authSkip, mintSkip...))
	if len(gap) > 0 {
		p.PublicGaps = gap
		return
	}
	if len(public) > maxConj {
		p.PublicGaps = append(p.PublicGaps, errTooComplex.Error())
		return
	}
	for _, c := range public {
		r, ok, err := conjRule(c, nil, t.Name)
		if err != nil {
			p.PublicGaps = append(p.PublicGaps, err.Error())
			continue
		}
		if ok {
			p.Public = append(p.Public, Noted{Rule: r, Note: "forwarded without a token: " + conjText(c)})
		}
	}
}

// claimRules translates the deny rules that read claims; the other
// access rules reading claims are listed as having no equivalent.
func (p *Plan) claimRules(scope []*config.Proxy, t *config.IdentityToken) {
	for _, px := range scope {
		for _, a := range px.HTTPRequest {
			if !mentionsClaims(a.Cond, px.ACLs) {
				continue
			}
			what := fmt.Sprintf("%s: %s 'http-request %s %s'", a.Pos, px.Name, a.Action, condText(a.Cond))
			switch a.Action {
			case "deny":
			case "allow", "return", "redirect", "auth", "tarpit", "reject", "silent-drop":
				p.NoEquiv = append(p.NoEquiv, what+": only deny rules become mesh rules")
				continue
			default:
				continue // not an access decision
			}
			d, err := condDNF(a.Cond, px.ACLs)
			var rules []Rule
			if err == nil {
				rules, err = dnfRules(d, t.Claims, t.Name)
			}
			if err != nil {
				p.NoEquiv = append(p.NoEquiv, what+": "+err.Error())
				continue
			}
			for _, r := range rules {
				p.Deny = append(p.Deny, Noted{Rule: r, Note: what})
			}
		}
	}
}

// jwks works out the URL istiod fetches the keys from: the first frontend
// that serves jwks:NAME (itself or through the backend that does), its
// scheme and port from its bind, host and path from the rule's condition.
func (p *Plan) jwks(cfg *config.Config, t *config.IdentityToken) {
	iss, _ := url.Parse(t.Issuer)
	type cand struct {
		fe    *config.Proxy
		rule  *config.HTTPAction
		acls  []*config.ACL
		extra *config.Cond // the use_backend condition leading to it
		in    *config.Proxy
	}
	var cands []cand
	for _, px := range cfg.Proxies {
		for _, a := range px.HTTPRequest {
			if a.Action != "use-service" || a.Name != "jwks:"+t.Name {
				continue
			}
			if px.Cap&config.CapFE != 0 && len(px.Binds) > 0 {
				cands = append(cands, cand{fe: px, rule: a, acls: px.ACLs, in: px})
			}
			for _, fe := range cfg.Proxies {
				if fe == px || fe.Cap&config.CapFE == 0 || len(fe.Binds) == 0 {
					continue
				}
				if fe.DefaultBackend == px.Name {
					cands = append(cands, cand{fe: fe, rule: a, acls: px.ACLs, in: px})
				}
				for _, u := range fe.UseBackends {
					if u.Name == px.Name {
						cands = append(cands, cand{fe: fe, rule: a, acls: px.ACLs, extra: u.Cond, in: px})
					}
				}
			}
		}
	}
	if len(cands) == 0 {
		p.JWT.JwksURI = strings.TrimSuffix(t.Issuer, "/") + "/.well-known/jwks.json"
		msg := fmt.Sprintf("no frontend serves 'jwks:%s', so Gatehouse does not publish these keys: this jwksUri is a guess (the issuer's /.well-known/jwks.json). Add 'http-request use-service jwks:%[1]s if { path /.well-known/jwks.json }' to the public frontend, or put the key set in 'jwks:' instead", t.Name)
		p.JWKSNotes = append(p.JWKSNotes, msg)
		p.Warnings = append(p.Warnings, "identity-token '"+t.Name+"': "+msg)
		return
	}
	c := cands[0]
	for _, o := range cands[1:] {
		p.JWKSNotes = append(p.JWKSNotes, fmt.Sprintf("frontend '%s' (%s) serves it too", o.fe.Name, o.rule.Pos))
	}
	d, err := condDNF(c.rule.Cond, c.acls)
	if err == nil && c.extra != nil {
		var e dnf
		if e, err = condDNF(c.extra, c.fe.ACLs); err == nil {
			d, err = and(d, e)
		}
	}
	var lits conj
	if err != nil {
		p.JWKSNotes = append(p.JWKSNotes, fmt.Sprintf("the condition of %s could not be read (%v): host and path are assumed", c.rule.Pos, err))
	} else if len(d) > 0 {
		lits = d[0]
		if len(d) > 1 {
			p.JWKSNotes = append(p.JWKSNotes, fmt.Sprintf("the condition of %s holds in %d ways; the first one is used", c.rule.Pos, len(d)))
		}
	}
	host, path, fromRule := "", "", false
	var paths []match
	var pathNeg []bool
	for _, l := range lits {
		m, err := parseTest(l.t)
		if err != nil {
			p.JWKSNotes = append(p.JWKSNotes, fmt.Sprintf("the rule also requires %s (%s): istiod's request must meet it", l.t.text, l.t.pos))
			continue
		}
		switch {
		case m.fetch == "host" && !l.neg && m.method == "str" && len(m.values) == 1:
			host = m.values[0]
		case m.fetch == "path":
			paths, pathNeg = append(paths, m), append(pathNeg, l.neg)
			if !l.neg && m.method == "str" && len(m.values) == 1 {
				path = m.values[0]
			}
		case m.fetch == "method" || m.fetch == "true" || m.fetch == "false":
		default:
			p.JWKSNotes = append(p.JWKSNotes, fmt.Sprintf("the rule also requires %s (%s): istiod's request must meet it", l.t.text, l.t.pos))
		}
	}
	if host == "" {
		if iss != nil {
			host = iss.Hostname()
		}
		p.JWKSNotes = append(p.JWKSNotes, fmt.Sprintf("host: the issuer's (%s): no Host test in the rule at %s", host, c.rule.Pos))
	} else {
		fromRule = true
		p.JWKSNotes = append(p.JWKSNotes, "host: from the rule's Host test")
	}
	if path != "" {
		p.JWKSNotes = append(p.JWKSNotes, "path: from the rule's path test")
	} else {
		path = "/.well-known/jwks.json"
		if !pathsHold(path, paths, pathNeg) {
			for _, m := range paths {
				if m.method == "beg" && len(m.values) > 0 {
					path = m.values[0]
					if strings.HasSuffix(path, "/") {
						path += "jwks.json"
					}
					break
				}
			}
		}
		if pathsHold(path, paths, pathNeg) {
			p.JWKSNotes = append(p.JWKSNotes, fmt.Sprintf("path: %s, which the rule at %s answers (it names no single path)", path, c.rule.Pos))
		} else {
			p.JWKSNotes = append(p.JWKSNotes, fmt.Sprintf("path: no single path satisfies the rule at %s; check this one", c.rule.Pos))
			p.Warnings = append(p.Warnings, fmt.Sprintf("identity-token '%s': cannot tell which path the rule at %s answers: check jwksUri", t.Name, c.rule.Pos))
		}
	}
	scheme, port, bind := bindOf(c.fe)
	if fromRule {
		// A client sends the port in Host unless it is the scheme's
		// default: the port the Host test names is the one to use.
		h, ps, hasPort := strings.Cut(host, ":")
		if n, err := strconv.Atoi(ps); hasPort && err == nil && !strings.Contains(host, "]") {
			host, port = h, n
			p.JWKSNotes = append(p.JWKSNotes, fmt.Sprintf("port %d: the one the rule's Host test names", n))
		} else if def := defaultPort(scheme); port != def {
			p.JWKSNotes = append(p.JWKSNotes, fmt.Sprintf("port: the rule's Host test names no port, which a client sends only for port %d: a load balancer or Service is assumed to map %d to bind '%s' (%s)", def, def, bind.Addr, bind.Pos))
			port = def
		}
	}
	u := scheme + "://" + hostPort(host, port, scheme) + path
	p.JWT.JwksURI = u
	p.JWKSNotes = append(p.JWKSNotes, fmt.Sprintf("scheme: frontend '%s' bind '%s' (%s); if a load balancer or Service maps its port, use the port istiod connects to", c.fe.Name, bind.Addr, bind.Pos))
	for _, a := range c.in.HTTPRequest {
		if a == c.rule {
			break
		}
		if a.Action == "oidc-auth" && a.Cond == nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("identity-token '%s': 'http-request oidc-auth %s' (%s) runs before the JWKS rule (%s) for every request: istiod would be sent to log in", t.Name, a.Name, a.Pos, c.rule.Pos))
		}
	}
}

// bindOf picks the frontend's TLS bind if it has one.
func bindOf(fe *config.Proxy) (scheme string, port int, b *config.Bind) {
	b = fe.Binds[0]
	for _, x := range fe.Binds {
		if x.SSL {
			b = x
			break
		}
	}
	scheme = "http"
	if b.SSL {
		scheme = "https"
	}
	return scheme, b.Port, b
}

func defaultPort(scheme string) int {
	if scheme == "https" {
		return 443
	}
	return 80
}

func hostPort(host string, port int, scheme string) string {
	if port == 0 || port == defaultPort(scheme) {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}

func pathsHold(path string, ms []match, neg []bool) bool {
	for i, m := range ms {
		hit := false
		for _, v := range m.values {
			switch m.method {
			case "str":
				hit = hit || path == v
			case "beg":
				hit = hit || strings.HasPrefix(path, v)
			case "end":
				hit = hit || strings.HasSuffix(path, v)
			}
		}
		if hit == neg[i] {
			return false
		}
	}
	return true
}

// dnsLabel makes a section name fit a Kubernetes resource name.
func dnsLabel(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

func conjText(c conj) string {
	if len(c) == 0 {
		return "always"
	}
	parts := make([]string, len(c))
	for i, l := range c {
		parts[i] = l.t.text
		if l.neg {
			parts[i] = "!" + parts[i]
		}
	}
	return strings.Join(parts, " && ")
}

func condText(c *config.Cond) string {
	if c == nil {
		return ""
	}
	kw := "if"
	if c.Unless {
		kw = "unless"
	}
	return kw + " " + strings.Join(c.Terms, " ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
