package acl

import (
	"fmt"
	"strings"
)

// Need is a bitmask of what an expression or condition reads. The proxy uses
// it to reject a fetch where its data cannot exist (a response header in an
// http-request rule) and to know which tcp-request content rules inspect.
type Need uint16

const (
	NeedConn    Need = 1 << iota // addresses and ports of the connection
	NeedTLS                      // the TLS layer of the client connection (ssl_fc*)
	NeedPayload                  // the peeked L4 payload (req.len, req.ssl_sni, ...)
	NeedReq                      // the HTTP request head
	NeedResp                     // the HTTP response head
	NeedClaims                   // identity claims (oidc_claim)
	NeedWaitEnd                  // the end of the inspection period (WAIT_END)
	// NeedReqVolatile marks the request fetches HAProxy cannot answer once
	// the response is there (SMP_USE_HRQHV: path, url, req.hdr, cook, ...),
	// as opposed to what it keeps (method, capture.req.*). Gatehouse keeps
	// the request, so such expressions work in response rules and logs;
	// an ACL using one there never matches, as in HAProxy.
	NeedReqVolatile
	// NeedResPayload: the server's first bytes, as tcp-response content
	// rules see them (res.len, res.payload, ...).
	NeedResPayload
)

var needNames = []struct {
	n    Need
	name string
}{
	{NeedConn, "connection addresses"},
	{NeedTLS, "the client TLS layer"},
	{NeedPayload, "the request payload"},
	{NeedReq, "HTTP request headers"},
	{NeedResp, "HTTP response headers"},
	{NeedClaims, "identity claims"},
	{NeedWaitEnd, "the end of the inspection period"},
	{NeedResPayload, "the response buffer"},
	// NeedReqVolatile always comes with NeedReq: named by it.
}

func (n Need) String() string {
	var parts []string
	for _, e := range needNames {
		if n&e.n != 0 {
			parts = append(parts, e.name)
		}
	}
	return strings.Join(parts, ", ")
}

// Context is where an expression or condition is evaluated.
type Context uint8

const (
	CtxTCPConnection Context = iota // tcp-request connection
	CtxTCPContent                   // tcp-request content (and use_backend in mode tcp)
	CtxHTTPRequest                  // http-request rules, use_backend, redirect
	CtxHTTPResponse                 // http-response rules
	CtxLog                          // log-format, evaluated at the end of the stream
	CtxTCPSession                   // tcp-request session: after the handshakes, no content
	CtxTCPResponse                  // tcp-response content: the server's first bytes
)

func (c Context) String() string {
	switch c {
	case CtxTCPConnection:
		return "tcp-request connection rule"
	case CtxTCPContent:
		return "tcp-request content rule"
	case CtxHTTPRequest:
		return "http-request rule"
	case CtxHTTPResponse:
		return "http-response rule"
	case CtxTCPSession:
		return "tcp-request session rule"
	case CtxTCPResponse:
		return "tcp-response content rule"
	}
	return "log-format"
}

// allowed is what each context can read. Gatehouse keeps the request while
// the response is processed, so unlike HAProxy request fetches stay usable in
// http-response rules and logs.
func (c Context) allowed() Need {
	switch c {
	case CtxTCPConnection:
		return NeedConn
	case CtxTCPSession:
		return NeedConn | NeedTLS
	case CtxTCPContent:
		return NeedConn | NeedTLS | NeedPayload | NeedReq | NeedReqVolatile | NeedWaitEnd
	case CtxTCPResponse:
		// HAProxy's SMP_VAL_BE_RES_CNT: no request buffer, no HTTP.
		return NeedConn | NeedTLS | NeedResPayload | NeedWaitEnd
	case CtxHTTPRequest:
		return NeedConn | NeedTLS | NeedPayload | NeedReq | NeedReqVolatile | NeedClaims
	case CtxHTTPResponse, CtxLog:
		return NeedConn | NeedTLS | NeedPayload | NeedReq | NeedReqVolatile | NeedResp | NeedClaims
	}
	return 0
}

// absentIn is what HAProxy accepts in an ACL of a ctx rule but never
// finds there, so the ACL never matches (with a warning): the response in
// a request rule, the volatile request in a response rule.
func (c Context) absentIn() Need {
	switch c {
	case CtxTCPContent, CtxHTTPRequest:
		return NeedResp
	case CtxHTTPResponse:
		return NeedReqVolatile
	case CtxTCPResponse:
		return NeedPayload | NeedReq | NeedReqVolatile | NeedResp | NeedClaims
	}
	return 0
}

// volatileRequestFetches are HAProxy 2.6's SMP_USE_HRQHV fetches that
// Gatehouse has (hdr and cookie read the response in a response rule).
func volatileRequestFetches() []string {
	return []string{
		"base", "base32", "base32+src", "baseq",
		"cook", "cook_cnt", "cook_val", "hdr_cnt", "hdr_ip", "hdr_val",
		"http_auth_type", "http_auth_user", "http_auth_pass", "http_auth", "http_auth_group",
		"path", "pathq", "query", "req.ver", "req_ver",
		"req.body", "req.body_len", "req.body_size", "req.body_param",
		"req.hdrs", "req.hdrs_bin", "req.cook", "req.cook_cnt", "req.cook_val",
		"req.fhdr", "req.fhdr_cnt", "req.hdr", "req.hdr_cnt", "req.hdr_ip", "req.hdr_names", "req.hdr_val",
		"url", "url32", "url32+src", "url_ip", "url_port", "url_param", "urlp", "urlp_val",
	}
}

// CheckContext reports an error when need reads something ctx cannot provide.
// Expr.Check and Cond.Check give the same verdict naming the keyword.
func CheckContext(need Need, ctx Context) error {
	if bad := need &^ ctx.allowed(); bad != 0 {
		return fmt.Errorf("extracts information from '%s', none of which is available in a %s", bad, ctx)
	}
	return nil
}
