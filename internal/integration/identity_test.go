package integration

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestIdentityBrowserLogin is acceptance 1: a real headless Chromium asks
// for a page, logs in on the real provider's form (whose ID tokens carry
// only sub), and ends on the page first asked for; the gateway received an
// edge-signed token that verifies against the edge's JWKS and carries the
// email and groups that only userinfo had. Then sign-out ends the session.
func TestIdentityBrowserLogin(t *testing.T) {
	env := startIdentityEnv(t)
	b := startBrowser(t)

	want := env.Edge + "/app/dashboard?tab=keys"
	b.navigate(want)
	b.waitPage("the provider's login form", func(p page) bool { return p.Login && strings.HasPrefix(p.URL, env.OP) })
	var ok bool
	if err := b.eval(fmt.Sprintf(`(() => {
		document.querySelector("#username").value = %q;
		document.querySelector("#password").value = %q;
		document.querySelector("#signin").click();
		return true })()`, opUser, opPassword), &ok); err != nil {
		t.Fatalf("filling the login form: %v", err)
	}
	p := b.waitPage(want, func(p page) bool { return p.URL == want })

	e := echoFromPage(t, p.Text)
	if e.URI != "/app/dashboard?tab=keys" || e.SNI != testenv.SeedHost {
		t.Fatalf("gateway got %s with SNI %q", e.URI, e.SNI)
	}
	c := verifyEdgeToken(t, env, header(e, "Authorization"))
	if c.Subject != "corp/"+opUser || c.IDP != env.OP || c.Email != "alice@example.com" || !slices.Equal(c.Groups, []string{"staff", "dev"}) {
		t.Fatalf("edge token claims = %+v; want sub corp/alice, idp the provider, email and groups from userinfo", c)
	}
	if got := header(e, "X-Forwarded-Email"); got != "alice@example.com" {
		t.Errorf("X-Forwarded-Email = %q", got)
	}
	if ck := header(e, "Cookie"); strings.Contains(ck, "_gatehouse_corp") {
		t.Errorf("the session cookie reached the mesh: %q", ck)
	}

	// Sign-out: the edge clears its cookie and sends the browser to the
	// provider's end_session_endpoint, which comes back to a public page.
	b.navigate(env.Edge + "/oauth2/sign_out")
	b.waitPage("the post-logout page", func(p page) bool { return strings.HasPrefix(p.URL, env.Edge+"/public/signed-out") })
	// The page asks for a login again: the session is over at the edge
	// and at the provider.
	b.navigate(want)
	b.waitPage("the login form after sign-out", func(p page) bool { return p.Login && strings.HasPrefix(p.URL, env.OP) })
}

