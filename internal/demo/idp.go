package demo

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// User is a demo account of the embedded provider.
type User struct {
	Sub, Name, Email string
	Groups           []string
}

// Users are the provider's accounts: alice is staff, bob is not.
var Users = []User{
	{Sub: "alice", Name: "Alice Example", Email: "alice@example.com", Groups: []string{"staff", "dev"}},
	{Sub: "bob", Name: "Bob Example", Email: "bob@example.com", Groups: []string{"dev"}},
}

func findUser(sub string) (User, bool) {
	for _, u := range Users {
		if u.Sub == sub {
			return u, true
		}
	}
	return User{}, false
}

// IdP is the demo's OpenID provider, written for the demo because the test
// providers available (oauth2-proxy's mockoidc) log in whichever user is
// queued, with no page to choose one and no way for curl to get a token.
// It offers a login page with one button per user (no passwords: it
// listens on loopback and serves only the demo), the authorization code
// flow with PKCE S256 (required), refresh tokens (rotated), userinfo, an
// end_session_endpoint, and GET /demo/token?user=NAME, which gives curl an
// access token. Tokens are ES256 JWTs.
type IdP struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURIs and PostLogoutURIs are the registered URLs (exact match).
	RedirectURIs   []string
	PostLogoutURIs []string
	// AccessTTL is the access and ID tokens' lifetime (default 10m).
	AccessTTL time.Duration

	key    *ecdsa.PrivateKey
	kid    string
	signer jose.Signer
	srv    *http.Server
	ln     net.Listener

	mu      sync.Mutex
	codes   map[string]grant  // authorization codes, single use
	refresh map[string]string // refresh token -> subject, single use
}

type grant struct {
	sub, nonce, challenge, redirect string
	exp                             time.Time
}

// StartIdP listens on addr (e.g. "127.0.0.1:0") and serves the provider;
// its Issuer is http://<the address listened on>. Fill in the client
// fields before the first request.
func StartIdP(addr string) (*IdP, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	p := &IdP{key: key, codes: map[string]grant{}, refresh: map[string]string{}, AccessTTL: 10 * time.Minute}
	jwk := jose.JSONWebKey{Key: &key.PublicKey, Algorithm: string(jose.ES256), Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	p.kid = base64.RawURLEncoding.EncodeToString(tp)
	p.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p.kid))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p.ln = ln
	p.Issuer = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorizePage)
	mux.HandleFunc("POST /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	mux.HandleFunc("GET /logout", p.logout)
	mux.HandleFunc("GET /demo/token", p.demoToken)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the provider.
func (p *IdP) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return p.srv.Shutdown(ctx)
}

func (p *IdP) discovery(w http.ResponseWriter, r *http.Request) {
	u := p.Issuer
	writeJSON(w, 200, map[string]any{
		"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token",
		"userinfo_endpoint": u + "/userinfo", "jwks_uri": u + "/jwks", "end_session_endpoint": u + "/logout",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"scopes_supported":                      []string{"openid", "email", "profile", "groups"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (p *IdP) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: string(jose.ES256), Use: "sig"}}})
}

