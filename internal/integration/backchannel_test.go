package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// bcLogoutPath is the edge's back-channel logout endpoint in these tests.
const bcLogoutPath = "/oauth2/backchannel_logout"

// backchannelEnv is the identity setup with back-channel logout: the edge
// answers bcLogoutPath and the provider knows it as the client's
// backchannel_logout_uri (so its ID tokens carry a sid), at 127.0.0.1:
// node resolves localhost to ::1 first, where the edge does not listen.
func backchannelEnv(t *testing.T) *identityEnv {
	port := testenv.FreePort(t)
	return startIdentityEnvWith(t, &identityEnv{
		EdgePort:  port,
		OIDCLines: "    backchannel-logout-path " + bcLogoutPath,
		OPEnv:     []string{fmt.Sprintf("OP_BACKCHANNEL_LOGOUT_URI=http://127.0.0.1:%d%s", port, bcLogoutPath)},
	})
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
	xsrfInput  = regexp.MustCompile(`name="xsrf" value="([^"]+)"`)
)

// logoutAtProvider ends the user's session at the provider itself, as a
// user signing out of another application does: c (holding the provider's
// session cookie) confirms the provider's end_session page without
// JavaScript. The provider sends its back-channel logouts before it
// answers.
func logoutAtProvider(t *testing.T, op string, c *http.Client) {
	t.Helper()
	resp, err := c.Get(op + "/session/end?client_id=" + edgeClientID)
	if err != nil {
		t.Fatalf("end_session: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action, xsrf := formAction.FindSubmatch(body), xsrfInput.FindSubmatch(body)
	if action == nil || xsrf == nil {
		t.Fatalf("end_session page (%d) has no logout form:\n%s", resp.StatusCode, body)
	}
	target, err := resp.Request.URL.Parse(string(action[1]))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = c.PostForm(target.String(), url.Values{"xsrf": {string(xsrf[1])}, "logout": {"yes"}})
	if err != nil {
		t.Fatalf("end_session confirm: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("end_session confirm ended with %d at %s", resp.StatusCode, resp.Request.URL)
	}
}

// backchannelCounts is the provider's record of its back-channel logouts.
type backchannelCounts struct {
	OK     int      `json:"ok"`
	Failed int      `json:"failed"`
	Errors []string `json:"errors"`
}

func providerBackchannel(t testing.TB, op string) backchannelCounts {
	t.Helper()
	resp, err := http.Get(op + "/test/backchannel")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var n backchannelCounts
	if err := json.NewDecoder(resp.Body).Decode(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// apiWithCookies asks for an API path with exactly these cookies.
func apiWithCookies(t testing.TB, edge string, cookies []*http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest("GET", edge+"/app/items", nil)
	req.Header.Set("Accept", "application/json")
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestBackchannelLogoutFromProvider: node's oidc-provider, told of the
// edge's endpoint, ends a session at the provider; its logout token
// reaches the edge, which answers 200 and from then on refuses the
// session's cookie (copied before the logout). Another user's session
// goes on, a new login works, and a reload keeps the logout.
func TestBackchannelLogoutFromProvider(t *testing.T) {
	env := backchannelEnv(t)
	start := func() *http.Request { r, _ := http.NewRequest("GET", env.Edge+"/app/home", nil); return r }

	alice, _ := newBrowserClient(t)
	if resp := loginHTTP(t, env, alice, start(), opUser, opPassword); resp.StatusCode != 200 {
		t.Fatalf("alice's login ended with %d at %s", resp.StatusCode, resp.Request.URL)
	}
	copied := sessionCookies(t, env, alice)
	bob, _ := newBrowserClient(t)
	loginHTTP(t, env, bob, start(), "bob", "builder").Body.Close()
	bobCookies := sessionCookies(t, env, bob)
	if len(copied) == 0 || len(bobCookies) == 0 {
		t.Fatal("no session cookies after the logins")
	}
	if got := apiWithCookies(t, env.Edge, copied); got != 200 {
		t.Fatalf("alice's session before the logout: %d", got)
	}
	if got := apiWithCookies(t, env.Edge, bobCookies); got != 403 { // bob is not staff: known, then refused
		t.Fatalf("bob's session before the logout: %d, want 403", got)
	}

	logoutAtProvider(t, env.OP, alice)
	if n := providerBackchannel(t, env.OP); n.OK != 1 || n.Failed != 0 {
		t.Fatalf("the provider's back-channel logouts: %+v, want one answered 200", n)
	}
	// The provider waited for the edge's answer: the cookie is refused now.
	if got := apiWithCookies(t, env.Edge, copied); got != 401 {
		t.Errorf("alice's copied cookie after the provider's logout: %d, want 401", got)
	}
	if got := apiWithCookies(t, env.Edge, bobCookies); got != 403 {
		t.Errorf("bob's session after alice's logout: %d, want 403 (still known)", got)
	}
	// A page load with the ended session is sent to log in again, and
	// the new login works.
	again, _ := newBrowserClient(t)
	if resp := loginHTTP(t, env, again, start(), opUser, opPassword); resp.StatusCode != 200 {
		t.Fatalf("login after the logout ended with %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if got := apiWithCookies(t, env.Edge, sessionCookies(t, env, again)); got != 200 {
		t.Errorf("the new session: %d", got)
	}
	if got := apiWithCookies(t, env.Edge, copied); got != 401 {
		t.Errorf("the old cookie after a new login: %d, want 401", got)
	}

	// A reload builds the section anew; what the logout ended stays ended.
	cfg, err := os.ReadFile(env.Gatehouse.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	env.Gatehouse.WriteConfig(strings.Replace(string(cfg), "frontend web\n", "frontend web\n    http-request set-header X-Config reloaded\n", 1))
	if err := env.Gatehouse.Reload(); err != nil {
		t.Fatal(err)
	}
	fresh := sessionCookies(t, env, again)
	testenv.Eventually(t, 20*time.Second, func() bool {
		req, _ := http.NewRequest("GET", env.Edge+"/app/items", nil)
		req.Header.Set("Accept", "application/json")
		for _, ck := range fresh {
			req.AddCookie(ck)
		}
		resp, err := noRedirect.Do(req)
		if err != nil || resp.StatusCode != 200 {
			if resp != nil {
				resp.Body.Close()
			}
			return false
		}
		return header(testenv.DecodeEcho(t, resp), "X-Config") == "reloaded"
	}, "the reload never applied")
	if got := apiWithCookies(t, env.Edge, copied); got != 401 {
		t.Errorf("the logged-out cookie after a reload: %d, want 401", got)
	}

	// A forged request to the endpoint is refused with the spec's error.
	resp, err := http.Post(env.Edge+bcLogoutPath, "application/x-www-form-urlencoded", strings.NewReader("logout_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ."))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(string(b), `"error":"invalid_request"`) {
		t.Errorf("forged logout: %d %q %s", resp.StatusCode, resp.Header.Get("Cache-Control"), b)
	}
	if got := apiWithCookies(t, env.Edge, bobCookies); got != 403 {
		t.Errorf("bob's session after a forged logout: %d", got)
	}
}
