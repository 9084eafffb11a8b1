package http1

import (
	"bytes"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// ReadRequest reads the next request head into req (which is Reset first).
// It returns io.EOF when the connection closed cleanly before any byte of a
// request, io.ErrUnexpectedEOF when it closed inside a head, a *ProtocolError
// for a request to refuse (its Status is the answer), or the connection's own
// error (a timeout is the net.Error, unchanged). See Reader for how long the
// strings in req stay valid. The body, if any, must be consumed (Body or
// CopyBody with RequestFraming) before the next ReadRequest, or its bytes
// would be parsed as the next head.
func (r *Reader) ReadRequest(req *httpmsg.Request) error {
	req.Reset()
	r.resp = false
	r.cs = chunkState{}
	head, err := r.readHead()
	if err != nil {
		return err
	}
	return parseRequest(head, req, &r.lim)
}

// ParseRequest parses a complete request head held in b (ending with its
// empty line) into req. Strings in req alias b.
func ParseRequest(b []byte, req *httpmsg.Request, lim Limits) error {
	req.Reset()
	if end, _, _ := findHeadEnd(b, 0); end != len(b) {
		return &ProtocolError{Status: 400, Msg: "incomplete head or bytes after it"}
	}
	lim = lim.normalized()
	return parseRequest(b, req, &lim)
}

func parseRequest(b []byte, req *httpmsg.Request, lim *Limits) error {
	line, i := nextLine(b, 0)
	if err := parseRequestLine(line, req, lim); err != nil {
		return err
	}
	if _, err := parseFields(b, i, &req.Header, lim.MaxHeaders, false, lim.AcceptInvalid); err != nil {
		return err
	}
	hi, perr := scanHead(req.Header, false)
	if perr != nil {
		return perr
	}
	return requestSemantics(req, &hi, lim)
}

var (
	errBadRequestLine = &ProtocolError{Status: 400, Msg: "malformed request line"}
	errBadMethod      = &ProtocolError{Status: 400, Msg: "invalid method"}
	errBadURI         = &ProtocolError{Status: 400, Msg: "invalid request-target"}
	errURITooLong     = &ProtocolError{Status: 414, Msg: "request-target too long"}
	errBadVersion     = &ProtocolError{Status: 400, Msg: "malformed HTTP version"}
	errVersion        = &ProtocolError{Status: 505, Msg: "HTTP version not supported"}
)

// parseRequestLine: method SP request-target SP HTTP-version, with exactly
// one space between parts (RFC 9112 §3; lenient whitespace splitting is a
// smuggling vector, so none is allowed).
func parseRequestLine(line []byte, req *httpmsg.Request, lim *Limits) error {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		return errBadRequestLine
	}
	if sp1 == 0 || !allClass(line[:sp1], cToken) {
		return errBadMethod
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 < 0 {
		return errBadRequestLine // HTTP/0.9 or missing version
	}
	uri, ver := rest[:sp2], rest[sp2+1:]
	if len(uri) == 0 {
		return errBadRequestLine
	}
	if len(uri) > lim.MaxURI {
		return errURITooLong
	}
	if !allClass(uri, cURI) && (!lim.AcceptInvalid || !allClass(uri, cURIInvalid)) {
		return errBadURI
	}
	major, minor, err := parseVersion(ver, false)
	if err != nil {
		return err
	}
	req.Method = internMethod(line[:sp1])
	req.URI = str(uri)
	req.Major, req.Minor = major, minor
	req.Proto = protoString(minor)
	return nil
}

// parseVersion accepts exactly "HTTP/1.0" and "HTTP/1.1". Other well-formed
// versions are 505; anything else (lowercase, missing digits) is malformed.
func parseVersion(v []byte, resp bool) (major, minor int, err error) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' ||
		v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		if resp {
			return 0, 0, perr(true, 502, "malformed HTTP version")
		}
		return 0, 0, errBadVersion
	}
	major, minor = int(v[5]-'0'), int(v[7]-'0')
	if major != 1 || minor > 1 {
		if resp {
			return 0, 0, perr(true, 502, "unsupported HTTP version")
		}
		return 0, 0, errVersion
	}
	return major, minor, nil
}

