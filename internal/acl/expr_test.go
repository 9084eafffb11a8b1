package acl

import (
	"strings"
	"testing"
)

func TestAppendString(t *testing.T) {
	tests := []struct {
		expr string
		want string
		ok   bool
	}{
		// http fetches
		{"method", "GET", true},
		{"path", "/api/v1/users", true},
		{"url", "/api/v1/users?id=42&lang=fr;x=1&id=43", true},
		{"query", "id=42&lang=fr;x=1&id=43", true},
		{"base", "WWW.Example.com:8080/api/v1/users", true},
		{"req.ver", "1.1", true},
		{"req_ver", "1.1", true},
		{"hdr(host)", "WWW.Example.com:8080", true},
		{"req.hdr(Host)", "WWW.Example.com:8080", true},
		{"hdr(x-forwarded-for)", "10.0.0.3", true}, // last occurrence
		{"req.hdr(x-forwarded-for,1)", "10.0.0.1", true},
		{"req.hdr(x-forwarded-for,2)", "10.0.0.2", true},
		{"req.hdr(x-forwarded-for,-2)", "10.0.0.2", true},
		{"req.hdr(x-forwarded-for,-3)", "10.0.0.1", true},
		{"req.hdr(x-forwarded-for,4)", "", false},
		{"req.hdr(x-forwarded-for,-4)", "", false},
		{"req.fhdr(x-forwarded-for)", "10.0.0.3", true},
		{"req.fhdr(x-forwarded-for,1)", "10.0.0.1, 10.0.0.2", true},
		{"req.hdr(accept)", "*/*", true},
		{"req.hdr(accept,2)", `"quoted,comma"`, true},
		{"hdr(missing)", "", false},
		{"hdr_cnt(x-forwarded-for)", "3", true},
		{"req.hdr_cnt(accept)", "3", true},
		{"req.fhdr_cnt(x-forwarded-for)", "2", true},
		{"hdr_cnt(nope)", "0", true},
		{"req.cook(session)", "def", true}, // last occurrence
		{"cook(a)", "1", true},
		{"cook(zz)", "", false},
		{"req.cook_cnt(session)", "2", true},
		{"url_param(id)", "42", true}, // first occurrence
		{"urlp(x)", "1", true},
		{"url_param(lang)", "fr", true},
		{"url_param(nope)", "", false},
		{"status", "404", true},
		{"res.hdr(content-type)", "text/plain", true},
		{"shdr(set-cookie)", "y=2", true},
		{"res.hdr_cnt(set-cookie)", "2", true},
		{"res.ver", "1.1", true},
		// connection
		{"src", "192.168.1.10", true},
		{"src_port", "51000", true},
		{"dst", "10.1.2.3", true},
		{"dst_port", "443", true},
		{"ssl_fc", "1", true},
		{"ssl_fc_sni", "www.example.com", true},
		{"ssl_fc_alpn", "h2", true},
		{"ssl_fc_protocol", "TLSv1.3", true},
		{"fe_name", "fe_main", true},
		{"be_name", "be_app", true},
		{"srv_name", "srv1", true},
		{"unique-id", "uid-1", true},
		{"str(helloworld.example)", "helloworld.example", true},
		{"int(-12)", "-12", true},
		{"bool(true)", "1", true},
		{"always_false", "0", true},
		{"oidc_claim(email)", "alice@example.com", true},
		{"oidc_claim(groups)", "admins,devs", true},
		{"oidc_claim(none)", "", false},
		// converters
		{"req.hdr(host),lower", "www.example.com:8080", true},
		{"req.hdr(host),upper", "WWW.EXAMPLE.COM:8080", true},
		{"req.hdr(host),lower,field(1,:)", "www.example.com", true},
		{"req.hdr(host),field(2,:)", "8080", true},
		{"req.hdr(host),field(3,:)", "", true},
		{"str(f1_f2_f3__f5),field(4,_)", "", true},
		{"str(f1_f2_f3__f5),field(5,_)", "f5", true},
		{"str(f1_f2_f3__f5),field(2,_,0)", "f2_f3__f5", true},
		{"str(f1_f2_f3__f5),field(2,_,2)", "f2_f3", true},
		{"str(f1_f2_f3__f5),field(-2,_,3)", "f2_f3_", true},
		{"str(f1_f2_f3__f5),field(-3,_,0)", "f1_f2_f3", true},
		{"str(f1_f2_f3__f5),field(-1,_)", "f5", true},
		{"str(f1_f2_f3__f5),field(-9,_)", "", true},
		{"str(a.b:c),field(2,.:)", "b", true},
		{"str(f1_f2_f3__f5),word(4,_)", "f5", true},
		{"str(f1_f2_f3__f5),word(2,_,0)", "f2_f3__f5", true},
		{"str(f1_f2_f3__f5),word(3,_,2)", "f3__f5", true},
		{"str(f1_f2_f3__f5),word(-2,_,3)", "f1_f2_f3", true},
		{"str(f1_f2_f3__f5),word(-3,_,0)", "f1_f2", true},
		{"str(/f1/f2/f3),word(1,/)", "f1", true},
		{"str(//a//b//),word(-1,/)", "b", true},
		{"str(a_b),word(5,_)", "", true},
		{"str(/a//b///c),regsub(/+,/,g)", "/a/b/c", true},
		{"str(/a//b///c),regsub(/+,/)", "/a//b///c", true},
		{"str(/a//b///c),regsub('/+','/','g')", "/a/b/c", true},
		{"str(/api/v1/x),regsub('^/api/(v[0-9]+)/','/\\1-')", "/v1-x", true},
		{"str(/api/v1/x),regsub(^/api/\\(v[0-9]+\\)/,/\\1-)", "/v1-x", true},
		{"str(/api/v1/x),regsub(\"^/api/(v[0-9]+)/\",'\\1\\x41')", "v1Ax", true},
		{"str(a\\\"b),regsub(\"\\\"\",\"q\")", "aqb", true},
		{"str(ABCabc),regsub(b,X,gi)", "AXCaXc", true},
		{"str(abc),regsub(z,X)", "abc", true},
		{"str(a\\,b),regsub(\\,,;)", "a;b", true},
		{"str(hello),length", "5", true},
		{"path,length", "13", true},
		{"str(hello),base64", "aGVsbG8=", true},
		{"str(hi!),hex", "686921", true},
		{"str(\xff),hex", "FF", true},
		{"str(hello),bytes(1,3)", "ell", true},
		{"str(hello),bytes(2)", "llo", true},
		{"str(hello),bytes(9)", "", false},
		{"src,ipmask(24)", "192.168.1.0", true},
		{"src,ipmask(255.255.0.0)", "192.168.0.0", true},
		{"str(2001:db8::1),ipmask(24,32)", "2001:db8::", true},
		{"str(nope),ipmask(24)", "", false},
		{"hdr(host),lower,field(1,:),length", "15", true},
	}
	tx := testTxn()
	for _, tc := range tests {
		e := mustExpr(t, tc.expr)
		got, ok := e.AppendString([]byte("pre:"), tx)
		if ok != tc.ok || (ok && string(got) != "pre:"+tc.want) {
			t.Errorf("%s = %q, %v; want %q, %v", tc.expr, got, ok, tc.want, tc.ok)
		}
		if !ok && string(got) != "pre:" {
			t.Errorf("%s: dst changed on failure: %q", tc.expr, got)
		}
	}
}

