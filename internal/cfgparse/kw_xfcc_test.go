package cfgparse

import (
	"slices"
	"strings"
	"testing"
)

// TestForwardedClientCertArgs: set-forwarded-client-cert takes Envoy's
// field names, each once, and nothing else.
func TestForwardedClientCertArgs(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{" http-request set-forwarded-client-cert\n", ""},
		{" http-request set-forwarded-client-cert cert chain subject uri dns if { ssl_c_used }\n", ""},
		{" http-request set-forwarded-client-cert by\n", "unknown field 'by'"},
		{" http-request set-forwarded-client-cert uri URI\n", "unknown field 'URI'"},
		{" http-request set-forwarded-client-cert dns dns\n", "field 'dns' is given twice"},
		{" http-response set-forwarded-client-cert\n", "but got 'set-forwarded-client-cert'"},
	} {
		got := parseRules(t, tc.line)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
		}
	}
	cfg, err := Parse("r.cfg", []byte(rulesHead+" http-request set-forwarded-client-cert subject uri\n default_backend b\nbackend b\n server s 127.0.0.1:80\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Proxies[0].HTTPRequest[0]
	if a.Action != "set-forwarded-client-cert" || !slices.Equal(a.XFCCFields, []string{"subject", "uri"}) {
		t.Errorf("parsed %q %q", a.Action, a.XFCCFields)
	}
}

// TestClientCertAuthArgs: client-cert-auth takes nothing or "sub <field>";
// an oidc section name cannot hold ':', so an oidc caller's edge sub
// "<section>/<sub>" never reads as a certificate's (a URI, "dns:...").
func TestClientCertAuthArgs(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{" http-request client-cert-auth\n", ""},
		{" http-request client-cert-auth sub cn if { ssl_c_used }\n", ""},
		{" http-request client-cert-auth sub spiffe\n", ""},
		{" http-request client-cert-auth sub serial\n", "'sub' expects 'spiffe', 'uri', 'dns', 'email' or 'cn', got 'serial'"},
		{" http-request client-cert-auth cn\n", "expects nothing or 'sub spiffe|uri|dns|email|cn', got 'cn'"},
		{" http-request client-cert-auth sub\n", "expects nothing or 'sub spiffe|uri|dns|email|cn', got 'sub'"},
	} {
		got := parseRules(t, tc.line)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
		}
	}
	cfg, err := Parse("r.cfg", []byte(rulesHead+" http-request client-cert-auth sub dns\n default_backend b\nbackend b\n server s 127.0.0.1:80\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Proxies[0].HTTPRequest[0]; a.Action != "client-cert-auth" || a.Name != "dns" {
		t.Errorf("parsed %q %q", a.Action, a.Name)
	}
	_, err = Parse("o.cfg", []byte("oidc spiffe:\n issuer https://op.example.com\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "character ':' is not permitted in 'oidc' name 'spiffe:'") {
		t.Errorf("oidc name with ':': %v", err)
	}
}

// TestClientCertRulesWarn: the client-certificate rules in a frontend
// whose binds never verify a client certificate get a warning (they would
// never find one); with verify optional they get none.
func TestClientCertRulesWarn(t *testing.T) {
	for _, tc := range []struct {
		bind string
		warn bool
	}{
		{" bind 127.0.0.1:8443 ssl crt x.pem\n", true},
		{" bind 127.0.0.1:8443 ssl crt x.pem ca-file ca.pem verify none\n", true},
		{" bind 127.0.0.1:8443 ssl crt x.pem ca-file ca.pem verify optional\n", false},
	} {
		for _, action := range []string{"client-cert-auth", "set-forwarded-client-cert"} {
			cfg, err := Parse("w.cfg", []byte("defaults\n mode http\nfrontend f\n"+tc.bind+" http-request "+action+"\n default_backend b\nbackend b\n server s 127.0.0.1:80\n"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var warned bool
			for _, w := range cfg.Warnings {
				warned = warned || strings.Contains(w.Msg, "'http-request "+action+"' will never find a verified client certificate")
			}
			if warned != tc.warn {
				t.Errorf("%q %s: warned %v, want %v (%v)", tc.bind, action, warned, tc.warn, cfg.Warnings)
			}
		}
	}
}