func protoString(minor int) string {
	if minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// internMethod returns a constant for the common methods, so they outlive
// the arena and compare by pointer; others alias the arena.
func internMethod(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	case "PATCH":
		return "PATCH"
	case "CONNECT":
		return "CONNECT"
	case "TRACE":
		return "TRACE"
	}
	return str(m)
}

var (
	errNoHost        = &ProtocolError{Status: 400, Msg: "missing Host"}
	errManyHosts     = &ProtocolError{Status: 400, Msg: "more than one Host"}
	errBadHost       = &ProtocolError{Status: 400, Msg: "invalid Host"}
	errCLTE          = &ProtocolError{Status: 400, Msg: "both Content-Length and Transfer-Encoding"}
	errTE10          = &ProtocolError{Status: 400, Msg: "Transfer-Encoding in an HTTP/1.0 request"}
	errPayload10     = &ProtocolError{Status: 413, Msg: "HTTP/1.0 GET/HEAD/DELETE request with a payload"}
	errTargetForm    = &ProtocolError{Status: 400, Msg: "request-target form does not match the method"}
	errUserinfo      = &ProtocolError{Status: 400, Msg: "userinfo in request-target"}
	errEmptyAuthorty = &ProtocolError{Status: 400, Msg: "empty authority in request-target"}
)

func requestSemantics(req *httpmsg.Request, hi *headInfo, lim *Limits) error {
	// Host (RFC 9112 §3.2): exactly one in HTTP/1.1, at most one in 1.0.
	if hi.hosts > 1 {
		return errManyHosts
	}
	if hi.hosts == 0 && req.Minor == 1 {
		return errNoHost
	}
	if hi.hosts == 1 && !allClassStr(hi.host, cHost) {
		return errBadHost
	}
	if err := checkTarget(req, lim.AcceptInvalid); err != nil {
		return err
	}
	if req.Method == "CONNECT" {
		if err := checkConnect(req, hi); err != nil {
			return err
		}
	}

	// HTTP/1.0 leaves open whether GET, HEAD and DELETE carry a payload,
	// so a server may ignore one an intermediary forwards: a smuggling
	// vector HAProxy 2.6 closes with 413 (before its other framing
	// checks) unless "h1-accept-payload-with-any-method" is set.
	if !lim.AcceptPayloadAnyMethod && req.Minor == 0 && (hi.cl > 0 || hi.teOnly) &&
		(req.Method == "GET" || req.Method == "HEAD" || req.Method == "DELETE") {
		return errPayload10
	}

	// Framing (RFC 9112 §6.1, §6.3).
	if hi.te {
		if req.Minor == 0 {
			return errTE10
		}
		if hi.clCount > 0 {
			return errCLTE
		}
		if hi.teErr != nil {
			return hi.teErr
		}
		req.Chunked = true
		req.ContentLength = -1
	} else {
		req.ContentLength = hi.cl // 0 when absent
		normalizeContentLength(&req.Header, hi)
	}

	if req.Minor == 0 {
		req.Close = hi.connClose || !hi.connKeepAlive
	} else {
		req.Close = hi.connClose
		req.Expect100 = hi.expect100
		if hi.connUpgrade && hi.upgrades == 1 && hi.upgrade != "" {
			req.Upgrade = hi.upgrade
			// A WebSocket handshake names its key once (RFC 6455 §4.1):
			// without it the server's Sec-WebSocket-Accept cannot be
			// checked. HAProxy refuses it too.
			if HasToken(req.Upgrade, "websocket") && hi.wsKeys != 1 {
				return errWSKey
			}
		}
	}
	return nil
}

