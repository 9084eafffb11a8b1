package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// flowTTL bounds how long a login may take at the provider.
const flowTTL = 10 * time.Minute

// registered are claims about the token itself, not the user: they are not
// copied into sessions.
var registered = map[string]bool{
	"iss": true, "aud": true, "exp": true, "iat": true, "nbf": true, "nonce": true, "jti": true,
	"at_hash": true, "c_hash": true, "azp": true, "auth_time": true, "sid": true,
}

func randomString() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// stateCookie names a login flow's state cookie: each flow has its own, so
// several tabs can log in at once.
func (p *Provider) stateCookie(state string) string { return p.cookie + "_st_" + state[:16] }

// startLogin answers a browser without a session: a state cookie for this
// flow, and a redirect to the provider with PKCE (S256), state and nonce.
func (p *Provider) startLogin(d *discovered, req *httpmsg.Request, tls bool) *Reply {
	fs := flowState{
		State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(),
		Target: SafeRedirect(originTarget(req)), Exp: p.now().Add(flowTTL).Unix(),
	}
	plain, _ := json.Marshal(&fs)
	name := p.stateCookie(fs.State)
	sealed := p.ring.seal(plain, []byte(name))
	a := cookieAttrs{path: p.callbackPath, domain: p.attrs.domain, secure: tls}
	loc := d.oauth.AuthCodeURL(fs.State, oidc.Nonce(fs.Nonce), oauth2.S256ChallengeOption(fs.Verifier))
	p.Counters.Redirects.Add(1)
	return &Reply{Status: 302, Header: httpmsg.Headers{
		{Name: "Location", Value: loc},
		{Name: "Set-Cookie", Value: setCookie(name, sealed, a, flowTTL)},
		{Name: "Cache-Control", Value: "no-store"},
	}}
}

// originTarget is the request's path and query as httpmsg.ParseTarget
// splits them (absolute-form targets lose their scheme and authority).
func originTarget(req *httpmsg.Request) string {
	tg := req.Target()
	p, _ := tg.OriginForm()
	return p
}

// callback completes a login: it checks the flow's state cookie, exchanges
// the code with the PKCE verifier, verifies the ID token and its nonce,
// merges userinfo, and sets the session.
func (p *Provider) callback(ctx context.Context, d *discovered, req *httpmsg.Request, tls bool) *Reply {
	q, err := url.ParseQuery(req.Query())
	state := q.Get("state")
	if err != nil || len(state) < 16 {
		return p.loginFailed(LoginState, "callback without a valid state", nil)
	}
	name := p.stateCookie(state)
	clearSt := []string{setCookie(name, "", cookieAttrs{path: p.callbackPath, domain: p.attrs.domain, secure: tls}, -1)}
	raw, ok := cookieValue(req.Header, name)
	if !ok {
		return p.loginFailed(LoginState, "no login flow for this state (expired, or started in another browser)", clearSt)
	}
	plain, err := p.ring.open(raw, []byte(name))
	var fs flowState
	if err != nil || json.Unmarshal(plain, &fs) != nil {
		return p.loginFailed(LoginState, "login state cookie does not authenticate", clearSt)
	}
	if subtle.ConstantTimeCompare([]byte(fs.State), []byte(state)) != 1 || p.now().Unix() > fs.Exp {
		return p.loginFailed(LoginState, "login state mismatch or expired", clearSt)
	}
	if e := q.Get("error"); e != "" {
		return p.loginFailed(LoginProvider, fmt.Sprintf("provider refused the login: %s %s", e, q.Get("error_description")), clearSt)
	}
	ctx = oidc.ClientContext(ctx, p.client)
	tok, err := d.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(fs.Verifier))
	if err != nil {
		return p.loginFailed(LoginExchange, "code exchange: "+err.Error(), clearSt)
	}
	s, err := p.sessionFromToken(ctx, d, tok, fs.Nonce, nil)
	if err != nil {
		return p.loginFailed(reasonOf(err), err.Error(), clearSt)
	}
	cookies, err := p.sealSession(req.Header, s, tls)
	if errors.Is(err, errStoreDown) {
		return p.storeUnavailable()
	}
	if err != nil {
		return p.loginFailed(LoginSession, err.Error(), clearSt)
	}
	p.Counters.Logins.Add(1)
	p.log(logging.LevelInfo, "oidc '%s': login of subject '%s' accepted", p.name, s.Sub)
	h := httpmsg.Headers{{Name: "Location", Value: SafeRedirect(fs.Target)}, {Name: "Cache-Control", Value: "no-store"}}
	for _, c := range append(clearSt, cookies...) {
		h = append(h, httpmsg.Header{Name: "Set-Cookie", Value: c})
	}
	return &Reply{Status: 302, Header: h}
}

