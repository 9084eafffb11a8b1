package cfgparse

import (
	"strings"
	"testing"
)

// TestSSLCacheSize: 0 (no session cache) is what Gatehouse does; a size is
// refused with what to do; HAProxy's own errors otherwise.
func TestSSLCacheSize(t *testing.T) {
	for line, msg := range map[string]string{
		"tune.ssl.cachesize 0":      "",
		"tune.ssl.cachesize 20000":  "Remove the line, or write 'tune.ssl.cachesize 0'",
		"tune.ssl.cachesize":        "'tune.ssl.cachesize' expects an integer argument.",
		"tune.ssl.cachesize -1":     "'tune.ssl.cachesize' expects a positive numeric value.",
		"tune.ssl.cachesize 0 more": "cannot handle unexpected argument 'more'",
	} {
		_, err := Parse("c.cfg", []byte("global\n    "+line+"\nfrontend f\n    bind 127.0.0.1:8080\n"), Options{LookupEnv: testEnv})
		if msg == "" && err != nil || msg != "" && (err == nil || !strings.Contains(err.Error(), msg)) {
			t.Errorf("%q: %v, want %q", line, err, msg)
		}
	}
}

// TestMaxSSLConn: read as HAProxy's ssl_parse_global_int.
func TestMaxSSLConn(t *testing.T) {
	for line, msg := range map[string]string{
		"maxsslconn 100": "",
		"maxsslconn":     "'maxsslconn' expects an integer argument.",
		"maxsslconn -2":  "'maxsslconn' expects a positive numeric value.",
		"maxsslconn 1 2": "cannot handle unexpected argument '2'",
	} {
		cfg, err := Parse("m.cfg", []byte("global\n    "+line+"\nfrontend f\n    bind 127.0.0.1:8080\n"), Options{LookupEnv: testEnv})
		if msg == "" && (err != nil || cfg.Global.Rates.MaxSSLConn != 100) || msg != "" && (err == nil || !strings.Contains(err.Error(), msg)) {
			t.Errorf("%q: %v, want %q", line, err, msg)
		}
	}
}
