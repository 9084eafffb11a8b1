package cfgparse

import (
	"os"
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

// TestReplyArgs: return and deny read their reply as HAProxy does,
// ignoring with a warning what HAProxy ignores.
func TestReplyArgs(t *testing.T) {
	dir := t.TempDir()
	ef := dir + "/e.http"
	if err := os.WriteFile(ef, []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, err, warn string }{
		{" http-request return status 404\n", "", ""},
		{" http-request return content-type text/plain\n", "", "content-type 'text/plain' ignored by the http reply because neither errorfile nor payload defined"},
		{" http-request return string x\n", "a content type must be defined when non-empty payload is configured", ""},
		{" http-request return lf-string x\n", "a content type must be defined with a log-format payload", ""},
		{" http-request return status 204 content-type a/b string x\n", "No body expected for 204 responses", ""},
		{" http-request return status 418 default-errorfiles\n", "status code '418' not handled by default with 'default-errorfiles' argument", ""},
		{" http-request return errorfile " + ef + " content-type a/b\n", "", "content-type 'a/b' ignored by the http reply when used with an erorrfile"},
		{" http-request return errorfile " + ef + " hdr X-A b\n", "", "hdr parameters ignored by the http reply when used with an erorrfile"},
		{" http-request return string a string b content-type a/b\n", "unexpected 'string' argument, 'string' already defined", ""},
		{" http-request return content-type a/b string x hdr Content-Length 3\n", "", "header 'Content-Length' always ignored by the http reply"},
		{" http-request return status 99\n", "Unexpected status code '99'", ""},
		{" http-request deny deny_status 418\n", "status code '418' not handled by default", ""},
		{" http-request deny deny_status 418 content-type a/b string x\n", "", ""},
		{" http-request return lf-file /nonexistent/x content-type a/b\n", "error opening file '/nonexistent/x'", ""},
		{" http-response set-status 431\n", "", ""},
		{" http-response set-status 503 reason \"Slow Down\"\n", "", ""},
		{" http-response set-status 1000\n", "between 100 and 999", ""},
		{" http-response set-status 200 why not\n", "expects <status> [reason <str>]", ""},
		{" http-after-response set-header X-A b\n", "", ""},
		{" http-request set-log-level silent\n", "", ""},
		{" http-request set-timeout server 5s\n", "only available for proxies with backend capabilities", ""},
		{" http-request set-timeout client 5s\n", "expects 'server' or 'tunnel'", ""},
		{" http-request strict-mode off\n", "", ""},
		{" http-request early-hint Link \"</a.css>; rel=preload\"\n", "", ""},
		{" http-request early-hint Link\n", "expects exactly 2 arguments", ""},
		{" http-request normalize-uri path-merge-slashes\n", "must be allowed via a global 'expose-experimental-directives'", ""},
		{" http-after-response strict-mode on\n", "", ""},
		{" http-request strict-mode maybe\n", "expects 'on' or 'off'", ""},
		{" http-response set-log-level debug if { status 200 }\n", "", ""},
		{" http-request set-log-level loud\n", "unknown log level 'loud'", ""},
		{" http-after-response deny\n", "but got 'deny'", ""},
		{" http-after-response set-var(txn.x) str(a)\n", "", ""},
	} {
		cfg, err := Parse("r.cfg", []byte(rulesHead+tc.line+" default_backend b\nbackend b\n server s 127.0.0.1:80\n"), Options{})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tc.err == "" && got != "" || tc.err != "" && !strings.Contains(got, tc.err) {
			t.Errorf("%q: got error %q, want %q", tc.line, got, tc.err)
			continue
		}
		if tc.warn != "" {
			var ws []string
			if cfg != nil {
				for _, w := range cfg.Warnings {
					ws = append(ws, w.Error())
				}
			}
			if !strings.Contains(strings.Join(ws, "\n"), tc.warn) {
				t.Errorf("%q: warnings %q, want %q", tc.line, ws, tc.warn)
			}
		}
	}
}

// TestNormalizeURIArgs: normalize-uri needs expose-experimental-directives
// as in HAProxy 2.6, and takes only its normalizer's option.
func TestNormalizeURIArgs(t *testing.T) {
	for _, tc := range []struct{ line, err string }{
		{" http-request normalize-uri path-strip-dotdot full if { path_beg /a }\n", ""},
		{" http-request normalize-uri percent-decode-unreserved strict\n", ""},
		{" http-request normalize-uri query-sort-by-name\n", ""},
		{" http-request normalize-uri path-strip-dot full\n", "unexpected argument 'full'"},
		{" http-request normalize-uri lowercase\n", "unknown normalizer 'lowercase'"},
	} {
		_, err := Parse("r.cfg", []byte("global\n expose-experimental-directives\n"+rulesHead+tc.line+" default_backend b\nbackend b\n server s 127.0.0.1:80\n"), Options{})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tc.err == "" && got != "" || tc.err != "" && !strings.Contains(got, tc.err) {
			t.Errorf("%q: got %q, want %q", tc.line, got, tc.err)
		}
	}
}
