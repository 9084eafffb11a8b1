package proxy

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// TestExpReplace: HAProxy's exp_replace: the template replaces the whole
// value, \N takes a group (nothing for one that did not match), \xHH a
// byte, a backslash before anything else that character.
func TestExpReplace(t *testing.T) {
	for _, tc := range []struct{ re, src, tmpl, want string }{
		{`/foo/(.*)`, "/x/foo/bar", `/\1`, "/bar"},
		{`bar`, "foobarqux", `baz`, "baz"},
		{`([^?]*)(\?(.*))?`, "/bar", `\1/foo\2`, "/bar/foo"},
		{`^a(.)$`, "ab", `\x41\1`, "Ab"},
		{`(.*)`, "v", `\\\1\$`, `\v$`},
		{`(.*)`, "v", `$1${1}`, `$1${1}`},
	} {
		re := regexp.MustCompile(tc.re)
		m := re.FindStringSubmatchIndex(tc.src)
		if got := string(expReplace(nil, tc.src, tc.tmpl, m)); got != tc.want {
			t.Errorf("%s on %q with %q: got %q, want %q", tc.re, tc.src, tc.tmpl, got, tc.want)
		}
	}
}

func literal(t *testing.T, s string) *logging.Format {
	t.Helper()
	f, err := logging.CompileHTTP(s, config.Pos{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestReplaceValueKeepsSeparators: replace-value rewrites each matching
// value and drops the blanks around it only, as HAProxy does; the others
// keep theirs, and replace-header replaces the whole value.
func TestReplaceValueKeepsSeparators(t *testing.T) {
	var tx Txn
	h := httpmsg.Headers{{Name: "X-V", Value: "ab, b, ac"}, {Name: "x-v", Value: " ad ,ae"}, {Name: "X-H", Value: "foobarqux"}}
	tx.replaceHeader(&Rule{Kind: RuleReplaceValue, Name: "x-v", Regex: regexp.MustCompile(`^a(.)$`), Value: literal(t, `A\1`)}, &h)
	tx.replaceHeader(&Rule{Kind: RuleReplaceHeader, Name: "x-h", Regex: regexp.MustCompile(`bar`), Value: literal(t, `baz`)}, &h)
	want := []string{"Ab, b,Ac", "Ad,Ae", "baz"}
	for i, w := range want {
		if h[i].Value != w {
			t.Errorf("header %d: got %q, want %q", i, h[i].Value, w)
		}
	}
}

// TestRewriteRequestLine: what each rewrite leaves as method and target,
// and false for a result the codecs would refuse.
func TestRewriteRequestLine(t *testing.T) {
	for _, tc := range []struct {
		kind              RuleKind
		re, fmt           string
		method, uri       string
		wantM, wantU      string
		wantOK, logChange bool
	}{
		{RuleReplacePath, `/foo/(.*)`, `/\1`, "GET", "http://h/foo/b?x", "GET", "http://h/b?x", true, true},
		{RuleReplacePath, `nomatch`, `/x`, "GET", "/a?b", "GET", "/a?b", true, true},
		{RuleReplacePath, `(.*)`, `/x`, "GET", "http://h", "GET", "http://h", true, true}, // no path: nothing to match
		{RuleReplacePathQ, `.*`, `/n`, "GET", "http://h/a?b", "GET", "http://h/n", true, true},
		{RuleReplaceURI, `^http://(.*)`, `https://\1`, "GET", "http://h/p", "GET", "https://h/p", true, true},
		{RuleReplacePath, `.*`, `no-slash`, "GET", "/a", "GET", "no-slash", false, true},
		{RuleSetPathQ, "", `/new`, "GET", "/old?q", "GET", "/new", true, true},
		{RuleSetMethod, "", `POST`, "GET", "/m", "POST", "/m", true, true},
		{RuleSetMethod, "", `BAD METHOD`, "GET", "/m", "GET", "/m", false, true},
		{RuleSetMethod, "", `CONNECT`, "GET", "/m", "CONNECT", "/m", false, true},
	} {
		var tx Txn
		tx.Req.Method, tx.Req.URI = tc.method, tc.uri
		r := &Rule{Kind: tc.kind, Value: literal(t, tc.fmt)}
		if tc.re != "" {
			r.Regex = regexp.MustCompile(tc.re)
		}
		ok := tx.rewriteRequestLine(r)
		if ok != tc.wantOK || ok && (tx.Req.Method != tc.wantM || tx.Req.URI != tc.wantU) {
			t.Errorf("%d %q on %s %s: got %v %s %s, want %v %s %s", tc.kind, tc.fmt, tc.method, tc.uri, ok, tx.Req.Method, tx.Req.URI, tc.wantOK, tc.wantM, tc.wantU)
		}
		if tx.log.ReqMethod != tc.method || tx.log.ReqURI != tc.uri {
			t.Errorf("%d on %s %s: the log's request line became %s %s", tc.kind, tc.method, tc.uri, tx.log.ReqMethod, tx.log.ReqURI)
		}
	}
}

// TestStrictMode: a rewrite that leaves an invalid request line answers
// 500 by default; after "strict-mode off" it is skipped and the rules go
// on; every rule set starts strict again.
func TestStrictMode(t *testing.T) {
	bad := &Rule{Kind: RuleSetURI, Value: literal(t, "no slash")}
	after := &Rule{Kind: RuleSetHeader, Name: "X-After", Value: literal(t, "yes")}
	off := &Rule{Kind: RuleStrictMode, On: false}
	for _, tc := range []struct {
		name  string
		rules []*Rule
		want  verdict
	}{
		{"default", []*Rule{bad, after}, verdictReply},
		{"off", []*Rule{off, bad, after}, verdictContinue},
		{"back on", []*Rule{off, {Kind: RuleStrictMode, On: true}, bad, after}, verdictReply},
	} {
		tx := Txn{sess: &session{fe: testFrontend()}}
		tx.Req.Method, tx.Req.URI = "GET", "/orig"
		v := tx.runRequestRules(tc.rules)
		if v != tc.want {
			t.Errorf("%s: verdict %d, want %d", tc.name, v, tc.want)
		}
		if v == verdictContinue && (tx.Req.URI != "/orig" || !tx.Req.Header.Has("X-After")) {
			t.Errorf("%s: target %q, headers %v: the failed rewrite should be skipped and the next rule run", tc.name, tx.Req.URI, tx.Req.Header)
		}
		if v == verdictReply && (tx.reply == nil || tx.reply.Status != 500) {
			t.Errorf("%s: reply %+v, want a 500", tc.name, tx.reply)
		}
	}
	// A new rule set (the backend's) starts strict.
	tx := Txn{sess: &session{fe: testFrontend()}}
	tx.Req.Method, tx.Req.URI = "GET", "/orig"
	tx.runRequestRules([]*Rule{off})
	if tx.runRequestRules([]*Rule{bad}) != verdictReply {
		t.Error("strict-mode off leaked into the next rule set")
	}
}

// TestNormalizers: HAProxy's documented examples for each normalizer.
func TestNormalizers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{mergeSlashes("//"), "/"}, {mergeSlashes("/foo//bar"), "/foo/bar"},
		{stripDot("/."), "/"}, {stripDot("/./bar/"), "/bar/"}, {stripDot("/a/./a"), "/a/a"}, {stripDot("/.well-known/"), "/.well-known/"},
		{stripDotDot("/foo/../", false), "/"}, {stripDotDot("/foo/../bar/", false), "/bar/"}, {stripDotDot("/foo/bar/../", false), "/foo/"},
		{stripDotDot("/../bar/", false), "/../bar/"}, {stripDotDot("/bar/../../", false), "/../"}, {stripDotDot("/foo//../", false), "/foo/"},
		{stripDotDot("/foo/%2E%2E/", false), "/foo/%2E%2E/"}, {stripDotDot("/../bar/", true), "/bar/"}, {stripDotDot("/bar/../../", true), "/"},
		{sortQuery("c=3&a=1&b=2"), "a=1&b=2&c=3"}, {sortQuery("aaa=3&a=1&aa=2"), "a=1&aa=2&aaa=3"}, {sortQuery("a=3&b=4&a=1&b=5&a=2"), "a=3&a=1&a=2&b=4&b=5"},
	} {
		if tc.in != tc.want {
			t.Errorf("got %q, want %q", tc.in, tc.want)
		}
	}
	for _, tc := range []struct {
		in             string
		decode, strict bool
		want           string
		ok             bool
	}{
		{"/%61dmin", true, false, "/admin", true}, {"/foo%3Fbar=baz", true, false, "/foo%3Fbar=baz", true},
		{"/%%36%36", true, false, "/%66", true}, {"/%ZZ", true, false, "/%ZZ", true}, {"/%%36%36", true, true, "", false},
		{"/%ZZ", true, true, "", false}, {"/%6f", false, false, "/%6F", true}, {"/%zz", false, false, "/%zz", true}, {"/%zz", false, true, "", false},
	} {
		got, ok := percentNormalize(tc.in, tc.decode, tc.strict)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q decode=%v strict=%v: got %q %v, want %q %v", tc.in, tc.decode, tc.strict, got, ok, tc.want, tc.ok)
		}
	}
}

