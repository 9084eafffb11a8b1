package app

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/stats"
)

// identityRuntime holds the built oidc and identity-token sections of one
// graph. The builder makes one per Build:
//
//	b.ident, err = newIdentityRuntime(&cfg.Identity, node, logf, stderr) // before the proxies
//	b.g.starters = append(b.g.starters, b.ident.start)       // discovery in the background
//	b.g.stoppers = append(b.g.stoppers, b.ident.stop)
//	RuleEnv.Custom = func(a) { return b.ident.action(a, (*proxy.Txn).Reply) }
//	service(): if svc, ok := b.ident.service(name); ok { return svc, nil }
//	buildFrontend: b.ident.guard(fe, b.cfg, p) (the Sanitize, Outbound and SanitizeTrailers hooks)
type identityRuntime struct {
	providers map[string]*identity.Provider
	minters   map[string]*identity.Minter
	// The same, in configuration order (stats).
	providerList []*identity.Provider
	minterList   []*identity.Minter
}

// newIdentityRuntime builds the sections; log sends their events to the
// global log targets, and stderr prints the providers' own events
// (discovery, session store) as well; replica names this process in the
// session stores (the global 'node'; "" for the host name).
func newIdentityRuntime(c *config.Identity, replica string, log func(lvl logging.Level, format string, args ...any), stderr func(logging.Level, string)) (*identityRuntime, error) {
	r := &identityRuntime{providers: map[string]*identity.Provider{}, minters: map[string]*identity.Minter{}}
	if c == nil {
		return r, nil
	}
	for _, o := range c.OIDC {
		p, err := identity.NewProvider(o, identity.Options{Log: log, Replica: replica, Print: stderr})
		if err != nil {
			return nil, err
		}
		r.providers[o.Name] = p
		r.providerList = append(r.providerList, p)
	}
	for _, t := range c.Tokens {
		m, err := identity.NewMinter(t)
		if err != nil {
			return nil, err
		}
		r.minters[t.Name] = m
		r.minterList = append(r.minterList, m)
	}
	return r, nil
}

// start begins provider discovery (retried with backoff; requests get 503
// meanwhile).
func (r *identityRuntime) start() {
	for _, p := range r.providers {
		p.Start()
	}
}

func (r *identityRuntime) stop() {
	for _, p := range r.providers {
		p.Stop()
	}
}

// action compiles "http-request oidc-auth NAME", "http-request
// set-identity-token NAME", "http-request client-cert-auth [sub FIELD]" and
// "http-request set-forwarded-client-cert [FIELD...]". setReply installs a
// local reply on the transaction (proxy's (*Txn).Reply).
func (r *identityRuntime) action(a *config.HTTPAction, setReply func(*proxy.Txn, *proxy.Reply)) (func(*proxy.Txn) bool, error) {
	switch a.Action {
	case "oidc-auth":
		p := r.providers[a.Name]
		if p == nil {
			return nil, config.Errorf(a.Pos, "'http-request oidc-auth': no oidc section named '%s'", a.Name)
		}
		return func(t *proxy.Txn) bool {
			if rep := p.Backchannel(&t.Req, t.Body); rep != nil {
				setReply(t, &proxy.Reply{Status: rep.Status, Header: rep.Header, Body: rep.Body})
				return true
			}
			id, rep := p.Authenticate(&t.Req, t.ClientTLS())
			if rep != nil {
				setReply(t, &proxy.Reply{Status: rep.Status, Header: rep.Header, Body: rep.Body})
				return true
			}
			t.Ext = id
			t.Sample().Claims = id.Claim
			return false
		}, nil
	case "set-identity-token":
		m := r.minters[a.Name]
		if m == nil {
			return nil, config.Errorf(a.Pos, "'http-request set-identity-token': no identity-token section named '%s'", a.Name)
		}
		hdr := m.Header()
		return func(t *proxy.Txn) bool {
			id, _ := t.Ext.(*identity.Identity)
			if id == nil {
				// No identity (a public path): the mesh must not receive
				// whatever the client put there.
				t.Req.Header.Del(hdr)
				return false
			}
			v, err := m.HeaderValue(id)
			if err != nil {
				setReply(t, &proxy.Reply{Status: 500})
				return true
			}
			t.Req.Header.Set(hdr, v)
			return false
		}, nil
	case "client-cert-auth":
		field := a.Name
		if field != "" && !slices.Contains(identity.CertSubjectFields, field) {
			return nil, config.Errorf(a.Pos, "'http-request client-cert-auth': unknown field '%s'", field)
		}
		ids := identity.NewCertIdentities(field, certIdentityCache)
		return func(t *proxy.Txn) bool {
			s := t.Sample()
			if !s.ClientCertVerified || s.TLSState == nil {
				return false
			}
			if id := ids.Get(s.TLSState.PeerCertificates, time.Now()); id != nil {
				t.Ext = id
				s.Claims = id.Claim
			}
			return false
		}, nil
	case "set-forwarded-client-cert":
		var f identity.XFCCFields
		for _, w := range a.XFCCFields {
			bit, ok := identity.XFCCFieldNames[w]
			if !ok {
				return nil, config.Errorf(a.Pos, "'http-request set-forwarded-client-cert': unknown field '%s'", w)
			}
			f |= bit
		}
		return func(t *proxy.Txn) bool { setXFCC(t.Sample(), &t.Req.Header, f); return false }, nil
	}
	return nil, config.Errorf(a.Pos, "'http-request %s' is not supported here", a.Action)
}

