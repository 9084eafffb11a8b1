package identity

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Reply is a response the identity layer answers with instead of letting
// the request through (login redirect, 401, callback, sign-out).
type Reply struct {
	Status int
	Header httpmsg.Headers
	Body   []byte
}

// callTimeout bounds the provider calls made while a request waits (code
// exchange, userinfo, refresh, JWKS).
const callTimeout = 10 * time.Second

// Authenticate runs "http-request oidc-auth": it returns the caller's
// identity, or the reply to send instead. On success the session cookies
// are removed from req, so they never reach the mesh. tls tells whether the
// client connection is TLS (Secure cookies).
//
// The fast path (a session cookie or bearer token already verified) takes a
// hash, a read-locked map lookup and a comparison, and does not allocate
// unless the request carries session cookies to strip.
func (p *Provider) Authenticate(req *httpmsg.Request, tls bool) (*Identity, *Reply) {
	StripSpoofable(&req.Header)
	path := req.Path()
	d := p.ready.Load()
	switch path {
	case p.callbackPath:
		if d == nil {
			return nil, p.unavailable()
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		return nil, p.callback(ctx, d, req, tls)
	case p.signOutPath:
		return nil, p.signOut(d, req, tls)
	}
	if tok, ok := bearerToken(req.Header); ok {
		if d == nil {
			return nil, p.unavailable()
		}
		return p.authBearer(d, tok)
	}
	var parts [maxChunks]string
	if p.ss != nil {
		id, r := p.storedAuth(d, req, p.now())
		if id != nil {
			removeCookies(&req.Header, p.cookie)
			return id, nil
		}
		if r != nil {
			return nil, r
		}
	} else if n := sessionParts(req.Header, p.cookie, &parts); n > 0 {
		now := p.now()
		h := p.sessions.hash(parts[:n]...)
		if id := p.sessions.get(h, now, parts[:n]...); id != nil && !p.sessionEnded(id, now) {
			removeCookies(&req.Header, p.cookie)
			return id, nil
		}
		if s, err := p.openSession(parts[:n], now); err == nil && !p.revoked.ended(s.Sid, s.Sub, s.St, now) {
			if !s.needsRefresh(now, p.refreshIn) {
				id := s.identity(p.name)
				p.sessions.put(h, id, s.cacheUntil(p.refreshIn), parts[:n]...)
				removeCookies(&req.Header, p.cookie)
				return id, nil
			}
			id, r := p.refreshDue(d, s, req, tls, now)
			if id != nil {
				removeCookies(&req.Header, p.cookie)
				return id, nil
			}
			if r != nil {
				return nil, r
			}
		}
	}
	removeCookies(&req.Header, p.cookie)
	if d == nil {
		// Until the provider is discovered nothing can be decided: 503,
		// never a pass and never a misleading 401.
		return nil, p.unavailable()
	}
	if p.cfg.BearerOnly || !isNavigation(req) {
		return nil, p.unauthorized("")
	}
	return nil, p.startLogin(d, req, tls)
}

func (p *Provider) authBearer(d *discovered, tok string) (*Identity, *Reply) {
	if id := d.bearer.cached(tok); id != nil {
		p.Counters.BearerAccepted.Add(1)
		return id, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	id, err := d.bearer.verify(ctx, tok)
	if err != nil {
		kind := RejectKeysUnavailable // no verdict on the token: its keys are out of reach
		var te *tokenError
		if errors.As(err, &te) {
			kind = te.kind
		}
		p.Counters.BearerRejected[kind].Add(1)
		p.logf("oidc '%s': %v", p.name, err)
		if te != nil && te.desc != "" {
			return nil, p.unauthorizedDesc("invalid_token", te.desc)
		}
		return nil, p.unauthorized("invalid_token")
	}
	p.Counters.BearerAccepted.Add(1)
	return id, nil
}

// bearerToken returns the token of "Authorization: Bearer <token>".
func bearerToken(h httpmsg.Headers) (string, bool) {
	v, ok := h.Get("Authorization")
	if !ok || len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(v[7:])
	return tok, tok != ""
}

// isNavigation tells a browser loading a page (which may be sent to log in)
// from an API call (which gets 401): GET or HEAD, accepting text/html, not
// XMLHttpRequest, and not a fetch()/CORS request when the browser says so.
func isNavigation(req *httpmsg.Request) bool {
	if req.Method != "GET" && req.Method != "HEAD" {
		return false
	}
	if v, _ := req.Header.Get("X-Requested-With"); strings.EqualFold(v, "XMLHttpRequest") {
		return false
	}
	if v, ok := req.Header.Get("Sec-Fetch-Mode"); ok && !strings.EqualFold(v, "navigate") {
		return false
	}
	accept, _ := req.Header.Get("Accept")
	return strings.Contains(strings.ToLower(accept), "text/html")
}

func (p *Provider) unauthorized(errCode string) *Reply { return p.unauthorizedDesc(errCode, "") }

// unauthorizedDesc is a 401 with an RFC 6750 error code and, when desc is
// not empty, an error_description (desc must be a valid quoted-string body).
func (p *Provider) unauthorizedDesc(errCode, desc string) *Reply {
	p.Counters.Unauthorized.Add(1)
	www := `Bearer realm="` + p.name + `"`
	if errCode != "" {
		www += `, error="` + errCode + `"`
	}
	if desc != "" {
		www += `, error_description="` + desc + `"`
	}
	return &Reply{Status: 401, Header: httpmsg.Headers{
		{Name: "WWW-Authenticate", Value: www},
		{Name: "Content-Type", Value: "text/plain; charset=utf-8"},
		{Name: "Cache-Control", Value: "no-store"},
	}, Body: []byte("Unauthorized\n")}
}

func (p *Provider) unavailable() *Reply {
	p.Counters.Unavailable.Add(1)
	return &Reply{Status: 503, Header: httpmsg.Headers{
		{Name: "Retry-After", Value: "5"},
		{Name: "Content-Type", Value: "text/plain; charset=utf-8"},
		{Name: "Cache-Control", Value: "no-store"},
	}, Body: []byte("The identity provider is not reachable yet.\n")}
}
