package stats

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func identitySnapshot() *Snapshot {
	return &Snapshot{Now: time.Now(),
		OIDC: []OIDCStats{{
			Name: "corp", Issuer: "https://idp.example", Ready: true, DiscoveryFailures: 2,
			LoginRedirects: 5, Logins: 4, Refreshes: 3, SignOuts: 1, BearerAccepted: 9,
			LoginFailures:  []ReasonCount{{"state", 1}, {"code_exchange", 2}},
			BearerRejected: []ReasonCount{{"audience", 6}, {"expired", 1}},
			JWKSFetches:    3, JWKSFailures: 1, JWKSKeys: 2, BackchannelLogouts: 7, StoreErrors: 1,
		}, {
			Name: "partners", Issuer: "https://p.example", SessionStore: "redis", SessionsActive: 12, SessionsKnown: true,
		}},
		Tokens: []TokenStats{{Name: "mesh", Issuer: "https://edge.example", Minted: 8, JWKSServed: 2}},
	}
}

func TestPrometheusIdentity(t *testing.T) {
	var b bytes.Buffer
	if err := WritePrometheus(&b, identitySnapshot()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"# TYPE gatehouse_oidc_logins_total counter\n",
		`gatehouse_oidc_logins_total{oidc="corp"} 4` + "\n",
		`gatehouse_oidc_login_failures_total{oidc="corp",reason="code_exchange"} 2` + "\n",
		`gatehouse_oidc_bearer_rejected_total{oidc="corp",reason="audience"} 6` + "\n",
		`gatehouse_oidc_bearer_accepted_total{oidc="corp"} 9` + "\n",
		`gatehouse_oidc_discovery_ready{oidc="corp"} 1` + "\n",
		`gatehouse_oidc_discovery_ready{oidc="partners"} 0` + "\n",
		`gatehouse_oidc_jwks_fetch_failures_total{oidc="corp"} 1` + "\n",
		`gatehouse_oidc_sessions_active{oidc="partners",store="redis"} 12` + "\n",
		`gatehouse_oidc_backchannel_logouts_total{oidc="corp"} 7` + "\n",
		`gatehouse_oidc_session_store_errors_total{oidc="corp"} 1` + "\n",
		`gatehouse_identity_token_minted_total{identity_token="mesh"} 8` + "\n",
		`gatehouse_identity_token_jwks_served_total{identity_token="mesh"} 2` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Cookie sessions cannot be counted: no line rather than a made-up 0.
	if strings.Contains(out, `gatehouse_oidc_sessions_active{oidc="corp"`) {
		t.Error("sessions_active reported for cookie sessions")
	}
	for _, c := range OIDCColumns() {
		if n := strings.Count(out, "# TYPE gatehouse_oidc_"+c.Prom+" "); n != 1 {
			t.Errorf("%s: %d TYPE lines", c.Prom, n)
		}
	}
	b.Reset()
	WritePrometheusOptions(&b, identitySnapshot(), ParsePromQuery("scope=backend"))
	if strings.Contains(b.String(), "gatehouse_oidc_") {
		t.Error("scope=backend writes the identity families")
	}
}

func TestHTMLIdentitySection(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, identitySnapshot(), HTMLOptions{URI: "/stats"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`<a class=px href="#identity">Identity</a>`,
		"<th>oidc</th><th>Issuer</th><th>Discovery</th>",
		"<td>corp</td><td>https://idp.example</td><td>ready</td><td>2</td>",
		"<td><b>retrying</b></td>",
		"<u>3<div class=tips><table class=det><tr><th>state:</th><td>1</td></tr><tr><th>code_exchange:</th><td>2</td></tr>",
		"<td>12 (redis)</td>",
		"<th>identity-token</th>",
		"<td>mesh</td><td>https://edge.example</td><td>8</td>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	b.Reset()
	WriteHTML(&b, &Snapshot{Now: time.Now()}, HTMLOptions{})
	if strings.Contains(b.String(), "#identity") {
		t.Error("identity section without identity sections")
	}
}
