package acl

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// rdpRequest is an RDP client's first bytes: a TPKT header, the X.224
// Connection Request header, then the cookie line and what follows.
func rdpRequest(line string) []byte {
	body := []byte{0x0e, 0xe0, 0, 0, 0, 0, 0} // X.224 CR, 7 bytes
	body = append(body, line...)
	body = append(body, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00) // RDP_NEG_REQ
	n := 4 + len(body)
	return append([]byte{3, 0, byte(n >> 8), byte(n)}, body...)
}

// TestRDPCookieFetches: req.rdp_cookie and req.rdp_cookie_cnt as HAProxy
// 2.6's fetch_rdp_cookie_name reads the connection request: the name in
// any case, any cookie without a name, the value up to CRLF; too few
// bytes give no answer (a Miss while inspecting), a complete request
// without that cookie a count of 0.
func TestRDPCookieFetches(t *testing.T) {
	full := rdpRequest("Cookie: mstshash=Alice\r\n")
	msts := rdpRequest("cookie:   MSTS=16777226.15629.0000\r\n")
	other := rdpRequest("Bogus: x\r\n")
	for _, tc := range []struct {
		name    string
		payload []byte
		expr    string
		want    string
		ok      bool
	}{
		{"named", full, "req.rdp_cookie(mstshash)", "Alice", true},
		{"named any case", full, "rdp_cookie(MSTSHash)", "Alice", true},
		{"any", full, "req.rdp_cookie", "Alice", true},
		{"any msts", msts, "req.rdp_cookie()", "16777226.15629.0000", true},
		{"other name", full, "req.rdp_cookie(msts)", "", false},
		{"prefix name", msts, "req.rdp_cookie(mst)", "", false},
		{"not a cookie", other, "req.rdp_cookie", "", false},
		{"short", full[:20], "req.rdp_cookie(mstshash)", "", false},
		{"no crlf yet", full[:len("Cookie: mstshash=Alice")+11+1], "req.rdp_cookie", "", false},
		{"cnt", full, "req.rdp_cookie_cnt(mstshash)", "1", true},
		{"cnt any", msts, "rdp_cookie_cnt", "1", true},
		{"cnt other", full, "req.rdp_cookie_cnt(msts)", "0", true},
		{"cnt not a cookie", other, "req.rdp_cookie_cnt", "0", true},
		{"cnt short", full[:12], "req.rdp_cookie_cnt", "", false},
		{"empty", nil, "req.rdp_cookie_cnt", "", false},
	} {
		tx := &Txn{Payload: tc.payload}
		got, ok := mustExpr(t, tc.expr).AppendString(nil, tx)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%s: %s = %q, %v; want %q, %v", tc.name, tc.expr, got, ok, tc.want, tc.ok)
		}
	}

	// RDP_COOKIE waits while the request may still complete, then holds
	// only with a cookie; the req_rdp_cookie ACL matches exact strings.
	s, err := NewSet([]*config.ACL{{Name: "alice", Args: []string{"req_rdp_cookie(mstshash)", "Alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		terms      string
		payload    []byte
		inspecting bool
		want       Result
	}{
		{"RDP_COOKIE", full[:15], true, Miss},
		{"RDP_COOKIE", full[:15], false, Fail},
		{"RDP_COOKIE", full, true, Pass},
		{"RDP_COOKIE", other, true, Fail},
		{"! RDP_COOKIE", other, false, Pass},
		{"alice", full, false, Pass},
		{"alice", msts, false, Fail},
	} {
		c, err := s.Cond(&config.Cond{Terms: strings.Fields(tc.terms)})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Eval(&Txn{Payload: tc.payload, Inspecting: tc.inspecting}); got != tc.want {
			t.Errorf("%s on %d bytes (inspecting %v) = %v, want %v", tc.terms, len(tc.payload), tc.inspecting, got, tc.want)
		}
	}
}

// TestResponseFetches: res.len, res.payload, res.payload_lv and
// res.ssl_hello_type read the server's bytes (not the request's), wait
// while more may come, and refuse what HAProxy refuses.
func TestResponseFetches(t *testing.T) {
	banner := []byte("220 mail ESMTP\r\n")
	serverHello := []byte{0x16, 3, 3, 0, 6, 2, 0, 0, 2, 3, 3}
	lv := []byte{0, 3, 'a', 'b', 'c', 'd'}
	for _, tc := range []struct {
		name    string
		payload []byte
		expr    string
		want    string
		ok      bool
	}{
		{"len", banner, "res.len", "16", true},
		{"len empty", nil, "res.len", "0", true},
		{"payload", banner, "res.payload(0,3)", "220", true},
		{"payload hex", banner, "res.payload(4,4),hex", "6D61696C", true},
		{"payload to end", banner, "res.payload(4,0)", "mail ESMTP\r\n", true},
		{"payload short", banner, "res.payload(0,17)", "", false},
		{"payload past bufsize", banner, "res.payload(0,20000)", "", false},
		{"lv", lv, "res.payload_lv(0,2)", "abc", true},
		{"lv absolute", lv, "res.payload_lv(1,1,3)", "bcd", true},
		{"lv relative", lv, "res.payload_lv(0,2,+1)", "bcd", true},
		{"lv short", lv[:4], "res.payload_lv(0,2)", "", false},
		{"lv zero size", []byte{0, 0, 1}, "res.payload_lv(0,2)", "", false},
		{"hello type", serverHello, "res.ssl_hello_type", "2", true},
		{"hello type alias", serverHello, "rep_ssl_hello_type", "2", true},
		{"hello incomplete", serverHello[:10], "res.ssl_hello_type", "", false},
		{"hello not tls", banner, "res.ssl_hello_type", "", false},
	} {
		tx := &Txn{ResPayload: tc.payload, Payload: []byte("request bytes")}
		got, ok := mustExpr(t, tc.expr).AppendString(nil, tx)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%s: %s = %q, %v; want %q, %v", tc.name, tc.expr, got, ok, tc.want, tc.ok)
		}
	}
	if got, ok := mustExpr(t, "req.payload_lv(0,1)").AppendString(nil, &Txn{Payload: []byte{2, 'h', 'i', '!'}}); !ok || string(got) != "hi" {
		t.Errorf("req.payload_lv(0,1) = %q, %v", got, ok)
	}
	for _, bad := range []string{"res.payload(-1,2)", "res.payload_lv(0,0)", "res.payload_lv(-1,1)", "res.payload_lv(0,1,x)", "res.payload_lv(1,1,-5)"} {
		if _, err := CompileExpr(bad, config.Pos{}); err == nil {
			t.Errorf("%s compiled", bad)
		}
	}

	// While inspecting, a block not there yet is a Miss, res.len too (it
	// may grow); once final, a missing block is a plain failure.
	s, err := NewSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		terms      string
		payload    []byte
		inspecting bool
		want       Result
	}{
		{"{ res.payload(0,3) -m str 220 }", banner[:2], true, Miss},
		{"{ res.payload(0,3) -m str 220 }", banner[:2], false, Fail},
		{"{ res.payload(0,3) -m str 220 }", banner, true, Pass},
		{"{ res.len gt 20 }", banner, true, Miss},
		{"{ res.len gt 20 }", banner, false, Fail},
		{"{ res.ssl_hello_type 2 }", serverHello[:4], true, Miss},
	} {
		c, err := s.Cond(&config.Cond{Terms: strings.Fields(tc.terms)})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Eval(&Txn{ResPayload: tc.payload, Inspecting: tc.inspecting}); got != tc.want {
			t.Errorf("%s on %d bytes (inspecting %v) = %v, want %v", tc.terms, len(tc.payload), tc.inspecting, got, tc.want)
		}
	}
	// The response buffer only exists for tcp-response content rules.
	c, err := s.Cond(&config.Cond{Terms: []string{"{", "res.len", "gt", "0", "}"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(CtxTCPResponse); err != nil {
		t.Errorf("res.len in a tcp-response rule: %v", err)
	}
	for _, ctx := range []Context{CtxTCPContent, CtxHTTPRequest, CtxHTTPResponse} {
		if err := c.Check(ctx); err == nil {
			t.Errorf("res.len accepted in a %v", ctx)
		}
	}
	// An ACL on the request buffer there is HAProxy's "will never match"
	// warning, and fails.
	rc, _ := s.Cond(&config.Cond{Terms: []string{"{", "req.len", "gt", "0", "}"}})
	if err := rc.Check(CtxTCPResponse); err == nil {
		t.Errorf("req.len accepted in a tcp-response rule")
	}
	warnings, rest := rc.Conflicts(CtxTCPResponse, "backend tcp-response content rule")
	if len(warnings) != 1 || !strings.Contains(warnings[0], "uses keyword 'req.len' which is incompatible with 'backend tcp-response content rule'") || CheckContext(rest, CtxTCPResponse) != nil {
		t.Errorf("req.len in a tcp-response rule: %q, rest %v", warnings, rest)
	}
	if r := rc.Eval(&Txn{Payload: []byte("x"), InTCPResponse: true}); r != Fail {
		t.Errorf("req.len gt 0 in a tcp-response rule = %v, want fail", r)
	}
	if r := c.Eval(&Txn{ResPayload: []byte("x"), InTCPResponse: true}); r != Pass {
		t.Errorf("res.len gt 0 in a tcp-response rule = %v, want pass", r)
	}
}