// checkTarget parses the request-target with httpmsg.ParseTarget, the one
// split every later stage uses, and checks its form against the method:
// authority-form for CONNECT only, asterisk-form for OPTIONS only. For
// absolute-form, Host is made to agree with the target's authority (RFC
// 9112 §3.2.2: the recipient MUST ignore Host and use the target's authority).
func checkTarget(req *httpmsg.Request, invalid bool) error {
	parse := httpmsg.ParseTarget
	if invalid {
		parse = httpmsg.ParseTargetInvalid // accept-invalid-http-request
	}
	tg, err := parse(req.URI)
	switch err {
	case nil:
	case httpmsg.ErrUserinfo:
		return errUserinfo
	case httpmsg.ErrEmptyAuthority:
		return errEmptyAuthorty
	default:
		return errBadURI
	}
	if (tg.Form == httpmsg.FormAuthority) != (req.Method == "CONNECT") {
		return errTargetForm
	}
	switch tg.Form {
	case httpmsg.FormAsterisk:
		if req.Method != "OPTIONS" {
			return errTargetForm
		}
	case httpmsg.FormAbsolute:
		// A Host naming another authority is refused, as HAProxy 2.6 does
		// (two hops could route the request by different names); one
		// naming the same authority stays as the client wrote it.
		h, ok := req.Header.Get("Host")
		if ok && !sameAuthority(tg.Scheme, h, tg.Authority) {
			return errAbsoluteHost
		}
		host, port := splitHostPort(tg.Authority)
		if def := defaultPort(tg.Scheme); def != "" && len(host) < len(tg.Authority) && (port == "" || port == def) {
			// The scheme's default port written out goes from the target,
			// and Host becomes the target's host (HAProxy 2.6's
			// http_scheme_based_normalize).
			req.URI = tg.Scheme + "://" + host + tg.PathQuery
			req.Header.Set("Host", host)
		} else if !ok {
			req.Header.Set("Host", tg.Authority)
		}
	}
	return nil
}

var errAbsoluteHost = &ProtocolError{Status: 400, Msg: "Host does not match the request-target's authority"}

// sameAuthority compares two host[:port] case-insensitively, an absent or
// empty port standing for the scheme's default one (80 for http, 443 for
// https), as HAProxy 2.6 compares Host with an absolute-form target.
func sameAuthority(scheme, a, b string) bool {
	ha, pa := splitHostPort(a)
	hb, pb := splitHostPort(b)
	def := defaultPort(scheme)
	if pa == "" {
		pa = def
	}
	if pb == "" {
		pb = def
	}
	return strings.EqualFold(ha, hb) && pa == pb
}

func defaultPort(scheme string) string {
	switch {
	case strings.EqualFold(scheme, "http"):
		return "80"
	case strings.EqualFold(scheme, "https"):
		return "443"
	}
	return ""
}

// splitHostPort splits host[:port], an IPv6 literal in brackets.
func splitHostPort(s string) (host, port string) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.HasSuffix(s, "]") {
		return s, ""
	}
	return s[:i], s[i+1:]
}

var (
	errConnectHost = &ProtocolError{Status: 400, Msg: "Host does not match the CONNECT authority"}
	errConnectBody = &ProtocolError{Status: 400, Msg: "CONNECT request with a body"}
	errWSKey       = &ProtocolError{Status: 400, Msg: "WebSocket upgrade without exactly one Sec-WebSocket-Key"}
)

// checkConnect holds a CONNECT request to what a tunnel needs (RFC 9110
// §9.3.6): the Host, when given, names the target's authority (a port may
// be left out only when it is 80 or 443, as HAProxy allows), and the
// request has no content: bytes after its head belong to the tunnel, so
// a declared body could not be framed the same way by every hop.
func checkConnect(req *httpmsg.Request, hi *headInfo) error {
	if hi.te || hi.cl > 0 {
		return errConnectBody
	}
	if hi.hosts == 0 {
		return nil
	}
	host, port, _ := httpmsg.SplitAuthority(req.URI)
	h, p := hi.host, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h, p = h[:i], h[i+1:]
	}
	if !strings.EqualFold(h, host) {
		return errConnectHost
	}
	if p == "" {
		if port != "80" && port != "443" {
			return errConnectHost
		}
	} else if p != port {
		return errConnectHost
	}
	return nil
}