// sessionFromToken verifies a token response's ID token (nonce when given)
// and builds a session with the ID token's and userinfo's claims. On a
// refresh, prev supplies what the response may omit.
func (p *Provider) sessionFromToken(ctx context.Context, d *discovered, tok *oauth2.Token, nonce string, prev *session) (*session, error) {
	s := &session{Refresh: tok.RefreshToken, Claims: map[string]json.RawMessage{}}
	if !tok.Expiry.IsZero() {
		s.AccessExp = tok.Expiry.Unix()
	}
	rawID, _ := tok.Extra("id_token").(string)
	switch {
	case rawID != "":
		idt, err := d.idVerifier.Verify(ctx, rawID)
		if err != nil {
			return nil, failed(LoginIDToken, fmt.Errorf("ID token: %v", err))
		}
		if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
			return nil, failed(LoginIDToken, errors.New("ID token nonce does not match the login flow"))
		}
		if prev != nil && idt.Subject != prev.Sub {
			return nil, failed(LoginIDToken, errors.New("refreshed ID token names another subject"))
		}
		var all map[string]json.RawMessage
		if err := idt.Claims(&all); err != nil {
			return nil, failed(LoginIDToken, err)
		}
		s.Iss, s.Sub, s.IDToken = idt.Issuer, idt.Subject, rawID
		s.Sid = claimString(all["sid"])
		if s.Sid == "" && prev != nil {
			s.Sid = prev.Sid // a refreshed ID token may leave it out
		}
		mergeClaims(s.Claims, all)
	case prev != nil:
		s.Iss, s.Sub, s.Sid, s.IDToken = prev.Iss, prev.Sub, prev.Sid, prev.IDToken
		mergeClaims(s.Claims, prev.Claims)
	default:
		return nil, failed(LoginIDToken, errors.New("token response without id_token"))
	}
	if prev != nil {
		s.Exp, s.St = prev.Exp, prev.St
		if s.Refresh == "" {
			s.Refresh = prev.Refresh
		}
	} else {
		s.Exp, s.St = p.now().Add(p.lifetime).Unix(), p.now().UnixMilli()
	}
	if d.userinfo && tok.AccessToken != "" {
		ui, err := d.op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, failed(LoginUserinfo, fmt.Errorf("userinfo: %v", err))
		}
		if ui.Subject != s.Sub {
			return nil, failed(LoginUserinfo, errors.New("userinfo names another subject than the ID token")) // OIDC Core 5.3.2
		}
		var all map[string]json.RawMessage
		if err := ui.Claims(&all); err != nil {
			return nil, failed(LoginUserinfo, fmt.Errorf("userinfo: %v", err))
		}
		mergeClaims(s.Claims, all)
	}
	s.setRefreshAt(p.now(), p.refreshIn)
	return s, nil
}

// claimString is a string claim's value, "" for anything else.
func claimString(raw json.RawMessage) string {
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return v
}

// mergeClaims copies user claims from src into dst (later sources win).
func mergeClaims(dst, src map[string]json.RawMessage) {
	for k, v := range src {
		if !registered[k] {
			dst[k] = v
		}
	}
}

func (p *Provider) loginFailed(reason LoginFailure, why string, cookies []string) *Reply {
	p.Counters.LoginFailures[reason].Add(1)
	p.logf("oidc '%s': login refused: %s", p.name, why)
	h := httpmsg.Headers{{Name: "Content-Type", Value: "text/plain; charset=utf-8"}, {Name: "Cache-Control", Value: "no-store"}}
	for _, c := range cookies {
		h = append(h, httpmsg.Header{Name: "Set-Cookie", Value: c})
	}
	return &Reply{Status: 403, Header: h, Body: []byte("Login failed. Go back to the page you wanted and try again.\n")}
}

// signOut clears the session and, when the provider has an
// end_session_endpoint, logs out there too with id_token_hint.
func (p *Provider) signOut(d *discovered, req *httpmsg.Request, tls bool) *Reply {
	p.Counters.SignOuts.Add(1)
	a := p.attrs
	a.secure = tls
	var parts [maxChunks]string
	var idToken string
	if p.ss != nil {
		var ended bool
		if idToken, ended = p.endStored(req.Header); !ended {
			return p.storeUnavailable()
		}
	} else if n := sessionParts(req.Header, p.cookie, &parts); n > 0 {
		p.sessions.remove(p.sessions.hash(parts[:n]...))
		if s, err := p.openSession(parts[:n], p.now()); err == nil {
			idToken = s.IDToken
			p.log(logging.LevelInfo, "oidc '%s': subject '%s' signed out", p.name, s.Sub)
		}
	}
	h := httpmsg.Headers{{Name: "Cache-Control", Value: "no-store"}}
	for _, c := range clearSessionCookies(req.Header, p.cookie, a) {
		h = append(h, httpmsg.Header{Name: "Set-Cookie", Value: c})
	}
	loc := p.cfg.PostLogoutURI
	if d != nil && d.endSession != "" {
		v := url.Values{"client_id": {p.cfg.ClientID}}
		if idToken != "" {
			v.Set("id_token_hint", idToken)
		}
		if p.cfg.PostLogoutURI != "" {
			v.Set("post_logout_redirect_uri", p.cfg.PostLogoutURI)
		}
		if u, err := url.Parse(d.endSession); err == nil {
			q := u.Query()
			for k, vs := range v {
				q[k] = vs
			}
			u.RawQuery = q.Encode()
			loc = u.String()
		}
	}
	if loc != "" {
		h = append(h, httpmsg.Header{Name: "Location", Value: loc})
		return &Reply{Status: 302, Header: h}
	}
	h = append(h, httpmsg.Header{Name: "Content-Type", Value: "text/plain; charset=utf-8"})
	return &Reply{Status: 200, Header: h, Body: []byte("Signed out.\n")}
}
