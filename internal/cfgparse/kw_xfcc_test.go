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
