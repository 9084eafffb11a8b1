package istiogen

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/cfgparse"
)

func planFor(t *testing.T, proxies string) *Plan {
	t.Helper()
	src := `defaults
    mode http
    timeout client 5s
    timeout connect 5s
    timeout server 5s

oidc corp
    issuer https://idp.example.com
    client-id edge
    cookie-secret env:COOKIE_SECRET
    redirect-uri https://app.example.com/oauth2/callback

identity-token mesh
    issuer https://edge.example.com
    audience app.example.com
    signing-key file:/run/secrets/mesh.pem
    claims email groups
` + proxies
	cfg, err := cfgparse.Parse("t.cfg", []byte(src), cfgparse.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	plans := Generate(cfg)
	if len(plans) != 1 {
		t.Fatalf("%d plans", len(plans))
	}
	return plans[0]
}

func rulesJSON(ns []Noted) string {
	rs := make([]Rule, len(ns))
	for i, n := range ns {
		rs[i] = n.Rule
	}
	if len(rs) == 0 {
		return ""
	}
	b, _ := json.Marshal(rs)
	return string(b)
}

// TestTranslation: which requests the mesh lets through without a token,
// which claim rules it enforces, and which it cannot, from the edge's
// rules and conditions.
func TestTranslation(t *testing.T) {
	const jwks = "    http-request use-service jwks:mesh if { path /.well-known/jwks.json }\n"
	cases := []struct {
		name, rules         string
		public, deny        string
		noEquiv, gaps, warn string // substrings ("" : none expected)
		jwks                string
	}{
		{name: "login everywhere", rules: jwks + "    http-request oidc-auth corp\n",
			jwks: "http://edge.example.com:443/.well-known/jwks.json"}, // bind :443 without ssl
		{name: "login on a path", rules: jwks + "    http-request oidc-auth corp if { path_beg /app }\n",
			public: `[{"to":[{"operation":{"notPaths":["/app*"]}}]}]`},
		{name: "token on a host", rules: jwks + "    http-request oidc-auth corp\n    http-request set-identity-token mesh if { hdr(host) -i app.example.com }\n",
			public: `[{"to":[{"operation":{"notHosts":["app.example.com"]}}]}]`},
		{name: "unless, two alternatives", rules: jwks + "    http-request oidc-auth corp unless METH_OPTIONS\n    http-request deny unless { oidc_claim(groups) staff } || METH_OPTIONS\n",
			public: `[{"to":[{"operation":{"methods":["OPTIONS"]}}]}]`,
			deny:   `[{"to":[{"operation":{"notMethods":["OPTIONS"]}}],"when":[{"key":"request.auth.claims[groups]","notValues":["staff"]}]}]`},
		{name: "or becomes two rules", rules: jwks + "    http-request oidc-auth corp\n    http-request deny if { path_beg /a } !{ oidc_claim(groups) a } || { path_end .pdf } { oidc_claim(email) -m end @partner.example }\n",
			deny: `[{"to":[{"operation":{"paths":["/a*"]}}],"when":[{"key":"request.auth.claims[groups]","notValues":["a"]}]},{"to":[{"operation":{"paths":["*.pdf"]}}],"when":[{"key":"request.auth.claims[email]","values":["*@partner.example"]}]}]`},
		{name: "case-insensitive claim", rules: jwks + "    http-request oidc-auth corp\n    http-request deny if { oidc_claim(groups) -i staff }\n",
			noEquiv: "'-i' on 'oidc_claim(groups)'"},
		{name: "allow rule", rules: jwks + "    http-request oidc-auth corp\n    http-request allow if { oidc_claim(groups) staff }\n",
			noEquiv: "only deny rules become mesh rules"},
		{name: "two positive path tests", rules: jwks + "    http-request oidc-auth corp\n    http-request deny if { path_beg /a } { path_end .x } { oidc_claim(groups) x }\n",
			noEquiv: "two path tests must both hold"},
		{name: "public by regex", rules: jwks + "    http-request oidc-auth corp unless { path_reg ^/p }\n",
			gaps: "'path_reg' has no mesh equivalent"},
		{name: "Host test with a port", rules: "    http-request use-service jwks:mesh if { hdr(host) keys.example.com:8080 } { path_beg /jwks/ }\n    http-request oidc-auth corp\n",
			jwks: "http://keys.example.com:8080/jwks/jwks.json"},
		{name: "no JWKS served", rules: "    http-request oidc-auth corp\n",
			warn: "no frontend serves 'jwks:mesh'", jwks: "https://edge.example.com/.well-known/jwks.json"},
		{name: "login before the JWKS", rules: "    http-request oidc-auth corp\n" + jwks,
			warn: "istiod would be sent to log in"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := planFor(t, fmt.Sprintf("frontend web\n    bind :443\n%s    http-request set-identity-token mesh\n    default_backend gw\n\nbackend gw\n    server gw 10.0.0.1:443\n", tc.rules))
			if got := rulesJSON(p.Public); got != tc.public {
				t.Errorf("public:\n got %s\nwant %s", got, tc.public)
			}
			if got := rulesJSON(p.Deny); got != tc.deny {
				t.Errorf("deny:\n got %s\nwant %s", got, tc.deny)
			}
			for _, c := range []struct {
				what, want string
				got        []string
			}{{"no equivalent", tc.noEquiv, p.NoEquiv}, {"gaps", tc.gaps, p.PublicGaps}, {"warnings", tc.warn, p.Warnings}} {
				all := strings.Join(c.got, "\n")
				if (c.want == "") != (all == "") || !strings.Contains(all, c.want) {
					t.Errorf("%s: %q, want %q", c.what, all, c.want)
				}
			}
			if tc.jwks != "" && p.JWT.JwksURI != tc.jwks {
				t.Errorf("jwksUri %s, want %s", p.JWT.JwksURI, tc.jwks)
			}
			if want := []string{"https://edge.example.com/corp/*"}; strings.Join(p.Principals, ",") != want[0] {
				t.Errorf("principals %v", p.Principals)
			}
		})
	}
}

