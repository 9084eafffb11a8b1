package acl

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func condSet(t *testing.T) *Set {
	t.Helper()
	s, err := NewSet([]*config.ACL{
		{Pos: testPos, Name: "is_api", Args: []string{"path_beg", "/api/"}},
		{Pos: testPos, Name: "is_get", Args: []string{"method", "GET"}},
		{Pos: testPos, Name: "is_post", Args: []string{"method", "POST"}},
		{Pos: testPos, Name: "is_admin", Args: []string{"path_beg", "/admin"}},
		// two lines with one name are ORed
		{Pos: testPos, Name: "static", Args: []string{"path_end", ".css"}},
		{Pos: testPos, Name: "static", Args: []string{"path_beg", "/api/v1/"}},
		{Pos: testPos, Name: "internal", Args: []string{"src", "10.0.0.0/8"}},
		{Pos: testPos, Name: "resp_404", Args: []string{"status", "404"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCond(t *testing.T) {
	s := condSet(t)
	tx := testTxn() // GET /api/v1/users from 192.168.1.10
	tests := []struct {
		terms  string
		unless bool
		want   bool
	}{
		{"is_api", false, true},
		{"is_api", true, false},
		{"is_admin", true, true},
		{"is_api is_get", false, true},   // implicit AND
		{"is_api is_post", false, false}, // implicit AND
		{"is_post || is_api", false, true},
		{"is_post or is_api", false, true},
		{"is_post || is_admin", false, false},
		{"is_post is_api || is_get is_api", false, true},
		{"is_post is_api || is_get is_admin", false, false},
		{"! is_api", false, false},
		{"!is_api", false, false},
		{"!is_post", false, true},
		{"!!is_api", false, true},
		{"! !is_api", false, true},
		{"!is_post is_api", false, true},
		{"static", false, true}, // second line matches
		{"internal", false, false},
		{"!internal is_get", false, true},
		{"{ path_beg /api/ }", false, true},
		{"{ path_beg /nope }", false, false},
		{"!{ path_beg /nope }", false, true},
		{"! { path_beg /nope }", false, true},
		{"{ path_beg /nope } || { method GET }", false, true},
		{"is_get { hdr(host) -i www.example.com:8080 } !{ src 10.0.0.0/8 }", false, true},
		{"is_get { hdr(host) -i other }", false, false},
		{"{ path_beg /nope } || is_post || !is_admin", false, true},
		{"{ path_beg /nope } || is_post || !is_admin", true, false},
		{"resp_404 is_api", false, true},
		{"TRUE", false, true},
		{"FALSE || is_api", false, true},
		{"METH_GET is_api", false, true},
	}
	for _, tc := range tests {
		c, err := s.Cond(&config.Cond{Pos: testPos, Unless: tc.unless, Terms: strings.Fields(tc.terms)})
		if err != nil {
			t.Fatalf("%q: %v", tc.terms, err)
		}
		if got := c.Match(tx); got != tc.want {
			t.Errorf("%s = %v, want %v", c, got, tc.want)
		}
	}
}

func TestNilCond(t *testing.T) {
	c, err := condSet(t).Cond(nil)
	if c != nil || err != nil {
		t.Fatalf("Cond(nil) = %v, %v", c, err)
	}
	if !c.Match(testTxn()) || c.Eval(nil) != Pass || c.Uses() != 0 || c.Check(CtxTCPConnection) != nil {
		t.Error("a nil condition must match, need nothing and fit everywhere")
	}
}

func TestCondErrors(t *testing.T) {
	s := condSet(t)
	tests := []struct{ terms, want string }{
		{"is_apii", "parsing [t.cfg:7] : error detected while parsing 'if' condition : no such ACL : 'is_apii', did you mean 'is_api'?"},
		{"METH_GTE", "no such ACL : 'METH_GTE', did you mean 'METH_GET'?"},
		{"completely_unknown_name", "no such ACL : 'completely_unknown_name'"},
		{"", "missing condition after 'if'"},
		{"|| is_api", "missing ACL before '||'"},
		{"is_api ||", "missing ACL after '||'"},
		{"is_api or or is_get", "missing ACL before 'or'"},
		{"is_api !", "missing ACL after '!'"},
		{"! || is_api", "missing ACL after '!'"},
		{"{ path_beg /a", "missing '}' to close the anonymous ACL"},
		{"{ }", "empty anonymous ACL"},
		{"{ path_beg { x } }", "anonymous ACLs cannot be nested"},
		{"is_api }", "unexpected '}'"},
		{"{ path_bgn /a }", "in anonymous ACL : unknown fetch method 'path_bgn' in ACL expression 'path_bgn', did you mean 'path_beg'?"},
	}
	for _, tc := range tests {
		_, err := s.Cond(&config.Cond{Pos: testPos, Terms: strings.Fields(tc.terms)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("if %s: %v, want %q", tc.terms, err, tc.want)
		}
	}
	_, err := s.Cond(&config.Cond{Pos: testPos, Unless: true})
	if err == nil || !strings.Contains(err.Error(), "missing condition after 'unless'") {
		t.Errorf("empty unless: %v", err)
	}
}

func TestCondUsesAndCheck(t *testing.T) {
	s := condSet(t)
	tests := []struct {
		terms string
		need  Need
		ctx   Context
		err   string
	}{
		{"is_api", NeedReq | NeedReqVolatile, CtxHTTPRequest, ""},
		{"resp_404", NeedResp, CtxHTTPRequest, "acl 'resp_404' will never match because keyword 'status' extracts information from 'HTTP response headers', none of which is available in a http-request rule"},
		{"resp_404 || is_api", NeedResp | NeedReq | NeedReqVolatile, CtxHTTPResponse, ""},
		{"internal", NeedConn, CtxTCPConnection, ""},
		{"{ req.ssl_hello_type 1 }", NeedPayload, CtxTCPContent, ""},
		{"{ req.ssl_sni -i a.example }", NeedPayload, CtxTCPConnection, "keyword 'req.ssl_sni' extracts information from 'the request payload'"},
		{"WAIT_END", NeedWaitEnd, CtxTCPContent, ""},
		{"WAIT_END", NeedWaitEnd, CtxHTTPRequest, "the end of the inspection period"},
		{"{ oidc_claim(groups) admins }", NeedClaims, CtxHTTPRequest, ""},
		{"{ ssl_fc_sni a }", NeedTLS, CtxTCPConnection, "the client TLS layer"},
		{"TRUE", 0, CtxTCPConnection, ""},
	}
	for _, tc := range tests {
		c, err := s.Cond(&config.Cond{Pos: testPos, Terms: strings.Fields(tc.terms)})
		if err != nil {
			t.Fatalf("%s: %v", tc.terms, err)
		}
		if c.Uses() != tc.need {
			t.Errorf("%s uses %v, want %v", tc.terms, c.Uses(), tc.need)
		}
		err = c.Check(tc.ctx)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s in %v: %v, want %q", tc.terms, tc.ctx, err, tc.err)
		}
		if err := CheckContext(tc.need, tc.ctx); (err == nil) != (tc.err == "") {
			t.Errorf("CheckContext(%v, %v) = %v", tc.need, tc.ctx, err)
		}
	}
}

// TestCondConflicts: ACLs reading what a rule's direction lacks are
// HAProxy's "will never match" warnings, and fail (the volatile request
// in a response) or miss (the response in a request) when evaluated.
func TestCondConflicts(t *testing.T) {
	s := condSet(t)
	tests := []struct {
		terms    string
		ctx      Context
		warnings string
		rest     Need
		inResp   bool
		want     Result
	}{
		{"is_api", CtxHTTPResponse, "acl 'is_api' will never match because it only involves keywords that are incompatible with 'frontend http-response header rule'", NeedReq, true, Fail},
		{"!is_api", CtxHTTPResponse, "acl 'is_api' will never match because it only involves keywords that are incompatible with 'frontend http-response header rule'", NeedReq, true, Pass},
		{"{ path_beg /api }", CtxHTTPResponse, "anonymous acl will never match because it uses keyword 'path_beg' which is incompatible with 'frontend http-response header rule'", NeedReq, true, Fail},
		{"{ method GET }", CtxHTTPResponse, "", NeedReq, true, Pass},
		{"resp_404", CtxHTTPRequest, "acl 'resp_404' will never match because it only involves keywords that are incompatible with 'frontend http-request header rule'", 0, false, Miss},
		{"!resp_404", CtxHTTPRequest, "acl 'resp_404' will never match because it only involves keywords that are incompatible with 'frontend http-request header rule'", 0, false, Miss},
		{"is_api", CtxHTTPRequest, "", NeedReq | NeedReqVolatile, false, Pass},
	}
	for _, tc := range tests {
		c, err := s.Cond(&config.Cond{Pos: testPos, Terms: strings.Fields(tc.terms)})
		if err != nil {
			t.Fatalf("%s: %v", tc.terms, err)
		}
		where := "frontend http-request header rule"
		if tc.ctx == CtxHTTPResponse {
			where = "frontend http-response header rule"
		}
		w, rest := c.Conflicts(tc.ctx, where)
		if strings.Join(w, "; ") != tc.warnings || rest != tc.rest {
			t.Errorf("%s in %v: warnings %q, rest %v; want %q, %v", tc.terms, tc.ctx, w, rest, tc.warnings, tc.rest)
		}
		txn := &Txn{Req: &httpmsg.Request{Method: "GET", URI: "/api/x"}, InResponse: tc.inResp}
		if tc.inResp {
			txn.Resp = &httpmsg.Response{Status: 404}
		}
		if got := c.Eval(txn); got != tc.want {
			t.Errorf("%s evaluated in %v: %v, want %v", tc.terms, tc.ctx, got, tc.want)
		}
	}
}

// TestCondThreeState checks HAProxy's MISS logic during tcp inspection.
func TestCondThreeState(t *testing.T) {
	s := condSet(t)
	tests := []struct {
		terms      string
		unless     bool
		payload    string
		inspecting bool
		want       Result
	}{
		{"REQ_CONTENT", false, "", true, Miss},
		{"REQ_CONTENT", false, "", false, Fail},
		{"REQ_CONTENT", false, "x", true, Pass},
		{"!REQ_CONTENT", false, "", true, Miss},
		{"REQ_CONTENT", true, "", true, Miss},
		{"WAIT_END", false, "", true, Miss},
		{"WAIT_END", false, "", false, Pass},
		{"{ req.ssl_hello_type 1 }", false, "\x16\x03\x01", true, Miss},
		{"{ req.ssl_hello_type 1 }", false, "\x16\x03\x01", false, Fail},
		{"{ req.ssl_hello_type 1 }", false, "GET / HTTP/1.1\r\n", true, Fail},
		{"FALSE REQ_CONTENT", false, "", true, Fail},    // AND: FAIL wins
		{"TRUE REQ_CONTENT", false, "", true, Miss},     // AND: MISS over PASS
		{"TRUE || REQ_CONTENT", false, "", true, Pass},  // OR: PASS wins
		{"FALSE || REQ_CONTENT", false, "", true, Miss}, // OR: MISS over FAIL
		{"{ req.len ge 3 }", false, "ab", true, Miss},   // may still grow
		{"{ req.len ge 3 }", false, "ab", false, Fail},
		{"{ req.len lt 3 }", false, "ab", true, Pass},
	}
	for _, tc := range tests {
		c, err := s.Cond(&config.Cond{Pos: testPos, Unless: tc.unless, Terms: strings.Fields(tc.terms)})
		if err != nil {
			t.Fatalf("%s: %v", tc.terms, err)
		}
		tx := &Txn{Payload: []byte(tc.payload), Inspecting: tc.inspecting}
		if got := c.Eval(tx); got != tc.want {
			t.Errorf("%s (payload %q, inspecting %v) = %v, want %v", c, tc.payload, tc.inspecting, got, tc.want)
		}
	}
}
