package proxy

import (
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// RuleKind is what an http-request / http-response rule does.
type RuleKind uint8

const (
	RuleSetHeader RuleKind = iota
	RuleAddHeader
	RuleDelHeader
	RuleReplaceHeader
	RuleReplaceValue
	RuleSetPath
	RuleSetQuery
	RuleSetURI
	RuleRedirect
	RuleDeny
	RuleReturn
	RuleAllow
	RuleUseService
	RuleCustom // identity and other extensions: Custom is called
	RuleSetPathQ
	RuleReplacePath
	RuleReplacePathQ
	RuleReplaceURI
	RuleSetMethod
	RuleSetStatus
	RuleSetLogLevel
	RuleSetSrc
	RuleSetDst
	RuleSetSrcPort
	RuleSetDstPort
	RuleSetTimeout
	RuleStrictMode
	RuleNormalizeURI
	RuleEarlyHint
	RuleReject     // http-request reject: close without an answer
	RuleSilentDrop // http-request/http-response silent-drop
	RuleTarpit     // http-request tarpit: answer after "timeout tarpit"
	RuleWaitForBody
)

// verdict is the outcome of running a rule list.
type verdict uint8

const (
	verdictContinue verdict = iota // next rule, then routing
	verdictAllow                   // stop evaluating rules, go on
	verdictReply                   // a local reply was produced (deny, redirect, return, service)
	verdictGone                    // the transaction ended (a wait for the body failed)
)

// Rule is one compiled http-request or http-response rule.
type Rule struct {
	Kind                   RuleKind
	Cond                   *acl.Cond
	Name                   string          // header name
	Value                  *logging.Format // header value, path, query, uri, location, return body (lf-string)
	Regex                  *regexp.Regexp  // replace-header / replace-value
	Static                 []byte          // return body / errorfile content
	Status                 int
	Reason                 string        // set-status
	LogLevel               int8          // set-log-level: a logging.Level, or -1 for silent
	Expr                   *acl.Expr     // set-src, set-dst, set-src-port, set-dst-port, set-timeout
	Timeout                time.Duration // set-timeout's fixed value; wait-for-body's time
	AtLeast                int64         // wait-for-body's at-least
	On                     bool          // strict-mode on
	ContentType            string
	Redirect               RedirectKind
	DropQuery, AppendSlash bool
	IgnoreEmpty            bool    // redirect: skip the rule when the target format gives ""
	Cookie                 string  // redirect: a Set-Cookie value to add
	Service                Service // use-service
	// Reply options of return and deny: ErrorPage answers the proxy's
	// error page for Status; RawReply sends Static, a complete HTTP
	// response (errorfile); otherwise Static or Value is the body, with
	// ContentType and the "hdr NAME FMT" Headers.
	Headers   []ReplyHeader
	ErrorPage bool
	RawReply  bool
	// Custom runs extension actions (identity). It returns the verdict and,
	// for verdictReply, fills the reply.
	Custom func(t *Txn) (replied bool)
}

// ReplyHeader is one "hdr NAME FMT" of a return or deny rule.
type ReplyHeader struct {
	Name  string
	Value *logging.Format
}

// RedirectKind is the redirect rule's form.
type RedirectKind uint8

const (
	RedirectLocation RedirectKind = iota
	RedirectPrefix
	RedirectScheme
)

// Service answers requests locally (stats page, Prometheus exporter, JWKS).
type Service interface {
	Serve(t *Txn) *Reply
}

// GuardedService is a Service with access rules of its own ("stats
// http-request"), run before the request counts as intercepted: a
// non-nil reply is sent instead of the service's; denied counts it as a
// denied request, as HAProxy's deny does, else (an auth challenge) as an
// intercepted one on a frontend, as HAProxy's auth action does.
type GuardedService interface {
	Service
	Access(t *Txn) (r *Reply, denied bool)
}

// serviceAccess runs svc's access rules, if it has some.
func serviceAccess(svc Service, t *Txn) (*Reply, bool) {
	g, ok := svc.(GuardedService)
	if !ok {
		return nil, false
	}
	r, denied := g.Access(t)
	if r != nil && r.Body == nil {
		r = t.errorReply(r.Status) // HAProxy's page (or the errorfile) for the status
	}
	return r, denied
}

// Reply is a locally generated response.
type Reply struct {
	Status int
	Reason string // "": the status's usual reason phrase
	Header httpmsg.Headers
	Body   []byte
	// AsIs: the configuration wrote this reply (return, deny with a
	// body): no Cache-Control is added to it, as HAProxy adds none.
	AsIs bool
}

// evalFormat renders f into the transaction's arena and returns a string
// that lives until the transaction ends.
func (t *Txn) evalFormat(f *logging.Format) string {
	start := len(t.arena)
	t.arena = f.Append(t.arena, &t.log)
	return unsafeString(t.arena[start:])
}

// runRequestRules applies http-request rules to the request.
func (t *Txn) runRequestRules(rules []*Rule) verdict { return t.runRules(rules, false) }

// runResponseRules applies http-response rules; a deny or return replaces
// the response. Fetches like hdr() read the response meanwhile.
func (t *Txn) runResponseRules(rules []*Rule) verdict {
	t.acl.InResponse = true
	v := t.runRules(rules, true)
	t.acl.InResponse = false
	return v
}

// runRules evaluates rules in order and stops at the first final action
// (allow, deny, redirect, return, use-service, an extension's reply).
func (t *Txn) runRules(rules []*Rule, response bool) verdict {
	h, phase := &t.Req.Header, byte('R')
	if response {
		h, phase = &t.Resp.Header, 'H'
	}
	strict := true // each rule set starts strict, as in HAProxy
	for i, r := range rules {
		if r.Cond != nil && !r.Cond.Match(&t.acl) {
			continue
		}
		switch r.Kind {
		case RuleAllow:
			return verdictAllow
		case RuleDeny:
			t.reply = t.returnReply(r)
			t.termState = [2]byte{'P', phase}
			if response {
				t.deniedResp = true
			} else {
				t.stick.Denied()
				t.denied = true
			}
			return verdictReply
		case RuleReturn:
			t.reply = t.returnReply(r)
			t.termState = [2]byte{'L', phase}
			return verdictReply
		case RuleReject, RuleSilentDrop:
			t.kill = killReject
			if r.Kind == RuleSilentDrop {
				t.kill = killSilent
			}
			// Counted as denied requests, in both directions, and logged
			// PR: HAProxy's action marks the stream before any analyser.
			t.termState = [2]byte{'P', 'R'}
			if response {
				t.sess.countDenyReq()
				if t.be != nil {
					t.be.Counters.DenyReq.Add(1)
				}
			} else {
				t.denied = true
			}
			return verdictReply
		case RuleWaitForBody:
			if !t.waitBody(r.AtLeast, clock.Mono()+int64(r.Timeout)) {
				return verdictGone
			}
		case RuleTarpit:
			t.reply = t.returnReply(r)
			t.tarpit = true
			t.termState = [2]byte{'P', 'T'}
			t.stick.Denied()
			t.denied = true
			return verdictReply
		case RuleRedirect:
			rep := t.redirectReply(r)
			if rep == nil {
				continue // ignore-empty and an empty target
			}
			t.reply = rep
			t.termState = [2]byte{'L', phase}
			return verdictReply
		case RuleUseService:
			t.reply = r.Service.Serve(t)
			t.clk.spend() // services and extensions may wait (a body, an IdP)
			t.termState = [2]byte{'L', phase}
			return verdictReply
		case RuleSetSrc, RuleSetDst, RuleSetSrcPort, RuleSetDstPort:
			t.setAddr(r)
		case RuleSetLogLevel:
			t.logLevel = r.LogLevel
			if r.LogLevel >= 0 {
				t.logLevel = r.LogLevel + 1
			}
		case RuleSetStatus:
			t.Resp.Status, t.Resp.Reason = r.Status, r.Reason
		case RuleCustom:
			replied := r.Custom(t)
			t.clk.spend()
			if replied {
				return verdictReply
			}
		case RuleEarlyHint:
			// HTTP/1.1 and later clients only, as HAProxy.
			if t.Req.Major > 1 || t.Req.Major == 1 && t.Req.Minor >= 1 {
				t.hints = append(t.hints, httpmsg.Header{Name: r.Name, Value: t.evalFormat(r.Value)})
				// The 103 goes unless the next rule adds to it: one more
				// early-hint without a condition (HAProxy 2.6's rule).
				if i+1 == len(rules) || rules[i+1].Kind != RuleEarlyHint || rules[i+1].Cond != nil {
					t.sendHints()
				}
			}
		case RuleNormalizeURI:
			if !t.normalizeURI(r) {
				t.reply = t.errorReply(400) // a strict normalizer's invalid input
				t.termState = [2]byte{'P', phase}
				return verdictReply
			}
		case RuleStrictMode:
			strict = r.On
		case RuleSetTimeout:
			t.setTimeout(r)
		case RuleSetPath, RuleSetQuery, RuleSetURI, RuleSetPathQ, RuleReplacePath, RuleReplacePathQ, RuleReplaceURI, RuleSetMethod:
			method, uri := t.Req.Method, t.Req.URI
			if !t.rewriteRequestLine(r) {
				if !strict {
					// strict-mode off: the failed rewrite is skipped.
					t.Req.Method, t.Req.URI = method, uri
					continue
				}
				// A rewrite that leaves no valid request-target is an
				// internal error (HAProxy's strict-mode default), never
				// a target another stage would read differently.
				t.reply = t.errorReply(500)
				t.termState = [2]byte{'I', phase}
				return verdictReply
			}
		default:
			var saved httpmsg.Headers
			if !strict {
				saved = append(saved, *h...)
			}
			t.applyHeaderRule(r, h)
			if r.Kind != RuleDelHeader && t.headOverflows(response) {
				// The rewrite does not fit the buffer: HAProxy's failed
				// rewrite, an internal error under its default strict-mode,
				// skipped after "strict-mode off".
				t.countFailedRewrite()
				if !strict {
					*h = saved
					continue
				}
				t.reply = t.errorReply(500)
				t.termState = [2]byte{'I', phase}
				return verdictReply
			}
		}
	}
	return verdictContinue
}

// headOverflows tells whether the request (response) head no longer fits
// the buffer (tune.bufsize): what a client or server may send is
// bufsize - maxrewrite, the rest is the room rules may add to it.
func (t *Txn) headOverflows(response bool) bool {
	limit := t.sess.fe.Limits.BufSize
	n := 0
	h := t.Req.Header
	if response {
		h = t.Resp.Header
		n = len("HTTP/1.1 200 ") + len(t.Resp.Reason) + 2
	} else {
		n = len(t.Req.Method) + len(t.Req.URI) + len(" HTTP/1.1\r\n") + 1
	}
	for i := range h {
		if n += len(h[i].Name) + len(h[i].Value) + 4; n+2 > limit {
			return true
		}
	}
	return false
}

// countFailedRewrite counts a rewrite that did not fit in wrew, on the
// frontend and on the backend once there is one, as HAProxy counts it.
func (t *Txn) countFailedRewrite() {
	t.sess.fe.Counters.WRew.Add(1)
	if t.be != nil && t.be.Counters != t.sess.fe.Counters {
		t.be.Counters.WRew.Add(1)
	}
}

func (t *Txn) applyHeaderRule(r *Rule, h *httpmsg.Headers) {
	switch r.Kind {
	case RuleSetHeader:
		h.Set(r.Name, t.evalFormat(r.Value))
	case RuleAddHeader:
		h.Add(r.Name, t.evalFormat(r.Value))
	case RuleDelHeader:
		h.Del(r.Name)
	case RuleReplaceHeader, RuleReplaceValue:
		t.replaceHeader(r, h)
	}
}

// replaceHeader implements replace-header (whole value) and replace-value
// (each comma-separated value), with \1-style back-references. As in
// HAProxy, a replaced value loses the blanks around it; the others, and
// the commas, stay as they were.
func (t *Txn) replaceHeader(r *Rule, h *httpmsg.Headers) {
	tmpl := t.evalFormat(r.Value)
	for i := range *h {
		f := &(*h)[i]
		if !equalFoldASCII(f.Name, r.Name) {
			continue
		}
		if r.Kind == RuleReplaceHeader {
			f.Value = t.regexReplace(r.Regex, f.Value, tmpl)
			continue
		}
		var out []byte // the arena grows as parts are replaced: build aside
		changed := false
		rest := f.Value
		for {
			part, more, found := strings.Cut(rest, ",")
			if v := strings.Trim(part, " \t"); v != "" {
				if m := r.Regex.FindStringSubmatchIndex(v); m != nil {
					part = string(expReplace(nil, v, tmpl, m))
					changed = true
				}
			}
			out = append(out, part...)
			if !found {
				break
			}
			out = append(out, ',')
			rest = more
		}
		if changed {
			start := len(t.arena)
			t.arena = append(t.arena, out...)
			f.Value = unsafeString(t.arena[start:])
		}
	}
}

// regexReplace returns tmpl expanded with the groups of re's first match
// in val (HAProxy's exp_replace: \N a group, \xHH a byte), replacing the
// whole value as HAProxy does; val unchanged when re does not match.
func (t *Txn) regexReplace(re *regexp.Regexp, val, tmpl string) string {
	m := re.FindStringSubmatchIndex(val)
	if m == nil {
		return val
	}
	start := len(t.arena)
	t.arena = expReplace(t.arena, val, tmpl, m)
	return unsafeString(t.arena[start:])
}

// rewriteTarget applies set-path, set-query or set-uri as HAProxy does,
// on the parts httpmsg.ParseTarget splits: set-path keeps an absolute
// target's scheme and authority and the query; set-query keeps everything
// before the first '?' and never removes a '?' that was there. It reports
// false when the result is not a request-target valid for the method.
func (t *Txn) rewriteTarget(r *Rule, v string) bool {
	uri := t.Req.URI
	tg, _ := httpmsg.ParseTarget(uri)
	start := len(t.arena)
	switch r.Kind {
	case RuleSetPath:
		if tg.Form == httpmsg.FormAbsolute {
			t.arena = append(t.arena, uri[:len(uri)-len(tg.PathQuery)]...)
		}
		t.arena = append(t.arena, v...)
		if tg.HasQuery {
			t.arena = append(t.arena, '?')
			t.arena = append(t.arena, tg.Query...)
		}
	case RuleSetQuery:
		if tg.HasQuery {
			uri = uri[:len(uri)-len(tg.Query)-1]
		}
		t.arena = append(t.arena, uri...)
		if tg.HasQuery || v != "" {
			t.arena = append(t.arena, '?')
			t.arena = append(t.arena, v...)
		}
	case RuleSetPathQ:
		if tg.Form == httpmsg.FormAbsolute {
			t.arena = append(t.arena, uri[:len(uri)-len(tg.PathQuery)]...)
		}
		t.arena = append(t.arena, v...)
	default: // RuleSetURI
		t.arena = append(t.arena, v...)
	}
	t.Req.URI = unsafeString(t.arena[start:])
	return validTarget(t.Req.Method, t.Req.URI)
}

// validTarget reports whether uri is a request-target of a form the method
// may use (RFC 9112 §3.2), as the codecs require of what clients send.
func validTarget(method, uri string) bool {
	tg, err := httpmsg.ParseTarget(uri)
	if err != nil {
		return false
	}
	switch tg.Form {
	case httpmsg.FormAuthority:
		return method == "CONNECT"
	case httpmsg.FormAsterisk:
		return method == "OPTIONS"
	}
	return method != "CONNECT"
}