func TestInResponseHdr(t *testing.T) {
	tx := testTxn()
	tx.InResponse = true
	e := mustExpr(t, "hdr(content-type)")
	if got, ok := e.AppendString(nil, tx); !ok || string(got) != "text/plain" {
		t.Errorf("hdr in response = %q, %v", got, ok)
	}
}

func TestNoRequest(t *testing.T) {
	tx := &Txn{}
	for _, src := range []string{"path", "url", "query", "base", "method", "hdr(host)", "req.cook(a)", "url_param(a)",
		"status", "res.hdr(a)", "src", "dst", "ssl_fc_sni", "oidc_claim(a)", "req.ssl_sni", "req.ssl_ver", "be_name"} {
		if got, ok := mustExpr(t, src).AppendString(nil, tx); ok {
			t.Errorf("%s on an empty txn = %q, want no value", src, got)
		}
	}
}

func TestCompileExprErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"hdrr(host)", "parsing [t.cfg:7] : unknown fetch method 'hdrr' in sample expression 'hdrr(host)', did you mean 'hdr'?"},
		{"req.hdrr(host)", "unknown fetch method 'req.hdrr' in sample expression 'req.hdrr(host)', did you mean 'req.hdr'?"},
		{"zzzzzzzz", "unknown fetch method 'zzzzzzzz' in sample expression 'zzzzzzzz'"},
		{"path_beg", "unknown fetch method 'path_beg'"},
		{"hdr(host),lowr", "unknown converter 'lowr' in sample expression 'hdr(host),lowr', did you mean 'lower'?"},
		{"hdr(host", "missing closing ')' after arguments to 'hdr'"},
		{"hdr(host)x", "missing comma after 'hdr'"},
		{"hdr(host),", "missing converter name after ','"},
		{"", "missing fetch method"},
		{"path(x)", "fetch method 'path' takes no argument"},
		{"int", "missing arguments (got 0/1) for fetch method 'int'"},
		{"hdr(a,b)", "expected an integer at position 2 in arguments to fetch method 'hdr', but got 'b'"},
		{"hdr(a,1,2)", "too many arguments (got 3, at most 2) for fetch method 'hdr'"},
		{"bool(maybe)", "fetch method 'bool' : expected 'true', 'false', '1' or '0', got 'maybe'"},
		{"str(x),field(0,:)", "converter 'field' : index must not be 0"},
		{"str(x),field(1,)", "converter 'field' : delimiters must not be empty"},
		{"str(x),regsub((,x)", "converter 'regsub' : invalid regex '('"},
		{"str(x),regsub(a,b,q)", "invalid regex flag 'q'"},
		{"str(x),ipmask(33)", "invalid IPv4 mask '33'"},
		{"str('x)", "unterminated quote"},
		{"str(x),regsub(^/(v1)/,/)", "missing comma after 'regsub'"}, // ')' must be quoted or escaped
	}
	for _, tc := range tests {
		_, err := CompileExpr(tc.src, testPos)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CompileExpr(%q) error = %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestExprUses(t *testing.T) {
	tests := []struct {
		src  string
		need Need
	}{
		{"path", NeedReq | NeedReqVolatile},
		{"method", NeedReq},
		{"status", NeedResp},
		{"src", NeedConn},
		{"ssl_fc_sni", NeedTLS},
		{"req.ssl_sni,lower", NeedPayload},
		{"oidc_claim(sub)", NeedClaims},
		{"str(x)", 0},
	}
	for _, tc := range tests {
		if got := mustExpr(t, tc.src).Uses(); got != tc.need {
			t.Errorf("%s uses %v, want %v", tc.src, got, tc.need)
		}
	}
	if (*Expr)(nil).Uses() != 0 {
		t.Error("nil Expr uses something")
	}
}

func TestExprCheck(t *testing.T) {
	tests := []struct {
		src  string
		ctx  Context
		want string // "" = ok
	}{
		{"status", CtxHTTPRequest, "parsing [t.cfg:7] : fetch method 'status' extracts information from 'HTTP response headers', none of which is available in a http-request rule"},
		{"status", CtxHTTPResponse, ""},
		{"path", CtxHTTPResponse, ""},
		{"path", CtxTCPConnection, "fetch method 'path' extracts information from 'HTTP request headers'"},
		{"src", CtxTCPConnection, ""},
		{"req.ssl_sni", CtxTCPContent, ""},
		{"req.ssl_sni", CtxTCPConnection, "the request payload"},
		{"oidc_claim(x)", CtxTCPContent, "identity claims"},
		{"oidc_claim(x)", CtxLog, ""},
	}
	for _, tc := range tests {
		err := mustExpr(t, tc.src).Check(tc.ctx)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s in %v: %v, want %q", tc.src, tc.ctx, err, tc.want)
		}
	}
}

