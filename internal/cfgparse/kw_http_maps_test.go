package cfgparse

import (
	"strings"
	"testing"
)

func TestMapActionsSyntax(t *testing.T) {
	for _, tc := range []struct{ line, action, file, key, value, err string }{
		{line: "http-request set-map(/etc/h.map) %[src] %[req.hdr(x-v)]", action: "set-map", file: "/etc/h.map", key: "%[src]", value: "%[req.hdr(x-v)]"},
		{line: "http-response set-map(h.map) k v", action: "set-map", file: "h.map", key: "k", value: "v"},
		{line: "http-request del-map(h.map) %[src] if TRUE", action: "del-map", file: "h.map", key: "%[src]"},
		{line: "http-request add-acl(bad.lst) %[src]", action: "add-acl", file: "bad.lst", key: "%[src]"},
		{line: "http-response del-acl(bad.lst) %[src]", action: "del-acl", file: "bad.lst", key: "%[src]"},
		{line: "http-request set-map(h.map) k", err: "expects exactly 2 arguments"},
		{line: "http-request del-map(h.map) k v", err: "expects exactly 1 arguments"},
		{line: "http-request add-acl(bad.lst)", err: "expects exactly 1 arguments"},
		{line: "http-request set-map k v", err: "expects a file name in parentheses"},
		{line: "http-request set-map() k v", err: "expects a file name in parentheses"},
	} {
		px, _, err := parseBackend(t, "    "+tc.line+"\n    server s 127.0.0.1:80")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		rules := px.HTTPRequest
		if strings.HasPrefix(tc.line, "http-response") {
			rules = px.HTTPResponse
		}
		a := rules[len(rules)-1]
		if a.Action != tc.action || a.MapFile != tc.file || a.MapKey != tc.key || a.Value != tc.value {
			t.Errorf("%s: got %s(%s) %q %q", tc.line, a.Action, a.MapFile, a.MapKey, a.Value)
		}
	}
}
