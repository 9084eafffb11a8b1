package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// opDir holds node's oidc-provider and the server script; scripts/test.sh
// runs `npm ci` there.
const opDir = "testdata/oidc-provider"

// The provider's fixed test users and clients (see server.mjs).
const (
	opUser, opPassword = "alice", "wonderland"
	edgeClientID       = "edge"
	edgeClientSecret   = "edge-secret"
	apiAudience        = "https://api.test"
	shortAudience      = "https://short.test" // tokens live one second
)

// identityEnv is one running setup: the provider, the gateway (nginx, as
// Istio's) and Gatehouse in front of it with an oidc and an identity-token
// section.
type identityEnv struct {
	OP        string // provider issuer, http://127.0.0.1:PORT
	Edge      string // Gatehouse, http://localhost:PORT (another cookie host than the provider)
	EdgePort  int
	Gateway   *testenv.Gateway
	Gatehouse *testenv.Gatehouse
	// Upstream, when set, replaces the gateway with a plain-HTTP server
	// (benchmarks: measure the edge, not nginx and TLS).
	Upstream string
	// AccessTTL, when set, is the lifetime of the provider's access tokens
	// (default an hour); OIDCLines are added to the oidc section.
	AccessTTL time.Duration
	OIDCLines string
	// GlobalLines are added to the global section (a stats socket);
	// BindLines to the frontend after its bind (another bind).
	GlobalLines string
	BindLines   string
	// OPEnv are more settings of the provider (server.mjs), "NAME=value".
	OPEnv []string
}