// get sends a request with headers given as "Name: value" lines.
func get(t testing.TB, c *http.Client, method, url string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

var noRedirect = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestIdentityDecisions is acceptance 2 against the real provider.
func TestIdentityDecisions(t *testing.T) {
	env := startIdentityEnv(t)
	api := env.Edge + "/app/items"

	t.Run("API without identity gets 401, never a redirect", func(t *testing.T) {
		for _, r := range []struct{ method, accept string }{{"GET", "application/json"}, {"POST", "text/html"}, {"GET", "*/*"}} {
			resp := get(t, noRedirect, r.method, api, "Accept: "+r.accept)
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s Accept %s: %d %q", r.method, r.accept, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
		resp := get(t, noRedirect, "GET", api, "Accept: text/html", "X-Requested-With: XMLHttpRequest")
		if resp.StatusCode != 401 {
			t.Errorf("XHR page load: %d, want 401", resp.StatusCode)
		}
	})

	t.Run("provider JWTs", func(t *testing.T) {
		staff := clientCredentials(t, env, "robot-staff", apiAudience)
		resp := get(t, noRedirect, "GET", api, "Authorization: Bearer "+staff)
		if resp.StatusCode != 200 {
			t.Fatalf("valid staff JWT: %d", resp.StatusCode)
		}
		c := verifyEdgeToken(t, env, header(testenv.DecodeEcho(t, resp), "Authorization"))
		if c.Subject != "corp/robot-staff" || c.IDP != env.OP || !slices.Equal(c.Groups, []string{"staff"}) {
			t.Errorf("edge token for the staff robot: %+v", c)
		}
		// A valid token whose groups fail the claim rule: 403.
		// The edge's cookies stay at the edge when a bearer token, not the
		// session, authenticates the request, and on a public path.
		e := rawEcho(t, env, "/app/items", "Authorization: Bearer "+staff, "Cookie: _gatehouse_corp=sealed; app=1; _gatehouse_corp_st_abc=flow")
		if got := header(e, "Cookie"); got != "app=1" {
			t.Errorf("bearer request: the gateway got Cookie %q, want app=1", got)
		}
		e = rawEcho(t, env, "/public/page", "Cookie: _gatehouse_corp_0=sealed; app=1")
		if got := header(e, "Cookie"); got != "app=1" {
			t.Errorf("public path: the gateway got Cookie %q, want app=1", got)
		}
		// A token refused for its audience says which came.
		wrong := get(t, noRedirect, "GET", api, "Authorization: Bearer "+clientCredentials(t, env, "robot-staff", "https://other.test"))
		if w := wrong.Header.Get("WWW-Authenticate"); !strings.Contains(w, `error_description="token audience ['https://other.test'] is not accepted here"`) {
			t.Errorf("wrong audience: WWW-Authenticate %q", w)
		}

		robot := clientCredentials(t, env, "robot", apiAudience)
		if resp := get(t, noRedirect, "GET", api, "Authorization: Bearer "+robot); resp.StatusCode != 403 {
			t.Errorf("valid JWT failing the claim rule: %d, want 403", resp.StatusCode)
		}

		parts := strings.Split(staff, ".")
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
		sig := []byte(parts[2])
		sig[len(sig)/2] ^= 0x01 // still base64url, no longer the signature
		if sig[len(sig)/2] == '-' || sig[len(sig)/2] == '_' {
			sig[len(sig)/2] = 'A'
		}
		bad := parts[0] + "." + parts[1] + "." + string(sig)
		wrongAud := clientCredentials(t, env, "robot-staff", "https://other.test")
		for name, tok := range map[string]string{"alg none": none, "bad signature": bad, "wrong audience": wrongAud, "garbage": "not.a.jwt"} {
			resp := get(t, noRedirect, "GET", api, "Authorization: Bearer "+tok)
			if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("%s: %d %q, want 401 invalid_token", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
		// Expired: a one-second token, accepted while fresh, refused once
		// past exp and the configured one-second skew.
		short := clientCredentials(t, env, "robot-staff", shortAudience)
		testenv.Eventually(t, 10*time.Second, func() bool {
			return get(t, noRedirect, "GET", api, "Authorization: Bearer "+short).StatusCode == 401
		}, "an expired token was still accepted")
	})

	t.Run("session cookie, tampering, sign-out", func(t *testing.T) {
		c, _ := newBrowserClient(t)
		start, _ := http.NewRequest("GET", env.Edge+"/app/home", nil)
		resp := loginHTTP(t, env, c, start, "bob", "builder")
		// bob is not staff: logged in, then refused by the claim rule.
		if resp.StatusCode != 403 || resp.Request.URL.String() != env.Edge+"/app/home" {
			t.Fatalf("bob ended at %s with %d, want 403 on the page asked for", resp.Request.URL, resp.StatusCode)
		}
		c, _ = newBrowserClient(t)
		resp = loginHTTP(t, env, c, start.Clone(start.Context()), opUser, opPassword)
		if resp.StatusCode != 200 {
			t.Fatalf("alice's login ended with %d at %s", resp.StatusCode, resp.Request.URL)
		}
		cookies := sessionCookies(t, env, c)
		if len(cookies) == 0 {
			t.Fatal("no session cookie after login")
		}
		withCookies := func(cks []*http.Cookie) *http.Response {
			req, _ := http.NewRequest("GET", api, nil)
			req.Header.Set("Accept", "application/json")
			for _, ck := range cks {
				req.AddCookie(ck)
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			return resp
		}
		if resp := withCookies(cookies); resp.StatusCode != 200 {
			t.Fatalf("session cookie: %d", resp.StatusCode)
		}
		for i := range []int{0, 1} {
			tampered := make([]*http.Cookie, len(cookies))
			for j, ck := range cookies {
				cp := *ck
				tampered[j] = &cp
			}
			v := []byte(tampered[0].Value)
			pos := []int{len(v) / 2, len(v) - 2}[i]
			v[pos] = map[bool]byte{true: 'A', false: 'B'}[v[pos] != 'A']
			tampered[0].Value = string(v)
			if resp := withCookies(tampered); resp.StatusCode != 401 {
				t.Errorf("tampered cookie (byte %d): %d, want 401 (no session)", pos, resp.StatusCode)
			}
		}

		// Sign-out with the jar's cookies, without following the redirect.
		req, _ := http.NewRequest("GET", env.Edge+"/oauth2/sign_out", nil)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != 302 || !strings.HasPrefix(loc, env.OP) || !strings.Contains(loc, "id_token_hint=") {
			t.Fatalf("sign-out: %d Location %q, want the provider's end_session_endpoint with id_token_hint", resp.StatusCode, loc)
		}
		if left := sessionCookies(t, env, c); len(left) != 0 {
			t.Errorf("session cookies left after sign-out: %v", left)
		}
		if resp := get(t, c, "GET", api, "Accept: application/json"); resp.StatusCode != 401 {
			t.Errorf("after sign-out: %d, want 401", resp.StatusCode)
		}
	})

	t.Run("client identity headers never reach the gateway", func(t *testing.T) {
		staff := clientCredentials(t, env, "robot-staff", apiAudience)
		for _, path := range []string{"/public/page", "/app/items"} {
			e := rawEcho(t, env, path, "Authorization: Bearer "+staff,
				"X-Forwarded-User: admin", "x_forwarded_user: admin", "X-Forwarded.Groups: staff",
				"X-AUTH-REQUEST-EMAIL: admin@example.com", "X-Forwarded-Email: admin@example.com")
			for k, v := range e.Headers {
				n := strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(k))
				if n == "x-forwarded-user" || n == "x-forwarded-groups" || strings.HasPrefix(n, "x-auth-request-") ||
					(n == "x-forwarded-email" && slices.Contains(v, "admin@example.com")) {
					t.Errorf("%s: the gateway got the client's %s: %v", path, k, v)
				}
			}
		}
	})

	t.Run("no open redirect after login", func(t *testing.T) {
		for _, target := range []string{"//evil.example/x", `/\evil.example/x`, "/%2F%2Fevil.example/x", "/%5Cevil.example", "/%2F%5Cevil.example", "/%09/evil.example"} {
			c, visited := newBrowserClient(t)
			first := rawResponse(t, env, target, "Accept: text/html")
			if first.StatusCode != 302 || !strings.HasPrefix(first.Header.Get("Location"), env.OP) {
				t.Errorf("%s: %d Location %q, want a login redirect", target, first.StatusCode, first.Header.Get("Location"))
				continue
			}
			c.Jar.SetCookies(mustURL(env.Edge), first.Cookies())
			start, _ := http.NewRequest("GET", first.Header.Get("Location"), nil)
			resp := loginHTTP(t, env, c, start, opUser, opPassword)
			resp.Body.Close()
			// The URL right after the callback is where the edge sent the browser.
			var after string
			for i, u := range *visited {
				if u.Path == "/oauth2/callback" && i+1 < len(*visited) {
					after = (*visited)[i+1].String()
				}
			}
			if after != env.Edge+"/" {
				t.Errorf("%s: after the callback the browser went to %q, want %s/", target, after, env.Edge)
			}
		}
	})
}

// rawResponse sends a request with exactly these path bytes and headers (net/http
// would clean or refuse some) and returns the response.
func rawResponse(t testing.TB, env *identityEnv, path string, headers ...string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", testenv.LocalAddr(env.EdgePort))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n%s\r\n\r\n", path, env.EdgePort, strings.Join(headers, "\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func rawEcho(t testing.TB, env *identityEnv, path string, headers ...string) testenv.Echo {
	t.Helper()
	resp := rawResponse(t, env, path, headers...)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return testenv.DecodeEcho(t, resp)
}
