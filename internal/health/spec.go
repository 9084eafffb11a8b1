package health

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Kind is the family of a check, which decides its default rules and
// HAProxy's wording of errors.
type Kind uint8

const (
	KindTCP      Kind = iota // plain "check": connect (and TLS handshake)
	KindTCPCheck             // option tcp-check
	KindHTTP                 // option httpchk / http-check
)

type ruleKind uint8

const (
	ruleConnect ruleKind = iota
	ruleSend
	ruleExpect     // tcp-check expect
	ruleHTTPSend   // the check request
	ruleHTTPExpect // http-check expect (nil expect: HAProxy's default 2xx/3xx)
)

// rule is one step of a check, as HAProxy 2.2+ models every check as a
// tcp-check rule list.
type rule struct {
	kind    ruleKind
	step    int // 1-based step id in messages; 0 for the implicit connect
	connect *connectRule
	data    []byte
	expect  *expectRule
}

type connectRule struct {
	implicit  bool // the default connection (server's check settings)
	port      int
	ssl       bool
	sni       string
	alpn      []string
	sendProxy bool // "connect ... send-proxy": the server's PROXY header
}

type expectRule struct {
	negate  bool
	kind    string // status, rstatus, string, rstring, binary
	pattern string
	re      *regexp.Regexp
	codes   [][2]int
	bin     []byte
}

// Spec is the compiled check of one backend: what every server's checker
// runs. It is immutable and shared.
type Spec struct {
	Kind       Kind
	rules      []rule
	proto      []protoStep // KindProto's rules
	disable404 bool
}

// NeedsTLS reports whether a rule connects over TLS by itself
// ("http-check connect ssl", "tcp-check connect ssl").
func (s *Spec) NeedsTLS() bool {
	for _, r := range s.rules {
		if r.kind == ruleConnect && r.connect.ssl {
			return true
		}
	}
	return false
}

// DisableOn404 reports "http-check disable-on-404".
func (s *Spec) DisableOn404() bool { return s.disable404 }

// NewSpec compiles the check of backend p: option httpchk / http-check,
// option tcp-check / tcp-check, or a plain connect check. Unsupported
// keywords are errors at their line.
func NewSpec(p *config.Proxy) (*Spec, error) {
	hc, tc := p.HTTPCheck, p.TCPCheck
	if pc := p.ProtoCheck; pc != nil && (hc == nil || !later(hc.Pos, pc.Pos)) && (tc == nil || !later(tc.Pos, pc.Pos)) {
		return protoSpec(pc), nil
	}
	if hc != nil && tc != nil {
		// The later "option" wins, as in HAProxy where each replaces the other.
		if tc.Pos.File == hc.Pos.File && tc.Pos.Line > hc.Pos.Line {
			hc = nil
		} else {
			tc = nil
		}
	}
	switch {
	case hc != nil:
		return httpSpec(hc)
	case tc != nil:
		return tcpSpec(tc)
	}
	return &Spec{Kind: KindTCP, rules: []rule{{kind: ruleConnect, connect: &connectRule{implicit: true}}}}, nil
}

// later reports a position after pos in the same file: of a backend's
// check options the latest wins, as in HAProxy.
func later(at, pos config.Pos) bool { return at.File == pos.File && at.Line > pos.Line }

func httpSpec(hc *config.HTTPCheck) (*Spec, error) {
	sp := &Spec{Kind: KindHTTP, disable404: hc.DisableOn404}
	conn := &connectRule{implicit: true}
	if c := hc.Connect; c != nil {
		conn = &connectRule{port: c.Port, ssl: c.SSL, sni: c.SNI, alpn: c.ALPN, sendProxy: c.SendProxy}
	}
	sp.rules = append(sp.rules, rule{kind: ruleConnect, connect: conn})
	req, err := httpRequest(hc)
	if err != nil {
		return nil, err
	}
	sp.rules = append(sp.rules, rule{kind: ruleHTTPSend, data: req})
	if len(hc.Expect) == 0 {
		sp.rules = append(sp.rules, rule{kind: ruleHTTPExpect})
	}
	for _, e := range hc.Expect {
		er, err := compileExpect(e, true)
		if err != nil {
			return nil, err
		}
		sp.rules = append(sp.rules, rule{kind: ruleHTTPExpect, expect: er})
	}
	return sp, nil
}