func TestFetchEdges(t *testing.T) {
	tests := []struct {
		mod  func(*Txn)
		expr string
		want string
		ok   bool
	}{
		{nil, "ssl_fc_has_sni", "1", true},
		{func(t *Txn) { t.TLS = false }, "ssl_fc_has_sni", "0", true},
		{func(t *Txn) { t.TLS = false }, "ssl_fc_alpn", "", false},
		{func(t *Txn) { t.TLS = false }, "ssl_fc_protocol", "", false},
		{func(t *Txn) { t.TLS = false }, "ssl_fc", "0", true},
		{nil, "res.fhdr(set-cookie)", "y=2", true},
		{nil, "res.fhdr(set-cookie,1)", "x=1", true},
		{func(t *Txn) { t.Req.Proto, t.Req.Major, t.Req.Minor = "", 2, 0 }, "req.ver", "2.0", true},
		{func(t *Txn) { t.Req.Proto, t.Req.Major, t.Req.Minor = "", 1, 0 }, "req.ver", "1.0", true},
		{func(t *Txn) { t.Resp.Proto, t.Resp.Major, t.Resp.Minor = "", 0, 9 }, "res.ver", "", false},
		{func(t *Txn) { t.Req.URI = "http://h.example:81/p/q?x=1" }, "path", "/p/q", true},
		{func(t *Txn) { t.Req.URI = "http://h.example" }, "path", "", false},
		{func(t *Txn) { t.Req.URI = "*" }, "path", "", false},
		{func(t *Txn) { t.Req.URI = "/p?" }, "query", "", true},
		{func(t *Txn) { t.Req.URI = "/p" }, "query", "", false},
		{func(t *Txn) { t.Req.Header.Del("Host") }, "base", "/api/v1/users", true},
		{func(t *Txn) { t.Src = netipZero() }, "src_port", "", false},
		{func(t *Txn) { t.Dst = netipZero() }, "dst_port", "", false},
		{func(t *Txn) { t.Src = mustAddrPort("[2001:db8::1]:5") }, "src", "2001:db8::1", true},
		{func(t *Txn) { t.Req.Header = nil }, "hdr_cnt", "0", true},
		{nil, "hdr_cnt", "11", true}, // every header's values
		{func(t *Txn) { t.Resp = nil }, "res.hdr_cnt(x)", "", false},
		{nil, "req.cook", "1", true}, // no name: the first cookie
		{nil, "req.cook(session),length", "3", true},
		{nil, "int(7),hex", "37", true},
	}
	for _, tc := range tests {
		tx := testTxn()
		if tc.mod != nil {
			tc.mod(tx)
		}
		got, ok := mustExpr(t, tc.expr).AppendString(nil, tx)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%s = %q, %v; want %q, %v", tc.expr, got, ok, tc.want, tc.ok)
		}
	}
}