// certIdentityCache bounds the client-certificate identities one
// client-cert-auth rule keeps (each a few kB with its token).
const certIdentityCache = 4096

// setXFCC sets X-Forwarded-Client-Cert from the connection's client
// certificate when it verified; otherwise nothing may claim one.
func setXFCC(t *acl.Txn, h *httpmsg.Headers, f identity.XFCCFields) {
	identity.StripXFCC(h)
	if !t.ClientCertVerified || t.TLSState == nil || len(t.TLSState.PeerCertificates) == 0 {
		return
	}
	h.Add(identity.XFCCHeader, identity.XFCC(t.TLSState.PeerCertificates, f))
}

// service resolves "use-service jwks:NAME": the public keys of an
// identity-token section, for Istio's RequestAuthentication jwksUri.
func (r *identityRuntime) service(name string) (proxy.Service, bool) {
	sec, ok := strings.CutPrefix(name, "jwks:")
	if !ok {
		return nil, false
	}
	m := r.minters[sec]
	if m == nil {
		return nil, false
	}
	return jwksService{body: m.JWKS(), served: &m.Counters.JWKSServed}, true
}

// jwksError explains an unknown jwks:NAME.
func jwksError(name string, pos config.Pos) error {
	return config.Errorf(pos, "'http-request use-service %s': no identity-token section named '%s'", name, strings.TrimPrefix(name, "jwks:"))
}

type jwksService struct {
	body   []byte
	served *atomic.Uint64
}

func (s jwksService) Serve(t *proxy.Txn) *proxy.Reply {
	s.served.Add(1)
	return &proxy.Reply{Status: 200, Header: httpmsg.Headers{
		{Name: "Content-Type", Value: "application/json"},
		{Name: "Cache-Control", Value: "public, max-age=300"},
	}, Body: s.body}
}

// guard installs the identity hooks of the HTTP frontend fe built from p:
//
//   - Sanitize: X-Forwarded-Client-Cert (in any spelling) goes before any
//     rule runs, always; so do the identity headers a client could spoof
//     when p or a backend it routes to authenticates, mints or sets
//     X-Forwarded-Client-Cert (a backend's rules run after the frontend's,
//     so the frontend must strip);
//   - Outbound: the edge's session and login-state cookies go from every
//     request forwarded, after the rules (which may read them), whether or
//     not oidc-auth ran: a bearer request, a path left public, or a
//     frontend without identity (browsers send cookies to every port of
//     the host, and cookie-domain widens that);
//   - SanitizeTrailers: trailers carry neither X-Forwarded-Client-Cert, nor
//     spoofed identity headers, nor the edge's cookies, nor the headers edge
//     tokens go in.
func (r *identityRuntime) guard(fe *proxy.Frontend, cfg *config.Config, p *config.Proxy) {
	var cookies, tokenHeaders []string
	for _, pr := range r.providers {
		cookies = append(cookies, pr.CookieName())
	}
	for _, m := range r.minters {
		tokenHeaders = append(tokenHeaders, m.Header())
	}
	slices.Sort(cookies)
	slices.Sort(tokenHeaders)
	// Every frontend: the mesh may trust X-Forwarded-Client-Cert from the
	// edge, so no client may send it in any spelling, rule or not.
	fe.Sanitize = identity.StripXFCC
	if routesToIdentity(cfg, p) {
		fe.Sanitize = func(h *httpmsg.Headers) {
			identity.StripSpoofable(h)
			identity.StripXFCC(h)
		}
	}
	if len(cookies) == 0 && len(tokenHeaders) == 0 {
		fe.SanitizeTrailers = fe.Sanitize
		return
	}
	if len(cookies) > 0 {
		fe.Outbound = func(h *httpmsg.Headers) { identity.StripCookies(h, cookies) }
		fe.Inbound = func(h *httpmsg.Headers) { identity.StripSetCookies(h, cookies) }
	}
	fe.SanitizeTrailers = func(h *httpmsg.Headers) {
		identity.StripSpoofable(h)
		identity.StripXFCC(h)
		identity.StripCookies(h, cookies)
		for _, n := range tokenHeaders {
			h.Del(n)
		}
	}
}