func testFrontend() *Frontend {
	return &Frontend{Limits: http1.DefaultLimits(), Counters: &counters.Proxy{}}
}

// TestStrictModeOffSkipsOverflow: with strict-mode off, a header rewrite
// that would outgrow the buffer is skipped (and counted in wrew) instead
// of failing the request.
func TestStrictModeOffSkipsOverflow(t *testing.T) {
	big := &Rule{Kind: RuleAddHeader, Name: "X-Big", Value: literal(t, strings.Repeat("x", 64<<10))}
	after := &Rule{Kind: RuleSetHeader, Name: "X-After", Value: literal(t, "yes")}
	fe := testFrontend()
	tx := Txn{sess: &session{fe: fe}}
	tx.Req.Method, tx.Req.URI = "GET", "/"
	if v := tx.runRequestRules([]*Rule{{Kind: RuleStrictMode}, big, after}); v != verdictContinue {
		t.Fatalf("verdict %d, want continue", v)
	}
	if tx.Req.Header.Has("X-Big") || !tx.Req.Header.Has("X-After") || fe.Counters.WRew.Load() != 1 {
		t.Errorf("headers %v, wrew %d: the big header should be skipped, counted, and the next rule run", tx.Req.Header, fe.Counters.WRew.Load())
	}
	tx = Txn{sess: &session{fe: fe}}
	tx.Req.Method, tx.Req.URI = "GET", "/"
	if v := tx.runRequestRules([]*Rule{big, after}); v != verdictReply || tx.reply.Status != 500 {
		t.Errorf("strict: verdict %d, want a 500", v)
	}
}