// startOP starts oidc-provider on a free port with the edge's redirect URIs
// and the extra settings env ("NAME=value", see server.mjs).
func startOP(t testing.TB, edge string, accessTTL time.Duration, env ...string) string {
	t.Helper()
	node := testenv.RequireBinary(t, "node")
	if _, err := os.Stat(filepath.Join(opDir, "node_modules", "oidc-provider")); err != nil {
		t.Fatalf("oidc-provider is not installed in %s: run scripts/test.sh (it runs npm ci there)", opDir)
	}
	port := testenv.FreePort(t)
	keyFile := filepath.Join(t.TempDir(), "op-signing.pem")
	writeOPKey(t, keyFile)
	// env(1) passes the settings: testenv.StartProcess inherits our
	// environment and takes no extra variables.
	args := append([]string{
		fmt.Sprintf("OP_PORT=%d", port), "OP_SIGNING_KEY=" + keyFile,
		"OP_CLIENT_ID=" + edgeClientID, "OP_CLIENT_SECRET=" + edgeClientSecret,
		"OP_REDIRECT_URIS=" + edge + "/oauth2/callback",
		"OP_POST_LOGOUT_URIS=" + edge + "/public/signed-out",
		fmt.Sprintf("OP_ACCESS_TTL=%d", int(accessTTL/time.Second)),
	}, env...)
	testenv.StartProcess(t, "oidc-provider", "/usr/bin/env", append(args, node, filepath.Join(opDir, "server.mjs"))...)
	testenv.WaitTCP(t, testenv.LocalAddr(port), 60*time.Second)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// writeOPKey writes a fresh RSA signing key for the provider, so its
// start does not depend on node generating one under load.
func writeOPKey(t testing.TB, path string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// identityConfig is the frontend, on plain HTTP so a browser needs
// no certificate trust, re-encrypting to the gateway.
func identityConfig(env *identityEnv, dir string) string {
	return fmt.Sprintf(`global
    log stdout format raw local0
%[11]s

defaults
    mode http
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s

oidc corp
    issuer %[1]s
    client-id %[2]s
    client-secret file:%[3]s/client-secret
    scopes openid email groups
    cookie-secret file:%[3]s/cookie-secret
    redirect-uri %[4]s/oauth2/callback
    post-logout-uri %[4]s/public/signed-out
    bearer-audience %[2]s %[5]s %[6]s
    clock-skew 1s
%[10]s

identity-token mesh
    issuer %[4]s
    audience %[7]s
    signing-key file:%[3]s/mesh.pem
    lifetime 5m
    claims email groups

frontend web
    bind 127.0.0.1:%[8]d
%[12]s
    acl public path_beg /public
    acl staff oidc_claim(groups) -m str staff
    http-request use-service jwks:mesh if { path /.well-known/jwks.json }
    http-request oidc-auth corp unless public
    http-request deny deny_status 403 unless public || staff
    http-request set-header X-Forwarded-Email %%[oidc_claim(email)] unless public
    http-request set-identity-token mesh
    default_backend gateway

backend gateway
    http-request set-header Host %[7]s
    %[9]s
`, env.OP, edgeClientID, dir, env.Edge, apiAudience, shortAudience, testenv.SeedHost, env.EdgePort, serverLine(env), env.OIDCLines, env.GlobalLines, env.BindLines)
}

func serverLine(env *identityEnv) string {
	if env.Upstream != "" {
		return "server up " + env.Upstream
	}
	return fmt.Sprintf("server gw1 127.0.0.1:%d ssl sni str(%s) verify required ca-file %s", env.Gateway.TLSPort, testenv.SeedHost, env.Gateway.CAFile)
}

// startIdentityEnv starts the provider, the gateway and Gatehouse, and
// waits until Gatehouse has discovered the provider.
func startIdentityEnv(t testing.TB) *identityEnv { return startIdentityEnvWith(t, &identityEnv{}) }

// startIdentityEnvUpstream is startIdentityEnv with a plain-HTTP upstream
// instead of the gateway when upstream is not empty.
func startIdentityEnvUpstream(t testing.TB, upstream string) *identityEnv {
	return startIdentityEnvWith(t, &identityEnv{Upstream: upstream})
}

// startIdentityEnvWith starts the setup env describes (Upstream, AccessTTL,
// OIDCLines, OPEnv, EdgePort when the test needs it first) and fills in the
// rest of it.
func startIdentityEnvWith(t testing.TB, env *identityEnv) *identityEnv {
	t.Helper()
	if env.EdgePort == 0 {
		env.EdgePort = testenv.FreePort(t)
	}
	env.Edge = fmt.Sprintf("http://localhost:%d", env.EdgePort)
	if env.Upstream == "" {
		env.Gateway = testenv.StartGateway(t, testenv.GatewayOptions{})
	}
	env.OP = startOP(t, env.Edge, env.AccessTTL, env.OPEnv...)

	dir := t.TempDir()
	writeIdentitySecrets(t, dir)
	env.Gatehouse = testenv.StartGatehouse(t, identityConfig(env, dir))
	waitDiscovered(t, env.Edge, env.OP)
	return env
}

// writeIdentitySecrets writes the files identityConfig reads into dir: the
// client secret, a cookie secret and the mesh token's signing key.
func writeIdentitySecrets(t testing.TB, dir string) {
	t.Helper()
	writeSecret(t, filepath.Join(dir, "client-secret"), []byte(edgeClientSecret))
	cookieKey := make([]byte, 32)
	if _, err := rand.Read(cookieKey); err != nil {
		t.Fatal(err)
	}
	writeSecret(t, filepath.Join(dir, "cookie-secret"), []byte(fmt.Sprintf("%x", cookieKey)))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeSecret(t, filepath.Join(dir, "mesh.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// waitDiscovered waits until the Gatehouse at edge has discovered the
// provider op: discovery runs in the background, and until it succeeds a
// page load gets 503 (API calls get 401 either way). Poll until a page
// load is sent to the provider.
func waitDiscovered(t testing.TB, edge, op string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() bool {
		req, _ := http.NewRequest("GET", edge+"/app/ready", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := noRedirect.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusFound && strings.HasPrefix(resp.Header.Get("Location"), op)
	}, "gatehouse at %s never discovered the provider at %s", edge, op)
}

func writeSecret(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// newBrowserClient is an HTTP client with a cookie jar that follows
// redirects and records every URL it visits.
func newBrowserClient(t testing.TB) (*http.Client, *[]*url.URL) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var visited []*url.URL
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			visited = append(visited, req.URL)
			if len(via) > 20 {
				return fmt.Errorf("too many redirects")
			}
			return nil
		}}
	return c, &visited
}

var loginAction = regexp.MustCompile(`action="(/interaction/[^"/]+/login)"`)

// loginHTTP completes a login the way a browser without JavaScript does:
// start at start (a page load), fill the provider's form, follow the
// redirects back. It returns the final response (its body unread).
func loginHTTP(t testing.TB, env *identityEnv, c *http.Client, start *http.Request, user, password string) *http.Response {
	t.Helper()
	start.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := c.Do(start)
	if err != nil {
		t.Fatalf("login start: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := loginAction.FindSubmatch(body)
	if m == nil || !strings.HasPrefix(resp.Request.URL.String(), env.OP) {
		t.Fatalf("login start ended at %s (%d), not on the provider's form:\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	form := url.Values{"username": {user}, "password": {password}}
	resp, err = c.PostForm(env.OP+string(m[1]), form)
	if err != nil {
		t.Fatalf("login form: %v", err)
	}
	return resp
}

// sessionCookies returns the edge's session cookies in c's jar.
func sessionCookies(t testing.TB, env *identityEnv, c *http.Client) []*http.Cookie {
	u, _ := url.Parse(env.Edge)
	var out []*http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if strings.HasPrefix(ck.Name, "_gatehouse_corp") && !strings.Contains(ck.Name, "_st_") {
			out = append(out, ck)
		}
	}
	return out
}

// clientCredentials gets a JWT access token from the provider for resource.
func clientCredentials(t testing.TB, env *identityEnv, client, resource string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", env.OP+"/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "scope": {"api"}, "resource": {resource},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, "robot-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("client_credentials for %s: status %d, %v %s", client, resp.StatusCode, err, tok.Error)
	}
	return tok.AccessToken
}

// edgeClaims are the claims of the edge's identity token that tests check.
type edgeClaims struct {
	jwt.Claims
	IDP    string   `json:"idp"`
	Email  string   `json:"email"`
	Groups []string `json:"groups"`
}

// verifyEdgeToken checks an "Authorization: Bearer" value the gateway
// received against the JWKS Gatehouse publishes (use-service jwks:mesh), as
// Istio's RequestAuthentication would.
func verifyEdgeToken(t testing.TB, env *identityEnv, authz string) edgeClaims {
	t.Helper()
	raw, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		t.Fatalf("gateway got Authorization %q, want an edge-signed Bearer token", authz)
	}
	resp, err := http.Get(env.Edge + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("edge JWKS: status %d, %v, %d keys", resp.StatusCode, err, len(set.Keys))
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatalf("edge token does not parse: %v", err)
	}
	var c edgeClaims
	if err := tok.Claims(&set, &c); err != nil {
		t.Fatalf("edge token does not verify against the edge's JWKS: %v", err)
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: env.Edge, AnyAudience: jwt.Audience{testenv.SeedHost}, Time: time.Now()}, 0); err != nil {
		t.Fatalf("edge token claims: %v (%+v)", err, c)
	}
	if c.ID == "" || c.IssuedAt == nil || c.Expiry == nil {
		t.Fatalf("edge token lacks jti/iat/exp: %+v", c)
	}
	return c
}

// header returns the first value of a header in an echo, by any case.
func header(e testenv.Echo, name string) string {
	for k, v := range e.Headers {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