// TestJWKSURIThroughBackend: the keys served by a backend are reached
// through the frontend's use_backend, whose Host test names the host; the
// bind gives scheme and port.
func TestJWKSURIThroughBackend(t *testing.T) {
	p := planFor(t, `frontend web
    bind :80
    bind :8443 ssl crt /etc/gatehouse/certs/
    use_backend keys if { req.hdr(host) keys.example.com } { path_beg /.well-known/ }
    default_backend gw
    http-request oidc-auth corp if { hdr(host) app.example.com }
    http-request set-identity-token mesh

backend keys
    http-request use-service jwks:mesh

backend gw
    server gw 10.0.0.1:443
`)
	// The Host test names no port: a client sends none only for 443, so a
	// load balancer mapping 443 to 8443 is assumed, and said.
	if p.JWT.JwksURI != "https://keys.example.com/.well-known/jwks.json" || !strings.Contains(strings.Join(p.JWKSNotes, "\n"), "assumed to map 443 to bind ':8443'") {
		t.Fatalf("jwksUri %s (%q)", p.JWT.JwksURI, p.JWKSNotes)
	}
	if !p.TerminatesTLS {
		t.Error("a TLS bind, but TerminatesTLS is false")
	}
}

// TestCheckReadsSnakeCase: Istio accepts jwks_uri, from_headers,
// request_principals, not_values...; --check reads them as their
// camelCase names rather than as missing fields.
func TestCheckReadsSnakeCase(t *testing.T) {
	p := planFor(t, `frontend web
    bind :443
    http-request use-service jwks:mesh if { path /.well-known/jwks.json }
    http-request oidc-auth corp
    http-request deny if { path_beg /staff } !{ oidc_claim(groups) staff }
    http-request set-identity-token mesh
    default_backend gw

backend gw
    server gw 10.0.0.1:443
`)
	doc := `apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: {name: edge, namespace: istio-system}
spec:
  selector: {match_labels: {istio_app: ingressgateway}}
  jwt_rules:
  - issuer: https://edge.example.com
    audiences: [app.example.com]
    jwks_uri: http://edge.example.com:443/.well-known/jwks.json
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: edge}
spec:
  rules:
  - from: [{source: {request_principals: ["https://edge.example.com/*"]}}]
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: claims}
spec:
  action: DENY
  rules:
  - to: [{operation: {paths: ["/staff*"]}}]
    when: [{key: "request.auth.claims[groups]", not_values: [staff]}]
`
	found, err := ReadPolicies([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if diffs := Check([]*Plan{p}, found); len(diffs) != 0 {
		t.Fatalf("diffs: %q", diffs)
	}
	if found[0].Spec.Selector.MatchLabels["istio_app"] != "ingressgateway" {
		t.Errorf("label keys were renamed: %v", found[0].Spec.Selector.MatchLabels)
	}
}
