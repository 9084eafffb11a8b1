package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/config"
)

// fakeOP is a minimal OpenID provider for unit tests: its ID tokens carry
// only sub (and nonce); email and groups come from userinfo, as with Okta's
// defaults. It checks PKCE S256.
type fakeOP struct {
	t      testing.TB
	srv    *httptest.Server
	key    *ecdsa.PrivateKey
	kid    string
	ttl    time.Duration // access token lifetime
	mu     sync.Mutex
	codes  map[string]authReq
	tokens map[string]bool // issued access tokens
	sub    string
	sid    string // when set, ID tokens carry it as 'sid'

	// rotate: each refresh token is good once, as with Ory Hydra or Okta;
	// redeeming one twice revokes the grant (every refresh token of it).
	rotate    bool
	live      map[string]bool // refresh tokens not redeemed yet
	spent     map[string]bool
	revoked   bool
	refreshes int // refresh_token grants asked for
	// hold, when set, keeps refresh_token grants waiting until it closes;
	// held gets a value as each one starts waiting.
	hold chan struct{}
	held chan struct{}
}

// refreshCount is how many refresh_token grants were asked for.
func (op *fakeOP) refreshCount() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.refreshes
}

// newRefreshToken issues a refresh token (mu held).
func (op *fakeOP) newRefreshToken() string {
	if !op.rotate {
		return "rt-" + op.sub
	}
	rt := "rt-" + randomString()
	op.live[rt] = true
	return rt
}

// redeem checks a refresh token (mu held).
func (op *fakeOP) redeem(rt string) bool {
	if !op.rotate {
		return rt == "rt-"+op.sub
	}
	if op.live[rt] && !op.revoked {
		delete(op.live, rt)
		op.spent[rt] = true
		return true
	}
	if op.spent[rt] {
		op.revoked = true // reuse: taken for theft
		clear(op.live)
	}
	return false
}

type authReq struct{ challenge, nonce, redirect string }

func newFakeOP(t testing.TB) *fakeOP {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	op := &fakeOP{t: t, key: key, kid: "k1", ttl: time.Hour, codes: map[string]authReq{}, tokens: map[string]bool{}, sub: "alice",
		live: map[string]bool{}, spent: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("/jwks", op.jwks)
	mux.HandleFunc("/authorize", op.authorize)
	mux.HandleFunc("/token", op.token)
	mux.HandleFunc("/userinfo", op.userinfo)
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	return op
}

func (op *fakeOP) issuer() string { return op.srv.URL }

func (op *fakeOP) discovery(w http.ResponseWriter, r *http.Request) {
	u := op.issuer()
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token",
		"userinfo_endpoint": u + "/userinfo", "jwks_uri": u + "/jwks", "end_session_endpoint": u + "/logout",
		"id_token_signing_alg_values_supported": []string{"ES256"},
	})
}

func (op *fakeOP) jwks(w http.ResponseWriter, r *http.Request) {
	_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: op.kid, Algorithm: "ES256", Use: "sig"}}})
}

func (op *fakeOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" {
		http.Error(w, "missing pkce/state/nonce", 400)
		return
	}
	code := randomString()
	op.mu.Lock()
	op.codes[code] = authReq{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri")}
	op.mu.Unlock()
	http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
}

func (op *fakeOP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	var nonce string
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		op.mu.Lock()
		ar, ok := op.codes[r.PostForm.Get("code")]
		delete(op.codes, r.PostForm.Get("code"))
		op.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != ar.challenge {
			http.Error(w, `{"error":"invalid_grant"}`, 400)
			return
		}
		nonce = ar.nonce
	case "refresh_token":
		op.mu.Lock()
		op.refreshes++
		hold, held := op.hold, op.held
		op.mu.Unlock()
		if hold != nil {
			held <- struct{}{}
			<-hold
		}
		op.mu.Lock()
		ok := op.redeem(r.PostForm.Get("refresh_token"))
		op.mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
	default:
		http.Error(w, `{"error":"unsupported_grant_type"}`, 400)
		return
	}
	cid, _, _ := r.BasicAuth()
	claims := map[string]any{"iss": op.issuer(), "sub": op.sub, "aud": cid, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if op.sid != "" {
		claims["sid"] = op.sid
	}
	at := randomString()
	op.mu.Lock()
	op.tokens[at] = true
	rt := op.newRefreshToken()
	op.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": at, "token_type": "Bearer", "expires_in": int(op.ttl / time.Second),
		"refresh_token": rt, "id_token": op.sign(claims, jose.ES256, op.key, op.kid),
	})
}

func (op *fakeOP) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearerTokenStd(r.Header.Get("Authorization"))
	op.mu.Lock()
	ok := op.tokens[tok]
	op.mu.Unlock()
	if !ok {
		http.Error(w, "no", 401)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"sub": op.sub, "email": op.sub + "@example.com", "groups": []string{"staff", "dev"}})
}

func bearerTokenStd(v string) (string, bool) {
	if len(v) > 7 {
		return v[7:], true
	}
	return "", false
}

// sign makes a JWT with any algorithm and key (for forged tokens too).
func (op *fakeOP) sign(claims map[string]any, alg jose.SignatureAlgorithm, key any, kid string) string {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		op.t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		op.t.Fatal(err)
	}
	return tok
}

// accessJWT is a bearer JWT as the provider would issue it.
func (op *fakeOP) accessJWT(mod func(map[string]any)) string {
	c := map[string]any{"iss": op.issuer(), "sub": "svc", "aud": "edge", "iat": time.Now().Unix(),
		"exp": time.Now().Add(time.Hour).Unix(), "groups": []string{"staff"}, "email": "svc@example.com"}
	if mod != nil {
		mod(c)
	}
	return op.sign(c, jose.ES256, op.key, op.kid)
}

// newTestProvider builds a discovered Provider against op.
func newTestProvider(t testing.TB, op *fakeOP, mod func(*config.OIDC)) *Provider {
	dir := t.TempDir()
	sec := filepath.Join(dir, "cookie")
	if err := os.WriteFile(sec, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cs := filepath.Join(dir, "client")
	_ = os.WriteFile(cs, []byte("s3cret"), 0o600)
	c := &config.OIDC{
		Name: "corp", Issuer: op.issuer(), ClientID: "edge",
		ClientSecret:  config.SecretRef{Kind: "file", Ref: cs},
		CookieSecrets: []config.SecretRef{{Kind: "file", Ref: sec}},
		RedirectURI:   "https://app.example.com/oauth2/callback",
		Scopes:        []string{"openid", "email", "groups"},
	}
	if mod != nil {
		mod(c)
	}
	p, err := NewProvider(c, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Discover(t.Context()); err != nil {
		t.Fatal(err)
	}
	return p
}
