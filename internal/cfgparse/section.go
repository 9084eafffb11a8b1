package cfgparse

import (
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

type secKind uint8

const (
	secGlobal secKind = iota
	secDefaults
	secProxy // frontend, backend, listen
	secUnimplemented
	secIdentity // oidc, identity-token: named sections with a table of their own
)

// sectionDef is one section keyword. Each section carries the keyword table
// its lines are looked up in and the handler of its header line, so a
// feature adds a section by appending one entry, without touching dispatch.
type sectionDef struct {
	name   string
	kind   secKind
	cap    config.Cap // for proxies
	syntax string
	desc   string
	skip   bool // lines of this section are not parsed (unimplemented section)

	open   func(p *parser, sec *sectionDef, toks []token) // header line
	kws    []keyword                                      // the section's keywords
	unimpl []string                                       // HAProxy keywords of this section Gatehouse does not implement
	// ownTable: the keywords are specific to this section, so the reference
	// lists them in a table of their own.
	ownTable bool
}

// sectionTable builds the sections with their keyword tables. Proxy
// sections share one table (capabilities tell them apart).
func sectionTable() []sectionDef {
	globalKW, proxyKW := globalKeywords(), proxyKeywords()
	unGlobal, unProxy := unimplementedGlobal(), unimplementedProxy()
	secs := []sectionDef{
		{name: "global", kind: secGlobal, syntax: "global", open: openGlobal, kws: globalKW, unimpl: unGlobal,
			desc: "Process-wide settings: limits, logging targets, stats socket, TLS bases."},
		{name: "defaults", kind: secDefaults, syntax: "defaults [<name>] [from <defaults>]", open: openDefaults, kws: proxyKW, unimpl: unProxy,
			desc: "Default settings for the proxies declared after it. A named defaults section may also hold ACLs and rules, for proxies that reference it with 'from'."},
		{name: "frontend", kind: secProxy, cap: config.CapFE, syntax: "frontend <name> [from <defaults>]", open: openProxy, kws: proxyKW, unimpl: unProxy,
			desc: "Accepts client connections on its 'bind' addresses and picks a backend."},
		{name: "backend", kind: secProxy, cap: config.CapBE, syntax: "backend <name> [from <defaults>]", open: openProxy, kws: proxyKW, unimpl: unProxy,
			desc: "A set of servers with load balancing and health checks."},
		{name: "listen", kind: secProxy, cap: config.CapFE | config.CapBE, syntax: "listen <name> [from <defaults>]", open: openProxy, kws: proxyKW, unimpl: unProxy,
			desc: "A frontend and a backend in one section."},
		{name: "oidc", kind: secIdentity, syntax: "oidc <name>", open: openOIDC, kws: oidcKeywords(), ownTable: true,
			desc: "An OpenID Connect relying party: browser login with session cookies, and bearer JWTs from the same provider. Used by 'http-request oidc-auth <name>'."},
		{name: "identity-token", kind: secIdentity, syntax: "identity-token <name>", open: openIdentityToken, kws: identityTokenKeywords(), ownTable: true,
			desc: "A short-lived token the edge signs for the mesh, and the keys its JWKS publishes. Used by 'http-request set-identity-token <name>' and 'use-service jwks:<name>'."},
		resolversSection(),
		userlistSection(),
		httpErrorsSection(),
		cacheSection(),
		peersSection(),
		acmeSection(),
		crtStoreSection(),
		mailersSection(),
		ringSection(),
		logForwardSection(),
		programSection(),
	}
	for _, name := range unimplementedSections() {
		secs = append(secs, sectionDef{name: name, kind: secUnimplemented, skip: true, open: openUnimplemented})
	}
	return secs
}

// proxyState is a proxy or defaults section being parsed.
type proxyState struct {
	px         *config.Proxy
	isDefaults bool
	name       string // defaults name; "" for an anonymous defaults

	defSrv config.Server // "default-server" template
	// hasRules: the section holds ACLs or TCP/HTTP rules, which HAProxy
	// only allows in named defaults referenced explicitly with "from".
	hasRules    bool
	explicitRef bool
	httplogPos  config.Pos // where option httplog was set, for the mode check
	httpchkSet  bool       // option httpchk was given (http-check rules need it)
	tcpcheckSet bool       // option tcp-check was given (tcp-check rules need it)
	// redirects are the legacy "redirect" rules, run after the
	// http-request rules (finish appends them).
	redirects []*config.HTTPAction
}

// openSection handles a section header line.
func (p *parser) openSection(sec *sectionDef, toks []token) {
	p.sec = sec
	p.ps = nil
	p.oidc, p.idTok, p.res = nil, nil, nil
	p.ul = nil
	p.acme, p.crtStore = nil, nil
	// ${.SECTION}: the section's name, or its keyword when it has none.
	p.secName = sec.name
	if len(toks) > 1 && toks[1].Text != "from" {
		p.secName = toks[1].Text
	}
	sec.open(p, sec, toks)
}

func openUnimplemented(p *parser, sec *sectionDef, _ []token) {
	p.errorf("section '%s' is a HAProxy section that Gatehouse does not implement", sec.name)
}

func openGlobal(p *parser, _ *sectionDef, toks []token) {
	if len(toks) > 1 {
		p.errorf("'global' cannot handle unexpected argument '%s'.", toks[1].Text)
	}
	if p.cfg.Global.Pos.File == "" {
		p.cfg.Global.Pos = p.pos()
	}
}

// fromClause parses "[from <defaults>]" at toks[i:], returning the
// referenced defaults section (nil when absent) and whether it was valid.
func (p *parser) fromClause(toks []token, i int, what, name string) (*proxyState, bool) {
	if len(toks) <= i {
		return nil, true
	}
	if toks[i].Text != "from" || len(toks) != i+2 {
		if what == "frontend" {
			p.errorf("please use the 'bind' keyword for listening addresses.")
		} else {
			p.errorf("'%s' cannot handle unexpected argument '%s'.", what, toks[i].Text)
		}
		return nil, false
	}
	def := p.namedDef[toks[i+1].Text]
	if def == nil {
		p.errorf("defaults section '%s' not found for %s '%s'.", toks[i+1].Text, what, name)
		return nil, false
	}
	def.explicitRef = true
	return def, true
}

func openDefaults(p *parser, _ *sectionDef, toks []token) {
	name, i := "", 1
	if len(toks) > 1 && toks[1].Text != "from" {
		name, i = toks[1].Text, 2
		if c, bad := invalidChar(name); bad {
			p.errorf("character '%c' is not permitted in 'defaults' name '%s'.", c, name)
		}
	}
	parent, ok := p.fromClause(toks, i, "defaults", name)
	if !ok {
		parent = nil
	}
	ps := &proxyState{isDefaults: true, name: name}
	p.inherit(ps, parent, "defaults", name)
	ps.px.Section = "defaults"
	ps.px.Cap = config.CapFE | config.CapBE
	if name != "" {
		if prev := p.namedDef[name]; prev != nil && prev.explicitRef {
			p.errorf("defaults '%s' has the same name as another defaults section declared at %s which was explicitly referenced hence cannot be replaced. Please remove or rename one of the offending defaults section.", name, prev.px.Pos)
		}
		p.namedDef[name] = ps
	}
	p.lastDef = ps
	p.ps = ps
}

func openProxy(p *parser, sec *sectionDef, toks []token) {
	if len(toks) < 2 {
		p.errorf("'%s' expects an <id> argument", sec.name)
		p.sec = &sectionDef{name: sec.name, skip: true}
		return
	}
	name := toks[1].Text
	if c, bad := invalidChar(name); bad {
		p.errorf("character '%c' is not permitted in '%s' name '%s'.", c, sec.name, name)
	}
	for _, o := range p.proxies {
		if o.px.Name == name && o.px.Cap&sec.cap != 0 {
			p.errorf("%s '%s' has the same name as %s '%s' declared at %s.", proxyType(sec.cap), name, proxyType(o.px.Cap), name, o.px.Pos)
			break
		}
	}
	def, ok := p.fromClause(toks, 2, sec.name, name)
	if !ok {
		p.sec = &sectionDef{name: sec.name, skip: true}
		return
	}
	if def == nil {
		def = p.lastDef
		if def != nil && def.hasRules {
			p.errorf("%s '%s' cannot use defaults section '%s' (declared at %s) implicitly because it contains ACLs or TCP/HTTP rules; reference it explicitly with 'from %s'.",
				proxyType(sec.cap), name, def.name, def.px.Pos, def.name)
		}
	}
	ps := &proxyState{}
	p.inherit(ps, def, sec.name, name)
	p.checkResponseRulesFrom(def, sec.cap) // kw_tcpresponse.go
	ps.px.Section = sec.name
	ps.px.Cap = sec.cap
	p.proxies = append(p.proxies, ps)
	p.cfg.Proxies = append(p.cfg.Proxies, ps.px)
	p.ps = ps
}

// inherit initializes ps from the defaults section def, or from HAProxy's
// built-in defaults when def is nil.
func (p *parser) inherit(ps *proxyState, def *proxyState, section, name string) {
	if def == nil {
		ps.px = &config.Proxy{
			Mode:    config.ModeTCP, // HAProxy's mode when none is set
			Retries: 3,
			Balance: config.Balance{Algo: "roundrobin"},
		}
		ps.defSrv = config.Server{Weight: 1, Rise: 2, Fall: 3, Inter: 2 * time.Second}
	} else {
		ps.px = cloneProxy(def.px)
		ps.defSrv = cloneServer(def.defSrv)
		ps.hasRules = def.hasRules && ps.isDefaults
		ps.httplogPos = def.httplogPos
		ps.httpchkSet = def.httpchkSet
		ps.tcpcheckSet = def.tcpcheckSet
	}
	ps.px.Name = name
	ps.px.Pos = p.pos()
	ps.px.Section = section
}

// invalidChar reports the first character HAProxy refuses in a name
// (anything but letters, digits, '-', '_', '.' and ':').
func invalidChar(name string) (rune, bool) {
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == ':':
		default:
			return c, true
		}
	}
	return 0, false
}

// describeSection is used by the reference writer.
func (s sectionDef) describe() string {
	if s.kind == secUnimplemented {
		return fmt.Sprintf("HAProxy's '%s' section; not implemented by Gatehouse (an error).", s.name)
	}
	return s.desc
}