// httpRequest builds the request bytes exactly as HAProxy 2.6 sends them:
// "OPTIONS / HTTP/1.0" by default, lower-case header names, and for
// HTTP/1.1 a content-length when there is a body and "connection: close".
func httpRequest(hc *config.HTTPCheck) ([]byte, error) {
	meth, uri, ver := hc.Method, hc.URI, hc.Version
	if meth == "" {
		meth = "OPTIONS"
	}
	if uri == "" {
		uri = "/"
	}
	if ver == "" {
		ver = "HTTP/1.0"
	}
	for _, s := range []string{meth, uri, ver} {
		if strings.ContainsAny(s, " \r\n") {
			return nil, config.Errorf(hc.Pos, "'option httpchk' : invalid request line element '%s'", s)
		}
	}
	var b strings.Builder
	b.WriteString(meth + " " + uri + " " + ver + "\r\n")
	hasConn := false
	for _, h := range hc.Headers {
		if strings.ContainsAny(h[0]+h[1], "\r\n") || h[0] == "" {
			return nil, config.Errorf(hc.Pos, "'http-check send' : invalid header '%s'", h[0])
		}
		name := strings.ToLower(h[0])
		if name == "connection" {
			hasConn = true
		}
		b.WriteString(name + ": " + h[1] + "\r\n")
	}
	if strings.EqualFold(ver, "HTTP/1.1") {
		if hc.Body != "" {
			b.WriteString("content-length: " + strconv.Itoa(len(hc.Body)) + "\r\n")
		}
		if !hasConn {
			b.WriteString("connection: close\r\n")
		}
	}
	b.WriteString("\r\n")
	b.WriteString(hc.Body)
	return []byte(b.String()), nil
}

func tcpSpec(tc *config.TCPCheck) (*Spec, error) {
	sp := &Spec{Kind: KindTCPCheck}
	if len(tc.Steps) == 0 || tc.Steps[0].Kind != "connect" {
		sp.rules = append(sp.rules, rule{kind: ruleConnect, connect: &connectRule{implicit: true}})
	}
	for i, st := range tc.Steps {
		r := rule{step: i + 1}
		switch st.Kind {
		case "connect":
			r.kind = ruleConnect
			r.connect = &connectRule{}
			if c := st.Connect; c != nil {
				r.connect = &connectRule{port: c.Port, ssl: c.SSL, sni: c.SNI, alpn: c.ALPN, sendProxy: c.SendProxy}
			}
		case "send":
			r.kind = ruleSend
			r.data = []byte(st.Data)
		case "send-binary":
			b, err := unhex(st.Data)
			if err != nil {
				return nil, config.Errorf(st.Pos, "'tcp-check send-binary' : %v", err)
			}
			r.kind, r.data = ruleSend, b
		case "expect":
			if st.Expect == nil {
				return nil, config.Errorf(st.Pos, "'tcp-check expect' expects a pattern")
			}
			er, err := compileExpect(st.Expect, false)
			if err != nil {
				return nil, err
			}
			r.kind, r.expect = ruleExpect, er
		default:
			return nil, config.Errorf(st.Pos, "'tcp-check %s' is not supported by Gatehouse (supported: connect, send, send-binary, expect)", st.Kind)
		}
		sp.rules = append(sp.rules, r)
	}
	return sp, nil
}

func compileExpect(e *config.CheckExpect, http bool) (*expectRule, error) {
	er := &expectRule{negate: e.Negate, kind: e.Kind, pattern: e.Pattern}
	kw := "tcp-check expect"
	if http {
		kw = "http-check expect"
	}
	var err error
	switch {
	case e.Kind == "string":
	case e.Kind == "rstring" || (http && e.Kind == "rstatus"):
		if er.re, err = regexp.Compile(e.Pattern); err != nil {
			return nil, config.Errorf(e.Pos, "'%s %s' : invalid regex '%s' : %v", kw, e.Kind, e.Pattern, err)
		}
	case http && e.Kind == "status":
		if er.codes, err = parseCodes(e.Pattern); err != nil {
			return nil, config.Errorf(e.Pos, "'%s status' : %v", kw, err)
		}
	case !http && e.Kind == "binary":
		if er.bin, err = unhex(e.Pattern); err != nil {
			return nil, config.Errorf(e.Pos, "'%s binary' : %v", kw, err)
		}
	default:
		sup := "string, rstring, binary"
		if http {
			sup = "status, rstatus, string, rstring"
		}
		return nil, config.Errorf(e.Pos, "'%s %s' is not supported by Gatehouse (supported: %s)", kw, e.Kind, sup)
	}
	return er, nil
}

// parseCodes reads HAProxy's "200", "200,302" or "200-399" status lists.
func parseCodes(s string) ([][2]int, error) {
	var out [][2]int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("invalid status code '%s'", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("invalid status range '%s'", part)
			}
		}
		out = append(out, [2]int{a, b})
	}
	return out, nil
}

func unhex(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("odd number of hex digits in '%s'", s)
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("invalid hex digits in '%s'", s)
		}
		out[i] = byte(v)
	}
	return out, nil
}
