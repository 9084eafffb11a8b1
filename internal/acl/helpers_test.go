package acl

import (
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

var testPos = config.Pos{File: "t.cfg", Line: 7}

// testTxn is a request with a varied set of headers, a response, TLS and
// claims.
func testTxn() *Txn {
	email, groups := []string{"alice@example.com"}, []string{"admins", "devs"}
	return &Txn{
		Req: &httpmsg.Request{
			Method: "GET", URI: "/api/v1/users?id=42&lang=fr;x=1&id=43", Proto: "HTTP/1.1", Major: 1, Minor: 1,
			Header: httpmsg.Headers{
				{Name: "Host", Value: "WWW.Example.com:8080"},
				{Name: "X-Forwarded-For", Value: "10.0.0.1, 10.0.0.2"},
				{Name: "x-forwarded-for", Value: "10.0.0.3"},
				{Name: "Cookie", Value: "a=1; session=abc; b=2"},
				{Name: "Cookie", Value: "session=def"},
				{Name: "Accept", Value: `text/html, "quoted,comma", */*`},
				{Name: "Content-Length", Value: "12"},
				{Name: "User-Agent", Value: "curl/8.0"},
			},
		},
		Resp: &httpmsg.Response{
			Status: 404, Proto: "HTTP/1.1", Major: 1, Minor: 1,
			Header: httpmsg.Headers{
				{Name: "Content-Type", Value: "text/plain"},
				{Name: "Set-Cookie", Value: "x=1"},
				{Name: "Set-Cookie", Value: "y=2"},
			},
		},
		Src:        netip.MustParseAddrPort("[::ffff:192.168.1.10]:51000"),
		Dst:        netip.MustParseAddrPort("10.1.2.3:443"),
		TLS:        true,
		SNI:        "www.example.com",
		ALPN:       "h2",
		TLSVersion: "TLSv1.3",
		Frontend:   "fe_main", Backend: "be_app", Server: "srv1",
		UniqueID: "uid-1",
		Claims: func(name string) []string {
			switch name {
			case "email":
				return email
			case "groups":
				return groups
			}
			return nil
		},
	}
}

func mustExpr(tb testing.TB, src string) *Expr {
	tb.Helper()
	e, err := CompileExpr(src, testPos)
	if err != nil {
		tb.Fatalf("CompileExpr(%q): %v", src, err)
	}
	return e
}

func netipZero() netip.AddrPort { return netip.AddrPort{} }