// usesIdentity reports whether p's own rules authenticate, mint or vouch
// for a client certificate.
func usesIdentity(p *config.Proxy) bool {
	for _, a := range p.HTTPRequest {
		switch a.Action {
		case "oidc-auth", "set-identity-token", "set-forwarded-client-cert", "client-cert-auth":
			return true
		}
	}
	return false
}

// routesToIdentity reports whether frontend p, or a backend it may route
// to, authenticates or mints.
func routesToIdentity(cfg *config.Config, p *config.Proxy) bool {
	if usesIdentity(p) {
		return true
	}
	names := []string{p.DefaultBackend}
	dynamic := false // a name computed per request may be any backend
	for _, ub := range p.UseBackends {
		names = append(names, ub.Name)
		dynamic = dynamic || strings.Contains(ub.Name, "%[")
	}
	for _, q := range cfg.Proxies {
		if q.Cap&config.CapBE != 0 && (dynamic || slices.Contains(names, q.Name)) && usesIdentity(q) {
			return true
		}
	}
	return false
}

// snapshot copies the sections' counters into the stats model.
func (r *identityRuntime) snapshot(snap *stats.Snapshot) {
	if r == nil {
		return
	}
	for _, p := range r.providerList {
		c := &p.Counters
		s := stats.OIDCStats{
			Name: p.Name(), Issuer: p.Issuer(), Ready: p.Ready(), DiscoveryFailures: c.DiscoveryFailures.Load(),
			LoginRedirects: c.Redirects.Load(), Logins: c.Logins.Load(),
			Refreshes: c.Refreshes.Load(), RefreshFailures: c.RefreshFailures.Load(), SignOuts: c.SignOuts.Load(),
			BackchannelLogouts: c.BackchannelLogouts.Load(), BackchannelRefused: c.BackchannelRefused.Load(),
			BearerAccepted: c.BearerAccepted.Load(), Unauthorized: c.Unauthorized.Load(), Unavailable: c.Unavailable.Load(),
			JWKSFetches: c.JWKSFetches.Load(), JWKSFailures: c.JWKSFailures.Load(),
			StoreErrors: c.StoreErrors.Load(),
		}
		for i := range c.LoginFailures {
			s.LoginFailures = append(s.LoginFailures, stats.ReasonCount{Reason: identity.LoginFailure(i).String(), N: c.LoginFailures[i].Load()})
		}
		for i := range c.BearerRejected {
			s.BearerRejected = append(s.BearerRejected, stats.ReasonCount{Reason: identity.BearerRejection(i).String(), N: c.BearerRejected[i].Load()})
		}
		s.JWKSKeys, _ = p.Keys()
		s.SessionStore, s.SessionsActive, s.SessionsKnown = p.ActiveSessions()
		snap.OIDC = append(snap.OIDC, s)
	}
	for _, m := range r.minterList {
		snap.Tokens = append(snap.Tokens, stats.TokenStats{Name: m.Name(), Issuer: m.Issuer(),
			Minted: m.Counters.Minted.Load(), MintFailures: m.Counters.MintFailures.Load(), JWKSServed: m.Counters.JWKSServed.Load()})
	}
}

// inheritIdentity hands each provider of g what the same section's
// provider in the previous graph learnt (identity.Provider.Inherit: the
// sessions back-channel logouts ended). Before g serves.
func inheritIdentity(g, old *Graph) {
	if old == nil || old.ident == nil || g.ident == nil {
		return
	}
	for name, p := range g.ident.providers {
		p.Inherit(old.ident.providers[name])
	}
}
