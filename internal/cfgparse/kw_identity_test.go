package cfgparse

import (
	"bytes"
	"strings"
	"testing"
)

// identityBase is a valid configuration the error cases below change one
// line of, so each case shows exactly the message its mistake produces.
const identityBase = `oidc corp
    issuer https://idp.example.com
    client-id edge
    client-secret env:OIDC_SECRET
    cookie-secret file:/run/secrets/cookie
    redirect-uri https://app.example.com/oauth2/callback

identity-token mesh
    issuer https://edge.example.com
    audience app.example.com
    signing-key file:/run/secrets/mesh.pem

frontend web
    mode http
    bind :80
    timeout client 5s
    http-request use-service jwks:mesh if { path /.well-known/jwks.json }
    http-request oidc-auth corp
    http-request set-identity-token mesh
`

func TestIdentitySectionErrors(t *testing.T) {
	cases := []struct {
		name, from, to, want string
	}{
		{"inline client secret", "client-secret env:OIDC_SECRET", "client-secret hunter2",
			"parsing [gh.cfg:4] : 'client-secret' : secrets must be given as 'file:<path>' or 'env:<NAME>'; an inline secret is refused (it would sit in the configuration file)."},
		{"inline cookie secret", "cookie-secret file:/run/secrets/cookie", "cookie-secret 0123456789abcdef0123456789abcdef",
			"parsing [gh.cfg:5] : 'cookie-secret' : secrets must be given as 'file:<path>' or 'env:<NAME>'; an inline secret is refused (it would sit in the configuration file).\n" +
				"parsing [gh.cfg:1] : oidc 'corp' lacks required 'cookie-secret'."},
		{"unknown keyword", "client-id edge", "clientid edge",
			"parsing [gh.cfg:3] : unknown keyword 'clientid' in 'oidc' section; did you mean 'client-id' maybe ?\n" +
				"parsing [gh.cfg:1] : oidc 'corp' lacks required 'client-id'."},
		{"missing issuer", "    issuer https://idp.example.com\n", "",
			"parsing [gh.cfg:1] : oidc 'corp' lacks required 'issuer'."},
		{"unknown oidc section", "oidc-auth corp", "oidc-auth crop",
			"parsing [gh.cfg:18] : Proxy 'web': 'http-request oidc-auth' refers to unknown oidc section 'crop'; did you mean 'corp' maybe ?"},
		{"unknown jwks section", "jwks:mesh", "jwks:other",
			"parsing [gh.cfg:17] : Proxy 'web': 'http-request use-service' refers to unknown identity-token section 'other' (declared: 'mesh')."},
		{"copied claim the edge sets", "audience app.example.com", "audience app.example.com\n    claims email idp",
			"parsing [gh.cfg:11] : 'claims' : claim 'idp' is set by the edge and cannot be copied."},
		{"back-channel logout on the callback", "client-id edge", "client-id edge\n    backchannel-logout-path /oauth2/callback",
			"parsing [gh.cfg:1] : oidc 'corp': 'backchannel-logout-path /oauth2/callback' is also the callback or the sign-out path."},
		{"back-channel logout on the sign-out", "client-id edge", "client-id edge\n    backchannel-logout-path /oauth2/sign_out",
			"parsing [gh.cfg:1] : oidc 'corp': 'backchannel-logout-path /oauth2/sign_out' is also the callback or the sign-out path."},
		{"back-channel logout path not a path", "client-id edge", "client-id edge\n    backchannel-logout-path logout",
			"parsing [gh.cfg:4] : 'backchannel-logout-path' : 'logout' is not an absolute path."},
		{"alg none", "client-id edge", "client-id edge\n    algorithms none",
			"parsing [gh.cfg:4] : 'algorithms' : algorithm 'none' can never be accepted for bearer tokens (asymmetric JWS algorithms only)."},
		{"duplicate section", "identity-token mesh", "oidc corp",
			"parsing [gh.cfg:8] : oidc 'corp' has the same name as oidc 'corp' declared at gh.cfg:1.\n" +
				"parsing [gh.cfg:10] : unknown keyword 'audience' in 'oidc' section (it belongs in the 'identity-token' section)\n" +
				"parsing [gh.cfg:11] : unknown keyword 'signing-key' in 'oidc' section (it belongs in the 'identity-token' section)\n" +
				"parsing [gh.cfg:8] : oidc 'corp' lacks required 'client-id', 'redirect-uri', 'cookie-secret'.\n" +
				"parsing [gh.cfg:17] : Proxy 'web': 'http-request use-service' refers to unknown identity-token section 'mesh' (no 'identity-token' section is declared).\n" +
				"parsing [gh.cfg:19] : Proxy 'web': 'http-request set-identity-token' refers to unknown identity-token section 'mesh' (no 'identity-token' section is declared)."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(identityBase, c.from, c.to, 1)
			if src == identityBase {
				t.Fatalf("case does not change the base config")
			}
			_, err := Parse("gh.cfg", []byte(src), Options{LookupEnv: testEnv})
			if err == nil {
				t.Fatalf("no error, want\n%s", c.want)
			}
			if err.Error() != c.want {
				t.Errorf("error =\n%v\nwant\n%s", err, c.want)
			}
		})
	}
}

func TestIdentityBaseParses(t *testing.T) {
	cfg, err := Parse("gh.cfg", []byte(identityBase), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Identity.FindOIDC("corp")
	if o == nil || o.ClientSecret.String() != "env:OIDC_SECRET" || len(o.CookieSecrets) != 1 || o.Pos.Line != 1 {
		t.Fatalf("oidc corp = %+v", o)
	}
	if tok := cfg.Identity.FindToken("mesh"); tok == nil || tok.SigningKeys[0].Ref != "/run/secrets/mesh.pem" {
		t.Fatalf("identity-token mesh = %+v", tok)
	}
}

func TestWriteReferenceCoversIdentitySections(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReference(&buf); err != nil {
		t.Fatal(err)
	}
	ref := buf.String()
	for _, want := range []string{"| oidc |", "| identity-token |", "## 'oidc' section keywords", "## 'identity-token' section keywords"} {
		if !strings.Contains(ref, want) {
			t.Errorf("reference lacks %q", want)
		}
	}
	for _, kws := range [][]keyword{oidcKeywords(), identityTokenKeywords()} {
		for _, k := range kws {
			if !strings.Contains(ref, "| "+k.name+" | `") {
				t.Errorf("reference lacks a row for %q", k.name)
			}
		}
	}
}

func TestBackchannelLogoutPathParses(t *testing.T) {
	src := strings.Replace(identityBase, "client-id edge", "client-id edge\n    backchannel-logout-path /oauth2/backchannel_logout", 1)
	cfg, err := Parse("gh.cfg", []byte(src), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Identity.FindOIDC("corp").BackchannelLogoutPath; got != "/oauth2/backchannel_logout" {
		t.Fatalf("BackchannelLogoutPath = %q", got)
	}
	src = strings.Replace(src, "client-id edge", "client-id edge\n    backchannel-logout-path /again", 1)
	if _, err := Parse("gh.cfg", []byte(src), Options{LookupEnv: testEnv}); err == nil || !strings.Contains(err.Error(), "'backchannel-logout-path' is already set") {
		t.Fatalf("a second line: %v", err)
	}
}
