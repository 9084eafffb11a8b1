package acl

import "testing"

// TestMoreConverters covers what the side-by-side test with HAProxy
// (integration TestConvertersMatchHAProxy) cannot show in a header: NUL
// and invalid bytes, failures, and configuration errors.
func TestMoreConverters(t *testing.T) {
	tx := testTxn()
	for _, tc := range []struct {
		expr, want string
		ok         bool
	}{
		{"str(a%00b),url_dec", "a\x00b", true}, // an encoded NUL is kept (the length says where it ends)
		{"str(%zz),url_dec", "", false},
		{"str(%4),url_dec", "", false},
		{"str(é),json(ascii)", `\u00c3\u00a9`, true},
		{"str(é),json(utf8)", "\\u00e9", true},
		{"bin(c0af),json(utf8)", "", false},
		{"bin(c0af41),json(utf8s)", "A", true},
		{"bin(c0af),json(utf8p)", "\\/", true},  // overlong '/' accepted and fixed
		{"bin(f09f9880),json(utf8)", "", false}, // beyond U+FFFF: no 4-digit escape
		{"bin(eda080),json(utf8s)", "", true},   // a surrogate is dropped
		{"str(abc),b64dec", "", false},
		{"int(0),utime(%Y-%m-%dT%H:%M:%S%z %Z %q)", "1970-01-01T00:00:00+0000 UTC %q", true},
		{"str('{\"a\":[{\"b\":\"c\"}]}'),json_query('$.a[0].b')", "c", true},
		{"str(not json),json_query('$.a')", "", false},
		// Without a path, the decoded part itself, as documented (HAProxy
		// 2.6.12 renders it empty in a header value; not compared there).
		{"str(eyJhbGciOiJIUzI1NiJ9.e30.x),jwt_header_query", `{"alg":"HS256"}`, true},
		{"str(eyJhbGciOiJIUzI1NiJ9.e30.x),jwt_payload_query", `{}`, true},
		{"str(eyJhbGciOiJIUzI1NiJ9),jwt_payload_query", "", false},
		{"str(a.b.c),jwt_verify(txn.nosuch,k)", "", false},
		{"str(a.b.c),jwt_verify(none,k)", "0", true},
		{"str('{\"x\":1e300}'),json_query('$.x','int')", "", false},
	} {
		e := mustExpr(t, tc.expr)
		got, ok := e.AppendString(nil, tx)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%s = %q, %v; want %q, %v", tc.expr, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range []string{
		"str(a),sha2(100)", "str(a),digest(whirlpool)", "str(a),hmac(sha256,!!)", "str(a),url_enc(path)",
		"str(a),json(latin1)", "str(a),be2dec(:,9)", "str(a),json_query('a.b')", "str(a),json_query('$.a','float')",
		"str(a),http_date(0,ns)",
	} {
		if _, err := CompileExpr(bad, testPos); err == nil {
			t.Errorf("%s compiled", bad)
		}
	}
}