// TestURIFetchesSplitOneWay: path, query, base and url_param split the
// target as httpmsg.ParseTarget does; a "://" in the query is data.
func TestURIFetchesSplitOneWay(t *testing.T) {
	tests := []struct {
		uri, expr, want string
		ok              bool
	}{
		{"/x?u=http://y/admin/secret", "path", "/x", true},
		{"/x?u=http://y/admin/secret", "query", "u=http://y/admin/secret", true},
		{"/x?u=http://y/admin/secret", "url_param(u)", "http://y/admin/secret", true},
		{"/x?u=http://y/admin/secret", "base", "WWW.Example.com:8080/x", true},
		{"http://h/a/b?c=d", "path", "/a/b", true},
		{"http://h/a/b?c=d", "query", "c=d", true},
		{"http://h?q=/admin", "path", "", false}, // not a valid target: no split
		{"http://h", "path", "", false},
		{"/p?", "query", "", true},
		{"/p", "query", "", false},
		{"*", "path", "", false},
		{"h:443", "path", "", false},
	}
	for _, tc := range tests {
		tx := testTxn()
		tx.Req.URI = tc.uri
		got, ok := mustExpr(t, tc.expr).AppendString(nil, tx)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%s of %q = %q, %v; want %q, %v", tc.expr, tc.uri, got, ok, tc.want, tc.ok)
		}
	}
}
