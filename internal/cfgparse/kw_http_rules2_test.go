package cfgparse

import (
	"strings"
	"testing"
)

const rulesHead = "defaults\n mode http\n timeout client 5s\n timeout server 5s\n timeout connect 5s\nfrontend f\n bind 127.0.0.1:8080\n"

// parseRules parses rule lines in a frontend and returns the error text
// ("" when accepted).
func parseRules(t *testing.T, lines string) string {
	t.Helper()
	_, err := Parse("r.cfg", []byte(rulesHead+lines+" default_backend b\nbackend b\n server s 127.0.0.1:80\n"), Options{})
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestRequestLineRuleArgs: the request-line rewrites take exactly their
// documented arguments and a valid regex.
func TestRequestLineRuleArgs(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{" http-request replace-path /foo/(.*) /\\1\n", ""},
		{" http-request replace-pathq ([^?]*)(\\?(.*))? \\1/foo\\2 if { path_beg /x }\n", ""},
		{" http-request replace-uri ^http://(.*) https://\\1\n", ""},
		{" http-request set-method POST\n", ""},
		{" http-request set-pathq /x?%[query]\n", ""},
		{" http-request replace-path /foo\n", "expects exactly 2 arguments (<regex> <fmt>), got 1"},
		{" http-request replace-uri a b c\n", "expects exactly 2 arguments"},
		{" http-request replace-path ( x\n", "invalid regex '('"},
		{" http-request set-method\n", "expects exactly 1 argument"},
		{" http-response replace-path a b\n", "unknown action 'replace-path'"},
	} {
		got := parseRules(t, tc.line)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
		}
	}
}
