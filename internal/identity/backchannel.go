package identity

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// OpenID Connect Back-Channel Logout 1.0: the provider POSTs a signed
// logout token to the edge when a user's session at the provider ends,
// and the edge ends that user's sessions. The endpoint is the oidc
// section's backchannel-logout-path, answered where "http-request
// oidc-auth" runs, as the callback is.

// maxLogoutBody bounds the form read from the provider.
const maxLogoutBody = 64 << 10

// BackchannelPath is the back-channel logout endpoint's path, "" when the
// section has none.
func (p *Provider) BackchannelPath() string { return p.backchannelPath }

// Backchannel answers a back-channel logout request when req is for the
// endpoint's path, and returns nil otherwise. body gives the request body
// (read only here).
func (p *Provider) Backchannel(req *httpmsg.Request, body func() io.Reader) *Reply {
	if p.backchannelPath == "" || req.Path() != p.backchannelPath {
		return nil
	}
	if req.Method != "POST" {
		return &Reply{Status: 405, Header: httpmsg.Headers{
			{Name: "Allow", Value: "POST"},
			{Name: "Cache-Control", Value: "no-store"},
		}}
	}
	ct, _ := req.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
		return p.logoutRefused("the logout request must be application/x-www-form-urlencoded")
	}
	raw, err := io.ReadAll(io.LimitReader(body(), maxLogoutBody+1))
	if err != nil {
		return p.logoutRefused("the logout request's body could not be read")
	}
	if len(raw) > maxLogoutBody {
		return p.logoutRefused("the logout request is too large")
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return p.logoutRefused("the logout request's form does not parse")
	}
	toks := form["logout_token"]
	if len(toks) != 1 || toks[0] == "" {
		return p.logoutRefused("the logout request must carry exactly one logout_token")
	}
	d := p.ready.Load()
	if d == nil {
		p.Counters.Unavailable.Add(1)
		return p.logoutUnavailable()
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	now := p.now()
	c, err := d.logout.verify(ctx, toks[0], now)
	if err != nil {
		var le *logoutError
		if errors.As(err, &le) {
			return p.logoutRefused(le.reason)
		}
		p.logf("oidc '%s': back-channel logout not verified: %v", p.name, err)
		return p.logoutUnavailable()
	}
	// On a failure below, the provider may try again with the same token.
	release := func() { d.logout.jtis.forget(d.logout.issuer, c.jti) }
	if p.ss != nil {
		rel, fresh, err := p.takeLogoutJTI(ctx, d.logout.issuer, c, d.logout.skew, now)
		if err != nil {
			release()
			return p.logoutUnavailable()
		}
		if !fresh {
			return p.logoutRefused("logout token jti " + quoteList([]string{c.jti}) + " was already used")
		}
		local := release
		release = func() { local(); rel() }
	}
	if err := p.endSessions(ctx, c.sid, c.sub, now); err != nil {
		release()
		p.logf("oidc '%s': back-channel logout of sid %q sub %q failed: %v", p.name, c.sid, c.sub, err)
		return p.logoutUnavailable()
	}
	p.Counters.BackchannelLogouts.Add(1)
	return &Reply{Status: 200, Header: httpmsg.Headers{{Name: "Cache-Control", Value: "no-store"}}}
}

// endSessions ends every session of sid or sub (see revocations) as of
// now: in the store, or in cookie mode in this process's registry.
func (p *Provider) endSessions(ctx context.Context, sid, sub string, now time.Time) error {
	if p.ss != nil {
		return p.endStoredSessions(ctx, sid, sub, now)
	}
	p.revoked.revoke(sid, sub, now)
	return nil
}

// sessionEnded reports whether a back-channel logout ended the session of
// id (a session's identity; bearer identities have no start).
func (p *Provider) sessionEnded(id *Identity, now time.Time) bool {
	return p.revoked.ended(id.sid, id.Subject, id.started, now)
}

// logoutRefused is the spec's 400 with an OAuth 2.0 error body (2.8).
func (p *Provider) logoutRefused(why string) *Reply {
	p.Counters.BackchannelRefused.Add(1)
	p.logf("oidc '%s': back-channel logout refused: %s", p.name, why)
	body, _ := json.Marshal(map[string]string{"error": "invalid_request", "error_description": why})
	return &Reply{Status: 400, Header: httpmsg.Headers{
		{Name: "Content-Type", Value: "application/json"},
		{Name: "Cache-Control", Value: "no-store"},
	}, Body: body}
}

// logoutUnavailable answers a logout the edge could not verify or carry
// out for its own reasons (the provider not discovered, its JWKS out of
// reach): 503, so the provider can tell it from a bad token.
func (p *Provider) logoutUnavailable() *Reply {
	body, _ := json.Marshal(map[string]string{"error": "temporarily_unavailable", "error_description": "the logout could not be processed now; try again"})
	return &Reply{Status: 503, Header: httpmsg.Headers{
		{Name: "Retry-After", Value: "5"},
		{Name: "Content-Type", Value: "application/json"},
		{Name: "Cache-Control", Value: "no-store"},
	}, Body: body}
}