// checkAuthorize validates an authorization request's parameters.
func (p *IdP) checkAuthorize(q url.Values) error {
	switch {
	case q.Get("client_id") != p.ClientID:
		return errors.New("unknown client_id")
	case !slices.Contains(p.RedirectURIs, q.Get("redirect_uri")):
		return errors.New("redirect_uri is not registered")
	case q.Get("response_type") != "code":
		return errors.New("response_type must be code")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		return errors.New("PKCE (S256) is required")
	case q.Get("state") == "":
		return errors.New("state is required")
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		return errors.New("scope must include openid")
	}
	return nil
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><title>Demo provider: sign in</title>
<style>body{font-family:sans-serif;margin:3em} button{font-size:1.1em;margin:.3em;padding:.4em 1em}</style></head>
<body><h1>Gatehouse demo provider</h1>
<p>Sign in to <b>{{.Client}}</b> as:</p>
<form id="login" method="post" action="/authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}{{range .Users}}<button type="submit" id="user-{{.Sub}}" name="user" value="{{.Sub}}">{{.Name}} &lt;{{.Email}}&gt; — groups: {{range $i, $g := .Groups}}{{if $i}}, {{end}}{{$g}}{{end}}</button><br>
{{end}}</form>
<p><small>A provider for the demo only: no passwords, loopback only.</small></p>
</body></html>
`))

func (p *IdP) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := p.checkAuthorize(q); err != nil {
		http.Error(w, "invalid authorization request: "+err.Error(), http.StatusBadRequest)
		return
	}
	params := map[string]string{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"} {
		params[k] = q.Get(k)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = loginPage.Execute(w, map[string]any{"Client": p.ClientID, "Params": params, "Users": Users})
}

func (p *IdP) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := r.PostForm
	if err := p.checkAuthorize(f); err != nil {
		http.Error(w, "invalid authorization request: "+err.Error(), http.StatusBadRequest)
		return
	}
	u, ok := findUser(f.Get("user"))
	if !ok {
		http.Error(w, "unknown user", http.StatusBadRequest)
		return
	}
	code := randomToken()
	p.mu.Lock()
	p.codes[code] = grant{sub: u.Sub, nonce: f.Get("nonce"), challenge: f.Get("code_challenge"),
		redirect: f.Get("redirect_uri"), exp: time.Now().Add(time.Minute)}
	p.mu.Unlock()
	to, _ := url.Parse(f.Get("redirect_uri"))
	v := to.Query()
	v.Set("code", code)
	v.Set("state", f.Get("state"))
	to.RawQuery = v.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

// clientOK checks the client's credentials (client_secret_basic or _post).
func (p *IdP) clientOK(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	if ok {
		// RFC 6749 2.3.1: form-urlencoded inside Basic.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return id == p.ClientID && subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) == 1
}

func (p *IdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request")
		return
	}
	if !p.clientOK(r) {
		oauthError(w, 401, "invalid_client")
		return
	}
	f := r.PostForm
	var sub, nonce string
	switch f.Get("grant_type") {
	case "authorization_code":
		p.mu.Lock()
		g, ok := p.codes[f.Get("code")]
		delete(p.codes, f.Get("code"))
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if !ok || time.Now().After(g.exp) || g.redirect != f.Get("redirect_uri") ||
			subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1 {
			oauthError(w, 400, "invalid_grant")
			return
		}
		sub, nonce = g.sub, g.nonce
	case "refresh_token":
		p.mu.Lock()
		s, ok := p.refresh[f.Get("refresh_token")]
		delete(p.refresh, f.Get("refresh_token"))
		p.mu.Unlock()
		if !ok {
			oauthError(w, 400, "invalid_grant")
			return
		}
		sub = s
	default:
		oauthError(w, 400, "unsupported_grant_type")
		return
	}
	u, _ := findUser(sub)
	now := time.Now()
	at, err := p.accessToken(u, now)
	if err != nil {
		oauthError(w, 500, "server_error")
		return
	}
	idc := p.userClaims(u, now, p.ClientID)
	if nonce != "" {
		idc["nonce"] = nonce
	}
	idt, err := jwt.Signed(p.signer).Claims(idc).Serialize()
	if err != nil {
		oauthError(w, 500, "server_error")
		return
	}
	rt := randomToken()
	p.mu.Lock()
	p.refresh[rt] = sub
	p.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(p.AccessTTL / time.Second),
		"refresh_token": rt, "id_token": idt, "scope": "openid email profile groups"})
}

// userClaims are a token's claims for u with audience aud.
func (p *IdP) userClaims(u User, now time.Time, aud string) map[string]any {
	return map[string]any{
		"iss": p.Issuer, "sub": u.Sub, "aud": aud, "iat": now.Unix(), "exp": now.Add(p.AccessTTL).Unix(),
		"email": u.Email, "email_verified": true, "name": u.Name, "groups": u.Groups,
	}
}

// accessToken is a JWT for the edge (its audience is the edge's client
// id, which the edge accepts for bearer tokens by default).
func (p *IdP) accessToken(u User, now time.Time) (string, error) {
	c := p.userClaims(u, now, p.ClientID)
	c["jti"] = randomToken()
	return jwt.Signed(p.signer).Claims(c).Serialize()
}

func (p *IdP) userinfo(w http.ResponseWriter, r *http.Request) {
	v := r.Header.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(401)
		return
	}
	tok, err := jwt.ParseSigned(v[7:], []jose.SignatureAlgorithm{jose.ES256})
	var c jwt.Claims
	if err == nil {
		err = tok.Claims(&p.key.PublicKey, &c)
	}
	if err == nil {
		err = c.Validate(jwt.Expected{Issuer: p.Issuer, AnyAudience: []string{p.ClientID}, Time: time.Now()})
	}
	u, known := findUser(c.Subject)
	if err != nil || !known {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(401)
		return
	}
	writeJSON(w, 200, map[string]any{"sub": u.Sub, "email": u.Email, "email_verified": true, "name": u.Name, "groups": u.Groups})
}

// logout is the end_session_endpoint. The provider keeps no session of
// its own (every login picks a user), so it only sends the browser back.
func (p *IdP) logout(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("post_logout_redirect_uri")
	if to != "" && slices.Contains(p.PostLogoutURIs, to) {
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("Signed out of the demo provider.\n"))
}

// demoToken gives curl a user's access token: the demo's shortcut for
// what a CLI would get with a device or code flow.
func (p *IdP) demoToken(w http.ResponseWriter, r *http.Request) {
	u, ok := findUser(r.URL.Query().Get("user"))
	if !ok {
		http.Error(w, "user=alice or user=bob", http.StatusBadRequest)
		return
	}
	at, err := p.accessToken(u, time.Now())
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(at + "\n"))
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code})
}
