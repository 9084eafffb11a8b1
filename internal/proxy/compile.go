package proxy

import (
	"fmt"
	"regexp"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpcache"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// RuleEnv is what rule compilation needs from the builder.
type RuleEnv struct {
	ACLs *acl.Set
	// Format compiles a log-format string (header values, paths, ...).
	Format func(src string, pos config.Pos) (*logging.Format, error)
	// Service resolves "use-service NAME".
	Service func(name string, pos config.Pos) (Service, error)
	// Proxy is the name of the proxy the rules belong to: the realm of an
	// "auth" rule without one.
	Proxy string
	// Custom compiles extension actions (identity); nil when none exist.
	Custom func(a *config.HTTPAction) (func(t *Txn) bool, error)
	// Caches are the "cache" sections by name.
	Caches map[string]*httpcache.Cache
	// Where names the rules' proxy side as HAProxy's warnings do
	// ("frontend", "backend").
	Where string
	// Warn reports a start-time warning (an ACL that can never match).
	Warn func(pos config.Pos, msg string)
}

// CompileRules turns http-request or http-response lines into rules.
func CompileRules(actions []*config.HTTPAction, env *RuleEnv, response bool) ([]*Rule, error) {
	var out []*Rule
	for _, a := range actions {
		r, err := compileRule(a, env, response)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// compileReply fills the reply options of return and deny: the body (a
// string, a format, or an errorfile's complete response) and "hdr" pairs.
func compileReply(r *Rule, a *config.HTTPAction, env *RuleEnv, format func(string) error) error {
	r.ErrorPage = a.DefaultErrorfiles
	switch {
	case a.RawResponse:
		r.RawReply, r.Static = true, []byte(a.Body)
	case a.BodyIsFmt:
		if err := format(a.Body); err != nil {
			return err
		}
	case a.Body != "":
		r.Static = []byte(a.Body)
	}
	for _, h := range a.Headers {
		f, err := env.Format(h[1], a.Pos)
		if err != nil {
			return err
		}
		r.Headers = append(r.Headers, ReplyHeader{Name: h[0], Value: f})
	}
	return nil
}

func compileRule(a *config.HTTPAction, env *RuleEnv, response bool) (*Rule, error) {
	r := &Rule{Name: a.Name, Status: a.Status, ContentType: a.ContentType}
	if a.Cond != nil {
		c, err := env.ACLs.Cond(a.Cond)
		if err != nil {
			return nil, err
		}
		ctx, where := acl.CtxHTTPRequest, env.Where+" http-request header rule"
		if response {
			ctx, where = acl.CtxHTTPResponse, env.Where+" http-response header rule"
		}
		warnings, need := c.Conflicts(ctx, where)
		for _, w := range warnings {
			if env.Warn != nil {
				env.Warn(a.Pos, w)
			}
		}
		if err = acl.CheckContext(need, ctx); err != nil {
			return nil, config.Errorf(a.Pos, "'%s %s': %v", ruleKeyword(response), a.Action, err)
		}
		r.Cond = c
	}
	format := func(s string) error {
		f, err := env.Format(s, a.Pos)
		if err != nil {
			return err
		}
		r.Value = f
		return nil
	}
	var err error
	switch a.Action {
	case "set-header":
		r.Kind = RuleSetHeader
		err = format(a.Value)
	case "add-header":
		r.Kind = RuleAddHeader
		err = format(a.Value)
	case "del-header":
		r.Kind = RuleDelHeader
	case "replace-header", "replace-value":
		r.Kind = RuleReplaceHeader
		if a.Action == "replace-value" {
			r.Kind = RuleReplaceValue
		}
		r.Regex, err = regexp.Compile(a.Regex)
		if err != nil {
			return nil, config.Errorf(a.Pos, "'%s %s': invalid regex '%s': %v", ruleKeyword(response), a.Action, a.Regex, err)
		}
		err = format(a.Value)
	case "set-path":
		r.Kind = RuleSetPath
		err = format(a.Value)
	case "set-query":
		r.Kind = RuleSetQuery
		err = format(a.Value)
	case "set-uri":
		r.Kind = RuleSetURI
		err = format(a.Value)
	case "set-pathq":
		r.Kind = RuleSetPathQ
		err = format(a.Value)
	case "set-method":
		r.Kind = RuleSetMethod
		err = format(a.Value)
	case "replace-path", "replace-pathq", "replace-uri":
		r.Kind = map[string]RuleKind{"replace-path": RuleReplacePath, "replace-pathq": RuleReplacePathQ, "replace-uri": RuleReplaceURI}[a.Action]
		if r.Regex, err = regexp.Compile(a.Regex); err != nil {
			return nil, config.Errorf(a.Pos, "'%s %s': invalid regex '%s': %v", ruleKeyword(response), a.Action, a.Regex, err)
		}
		err = format(a.Value)
	case "redirect":
		r.Kind = RuleRedirect
		switch a.RedirectTyp {
		case "location":
			r.Redirect = RedirectLocation
		case "prefix":
			r.Redirect = RedirectPrefix
		case "scheme":
			r.Redirect = RedirectScheme
		default:
			return nil, config.Errorf(a.Pos, "'http-request redirect': unknown type '%s'", a.RedirectTyp)
		}
		for _, o := range a.RedirectOpt {
			switch o {
			case "drop-query":
				r.DropQuery = true
			case "append-slash":
				r.AppendSlash = true
			case "ignore-empty":
				r.IgnoreEmpty = true
			}
		}
		r.Cookie = a.RedirectCookie
		err = format(a.Value)
	case "deny", "return", "tarpit":
		r.Kind = RuleReturn
		switch a.Action {
		case "deny":
			r.Kind = RuleDeny
		case "tarpit":
			r.Kind = RuleTarpit
		}
		if r.Status == 0 {
			r.Status = 200
			if a.Action == "deny" {
				r.Status = 403
			}
		}
		err = compileReply(r, a, env, format)
	case "wait-for-body":
		r.Kind, r.Timeout, r.AtLeast = RuleWaitForBody, a.Timeout, a.AtLeast
	case "reject":
		r.Kind = RuleReject
	case "silent-drop":
		r.Kind = RuleSilentDrop
	case "capture":
		r.Kind = RuleCustom
		r.Custom, err = compileCapture(a, env, response)
	case "allow":
		r.Kind = RuleAllow
	case "set-map", "del-map", "add-acl", "del-acl":
		r.Kind = RuleCustom
		r.Custom, err = compileMapAction(a, env)
	case "set-src", "set-dst", "set-src-port", "set-dst-port":
		err = compileSetAddr(a, env, r)
	case "set-timeout":
		r.Kind, r.Name, r.Timeout = RuleSetTimeout, a.Name, a.Timeout
		if a.Sample != "" {
			if r.Expr, err = acl.CompileExprMaps(a.Sample, a.Pos, env.ACLs.Maps()); err == nil {
				if cerr := acl.CheckContext(r.Expr.Uses(), acl.CtxHTTPRequest); cerr != nil {
					err = config.Errorf(a.Pos, "'http-request set-timeout': %v", cerr)
				}
			}
		}
	case "early-hint":
		r.Kind = RuleEarlyHint
		err = format(a.Value)
	case "normalize-uri":
		r.Kind, r.Name, r.On = RuleNormalizeURI, a.Name, a.On
	case "strict-mode":
		r.Kind, r.On = RuleStrictMode, a.On
	case "set-log-level":
		r.Kind, r.LogLevel = RuleSetLogLevel, -1
		if a.Value != "silent" {
			l, ok := logging.ParseLevel(a.Value)
			if !ok {
				return nil, config.Errorf(a.Pos, "'%s set-log-level': unknown log level '%s'", ruleKeyword(response), a.Value)
			}
			r.LogLevel = int8(l)
		}
	case "set-status":
		r.Kind = RuleSetStatus
		r.Reason = a.Reason
		if r.Reason == "" {
			r.Reason = haproxyReason(r.Status)
		}
	case "set-var", "set-var-fmt", "unset-var":
		r.Kind = RuleCustom
		r.Custom, err = compileVarRule(a, env, response)
	case "auth":
		if response {
			return nil, config.Errorf(a.Pos, "'http-response auth' is not a valid action")
		}
		realm := a.Realm
		if realm == "" {
			realm = env.Proxy
		}
		r.Kind = RuleCustom
		r.Custom = authChallenge(realm)
	case "cache-use", "cache-store":
		r.Kind = RuleCustom
		r.Custom, err = compileCacheRule(a, env, response)
	case "use-service":
		if response {
			return nil, config.Errorf(a.Pos, "'http-response use-service' is not a valid action")
		}
		r.Kind = RuleUseService
		r.Service, err = env.Service(a.Name, a.Pos)
	default:
		if env.Custom == nil {
			return nil, config.Errorf(a.Pos, "'%s %s' is not supported here", ruleKeyword(response), a.Action)
		}
		r.Kind = RuleCustom
		r.Custom, err = env.Custom(a)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func ruleKeyword(response bool) string {
	if response {
		return "http-response"
	}
	return "http-request"
}

// ParseRetryOn compiles "retry-on" keywords.
func ParseRetryOn(words []string, pos config.Pos) (RetryOn, error) {
	if len(words) == 0 {
		return RetryConnFailure, nil
	}
	var r RetryOn
	for _, w := range words {
		switch w {
		case "none":
			r = 0
		case "conn-failure":
			r |= RetryConnFailure
		case "empty-response":
			r |= RetryEmptyResponse
		case "junk-response":
			r |= RetryJunkResponse
		case "response-timeout":
			r |= RetryResponseTimeout
		case "0rtt-rejected":
			r |= Retry0RTTRejected
		case "all-retryable-errors":
			r |= RetryConnFailure | RetryEmptyResponse | RetryJunkResponse | RetryResponseTimeout |
				Retry0RTTRejected | Retry500 | Retry502 | Retry503 | Retry504
		default:
			var code int
			if _, err := fmt.Sscanf(w, "%d", &code); err == nil && retryStatus(code) != 0 {
				r |= retryStatus(code)
				continue
			}
			return 0, config.Errorf(pos, "'retry-on': unknown keyword '%s'", w)
		}
	}
	return r, nil
}

// compileVarRule compiles set-var, set-var-fmt and unset-var rules.
func compileVarRule(a *config.HTTPAction, env *RuleEnv, response bool) (func(t *Txn) bool, error) {
	ctx := acl.CtxHTTPRequest
	if response {
		ctx = acl.CtxHTTPResponse
	}
	v, err := CompileVarAction(a.Var, ruleKeyword(response), ctx)
	if err != nil {
		return nil, err
	}
	if a.Var.Kind == "set-var-fmt" {
		f, err := VarFormat(a.Var.Expr, a.Pos)
		if err != nil {
			return nil, err
		}
		return func(t *Txn) bool {
			v.SetString(&t.acl, t.evalFormat(f))
			return false
		}, nil
	}
	return func(t *Txn) bool {
		v.Run(&t.acl)
		return false
	}, nil
}

// CompileVarAction compiles a set-var, set-var-fmt or unset-var action of
// rule set kw (e.g. "http-request"), whose expression is checked against
// ctx; set-var-fmt's format is the caller's to compile.
func CompileVarAction(va *config.VarAction, kw string, ctx acl.Context) (*acl.VarAction, error) {
	expr := ""
	if va.Kind == "set-var" {
		expr = va.Expr
	}
	a, err := acl.CompileVarAction(va.Name, va.Conds, expr, va.Kind == "unset-var", va.Pos)
	if err != nil {
		if _, ok := err.(config.Diag); ok {
			return nil, err // the expression's, with its position
		}
		return nil, config.Errorf(va.Pos, "'%s %s(%s)' : %v", kw, va.Kind, va.Name, err)
	}
	if e := a.Expr(); e != nil {
		if err := e.Check(ctx); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// VarFormat compiles set-var-fmt's log-format: an absent sample gives
// nothing, as in HAProxy (and in the formats of HTTP rules).
func VarFormat(src string, pos config.Pos) (*logging.Format, error) {
	return logging.CompileHTTP(src, pos, func(src string, pos config.Pos) (logging.Sampler, error) {
		e, err := acl.CompileExpr(src, pos)
		if err != nil {
			return nil, err
		}
		return e, nil
	})
}
