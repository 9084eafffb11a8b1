package demo

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The demo provider has no passwords, but the flow it offers is the real
// one: registered redirect URIs only, PKCE S256 required and checked,
// single-use codes, client authentication, rotated refresh tokens.
func TestIdPFlow(t *testing.T) {
	p, err := StartIdP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.ClientID, p.ClientSecret = "edge", "s3cret"
	p.RedirectURIs = []string{"https://edge.test/cb"}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := "a-verifier-of-enough-length-0123456789abcdef"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {"edge"}, "redirect_uri": {"https://edge.test/cb"}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"st"}, "nonce": {"n1"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}

	for name, mod := range map[string]func(url.Values){
		"unregistered redirect": func(v url.Values) { v.Set("redirect_uri", "https://evil.test/cb") },
		"no PKCE":               func(v url.Values) { v.Del("code_challenge") },
		"plain PKCE":            func(v url.Values) { v.Set("code_challenge_method", "plain") },
		"other client":          func(v url.Values) { v.Set("client_id", "x") },
	} {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		mod(v)
		resp, err := http.Get(p.Issuer + "/authorize?" + v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	code := func(user string) string {
		f := url.Values{"user": {user}}
		for k, vs := range q {
			f[k] = vs
		}
		resp, err := noRedirect.PostForm(p.Issuer+"/authorize", f)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 302 || loc == nil || loc.Query().Get("state") != "st" {
			t.Fatalf("authorize as %s: %d %q", user, resp.StatusCode, resp.Header.Get("Location"))
		}
		return loc.Query().Get("code")
	}
	token := func(form url.Values, secret string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", p.Issuer+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("edge", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	grant := func(c, v string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {v}, "redirect_uri": {"https://edge.test/cb"}}
	}
	if st, _ := token(grant(code("alice"), "wrong-verifier"), "s3cret"); st != 400 {
		t.Errorf("wrong PKCE verifier: %d", st)
	}
	if st, _ := token(grant(code("alice"), verifier), "bad"); st != 401 {
		t.Errorf("wrong client secret: %d", st)
	}
	c := code("alice")
	st, out := token(grant(c, verifier), "s3cret")
	if st != 200 || out["id_token"] == nil || out["refresh_token"] == nil {
		t.Fatalf("code exchange: %d %v", st, out)
	}
	if st, _ := token(grant(c, verifier), "s3cret"); st != 400 {
		t.Errorf("code used twice: %d", st)
	}
	rt := out["refresh_token"].(string)
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	if st, _ := token(refresh, "s3cret"); st != 200 {
		t.Errorf("refresh: %d", st)
	}
	if st, _ := token(refresh, "s3cret"); st != 400 {
		t.Errorf("refresh token used twice: %d", st)
	}
	if resp, err := http.Get(p.Issuer + "/demo/token?user=mallory"); err != nil || resp.StatusCode != 400 {
		t.Errorf("token for an unknown user: %v %v", resp, err)
	}
}
