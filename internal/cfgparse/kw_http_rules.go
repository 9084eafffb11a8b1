package cfgparse

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

func httpRuleKeywords() []keyword {
	return []keyword{
		{name: "http-request", where: wProxy, syntax: "http-request <action> [<args>] [{if|unless} <condition>]",
			desc: "A rule run on each request, in order; the actions are listed under 'http-request actions'.", parse: parseHTTPRule},
		{name: "http-response", where: wProxy, syntax: "http-response <action> [<args>] [{if|unless} <condition>]",
			desc: "A rule run on each response, in order; the actions are listed under 'http-response actions'.", parse: parseHTTPRule},
		{name: "redirect", where: wFE | wBE, syntax: "redirect location|prefix|scheme <value> [code <code>] [<option>...] [{if|unless} <condition>]",
			desc: "The legacy redirect rule: the options of 'http-request redirect', but <value> is taken as written (not a log-format), and the rule runs after the proxy's 'http-request' rules, as HAProxy runs it.", parse: parseLegacyRedirect},
	}
}

// parseLegacyRedirect reads a "redirect" line. HAProxy keeps these rules in
// a list evaluated right after the proxy's http-request rules, which is the
// same as running them as the last http-request rules: finish() appends
// them there.
func parseLegacyRedirect(p *parser, args []token) error {
	end := len(args)
	for i := 1; i < len(args); i++ {
		if args[i].Text == "if" || args[i].Text == "unless" {
			end = i
			break
		}
	}
	a := &config.HTTPAction{Pos: p.pos(), Action: "redirect"}
	if err := parseRedirect(p, a, args[1:end]); err != nil {
		return fmt.Errorf("error detected in %s '%s' while parsing redirect rule : %v.", proxyType(p.ps.px.Cap), p.ps.px.Name, err)
	}
	// The value is literal: protect '%' from the log-format compiler.
	a.Value = strings.ReplaceAll(a.Value, "%", "%%")
	if end < len(args) {
		c, err := parseCond(p, args, end)
		if err != nil {
			return err
		}
		a.Cond = c
	}
	if len(p.ps.px.UseBackends) > 0 {
		p.warnf("a 'redirect' rule placed after a 'use_backend' rule will still be processed before.")
	}
	p.ps.redirects = append(p.ps.redirects, a)
	return nil
}

// httpAction is one action of http-request / http-response rules.
type httpAction struct {
	name      string
	syntax    string
	desc      string
	req, resp bool
	parse     func(p *parser, a *config.HTTPAction, args []token) error // args: the action's own words
}

func fixedArgs(n int, what string, set func(a *config.HTTPAction, v []string) error) func(*parser, *config.HTTPAction, []token) error {
	return func(p *parser, a *config.HTTPAction, args []token) error {
		if len(args) != n {
			return fmt.Errorf("expects exactly %d argument%s (%s), got %d", n, plural(n), what, len(args))
		}
		return set(a, texts(args))
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func httpActions() []httpAction {
	return append([]httpAction{
		{name: "set-header", syntax: "set-header <name> <fmt>", req: true, resp: true, desc: "Replace every occurrence of a header with one value.",
			parse: fixedArgs(2, "<name> <fmt>", func(a *config.HTTPAction, v []string) error { a.Name, a.Value = v[0], v[1]; return nil })},
		{name: "add-header", syntax: "add-header <name> <fmt>", req: true, resp: true, desc: "Append a header.",
			parse: fixedArgs(2, "<name> <fmt>", func(a *config.HTTPAction, v []string) error { a.Name, a.Value = v[0], v[1]; return nil })},
		{name: "del-header", syntax: "del-header <name>", req: true, resp: true, desc: "Remove every occurrence of a header.",
			parse: fixedArgs(1, "<name>", func(a *config.HTTPAction, v []string) error { a.Name = v[0]; return nil })},
		{name: "replace-header", syntax: "replace-header <name> <regex> <fmt>", req: true, resp: true,
			desc: "Rewrite whole header values matching a regular expression (Go RE2 syntax; \\1 refers to groups).", parse: replaceArgs},
		{name: "replace-value", syntax: "replace-value <name> <regex> <fmt>", req: true, resp: true,
			desc: "Rewrite each comma-separated value of a header matching a regular expression.", parse: replaceArgs},
		{name: "set-path", syntax: "set-path <fmt>", req: true, desc: "Replace the request path; the query and an absolute target's scheme and authority stay. A result that is not a valid request-target answers 500.",
			parse: fixedArgs(1, "<fmt>", func(a *config.HTTPAction, v []string) error { a.Value = v[0]; return nil })},
		{name: "set-query", syntax: "set-query <fmt>", req: true, desc: "Replace what follows the first '?' (added when the value is not empty; never removed). A result that is not a valid request-target answers 500.",
			parse: fixedArgs(1, "<fmt>", func(a *config.HTTPAction, v []string) error { a.Value = v[0]; return nil })},
		{name: "set-uri", syntax: "set-uri <fmt>", req: true, desc: "Replace the request-target. A result that is not a valid request-target for the method answers 500.",
			parse: fixedArgs(1, "<fmt>", func(a *config.HTTPAction, v []string) error { a.Value = v[0]; return nil })},
		{name: "set-pathq", syntax: "set-pathq <fmt>", req: true, desc: "Replace the request path and query (the query goes when <fmt> has none); an absolute target's scheme and authority stay. A result that is not a valid request-target answers 500.",
			parse: fixedArgs(1, "<fmt>", func(a *config.HTTPAction, v []string) error { a.Value = v[0]; return nil })},
		{name: "set-method", syntax: "set-method <fmt>", req: true, desc: "Replace the request method; a result that is not an HTTP token, or that does not suit the request-target (CONNECT, OPTIONS *), answers 500. Logs show the method received.",
			parse: fixedArgs(1, "<fmt>", func(a *config.HTTPAction, v []string) error { a.Value = v[0]; return nil })},
		{name: "replace-path", syntax: "replace-path <regex> <fmt>", req: true,
			desc: "When the regex (Go RE2 syntax) matches the request path, replace the whole path with <fmt>, where \\1..\\9 are its groups; the query and an absolute target's scheme and authority stay. A result that is not a valid request-target answers 500.", parse: regexFmtArgs},
		{name: "replace-pathq", syntax: "replace-pathq <regex> <fmt>", req: true,
			desc: "As replace-path, on the path and query together.", parse: regexFmtArgs},
		{name: "replace-uri", syntax: "replace-uri <regex> <fmt>", req: true,
			desc: "As replace-path, on the whole request-target (scheme and authority included when the client sent them, as HTTP/2 clients do).", parse: regexFmtArgs},
		{name: "redirect", syntax: "redirect location|prefix|scheme <fmt> [code <code>] [drop-query] [append-slash] [ignore-empty] [set-cookie <name>[=<value>]] [clear-cookie <name>[=]]", req: true, resp: true,
			desc: "Answer with a redirection; the options come in any order. ignore-empty skips the rule when <fmt> gives nothing; set-cookie and clear-cookie add a Set-Cookie (path=/, and Max-Age=0 to clear). prefix and scheme take the path and query ('/' when there is no path) without an absolute target's scheme and authority; a Location that would start with '//' or '/\\' (another origin to a browser) starts with one '/' instead.", parse: parseRedirect},
		{name: "deny", syntax: "deny [deny_status <code>] [<return options>]", req: true, resp: true,
			desc: "Stop and answer with an error (403 by default); accepts the options of 'return'.", parse: parseReturn},
		{name: "return", syntax: "return [status <code>] [content-type <type>] [string <str>|lf-string <fmt>|file <file>|errorfile <file>] [hdr <name> <fmt>]...", req: true, resp: true,
			desc: "Stop and answer with the given response (200 by default).", parse: parseReturn},
		{name: "capture", syntax: "capture <sample> [len <length> | id <id>]", req: true,
			desc: "Put the sample, as text cut to the slot's length, into a request capture slot shown by %hr: a new one with 'len' (frontends only), or slot <id> of the frontend (numbered from 0 in declaration order, 'capture request header' and 'declare capture request' lines included). An absent sample leaves the slot as it was.", parse: parseHTTPCapture(false)},
		{name: "capture", syntax: "capture <sample> id <id>", resp: true,
			desc: "Put the sample, as text cut to the slot's length, into response capture slot <id> of the frontend, shown by %hs.", parse: parseHTTPCapture(true)},
		{name: "allow", syntax: "allow", req: true, resp: true, desc: "Stop evaluating the rules of this set and let the message through.",
			parse: fixedArgs(0, "none", func(*config.HTTPAction, []string) error { return nil })},
		{name: "use-service", syntax: "use-service <service>", req: true,
			desc: "Answer with a built-in service: 'prometheus-exporter', or 'jwks:<identity-token section>'.", parse: parseUseService},
		{name: "oidc-auth", syntax: "oidc-auth <oidc section>", req: true,
			desc:  "Require an OpenID Connect login (see the 'oidc' section).",
			parse: fixedArgs(1, "<oidc section>", func(a *config.HTTPAction, v []string) error { a.Name = v[0]; return nil })},
		{name: "set-identity-token", syntax: "set-identity-token <identity-token section>", req: true,
			desc:  "Attach a signed identity token for the mesh (see the 'identity-token' section).",
			parse: fixedArgs(1, "<identity-token section>", func(a *config.HTTPAction, v []string) error { a.Name = v[0]; return nil })},
	}, append(stickHTTPActions(), mapHTTPActions()...)...)
}

func replaceArgs(p *parser, a *config.HTTPAction, args []token) error {
	if len(args) != 3 {
		return fmt.Errorf("expects exactly 3 arguments (<name> <regex> <fmt>), got %d", len(args))
	}
	if _, err := regexp.Compile(args[1].Text); err != nil {
		return fmt.Errorf("invalid regex '%s': %v", args[1].Text, err)
	}
	a.Name, a.Regex, a.Value = args[0].Text, args[1].Text, args[2].Text
	return nil
}

// regexFmtArgs reads "<regex> <fmt>" (replace-path, replace-pathq,
// replace-uri).
func regexFmtArgs(p *parser, a *config.HTTPAction, args []token) error {
	if len(args) != 2 {
		return fmt.Errorf("expects exactly 2 arguments (<regex> <fmt>), got %d", len(args))
	}
	if _, err := regexp.Compile(args[0].Text); err != nil {
		return fmt.Errorf("invalid regex '%s': %v", args[0].Text, err)
	}
	a.Regex, a.Value = args[0].Text, args[1].Text
	return nil
}

// parseRedirect reads the words of a redirect rule, in any order as HAProxy
// reads them: a type (location, prefix or scheme) and its value, the last
// one given winning; code; drop-query; append-slash; ignore-empty;
// set-cookie NAME[=VALUE]; clear-cookie NAME[=].
func parseRedirect(p *parser, a *config.HTTPAction, args []token) error {
	a.Status = 302
	for i := 0; i < len(args); i++ {
		o := args[i].Text
		needArg := func() error {
			if i+1 >= len(args) {
				return fmt.Errorf("missing argument for '%s'", o)
			}
			i++
			return nil
		}
		switch o {
		case "location", "prefix", "scheme":
			if err := needArg(); err != nil {
				return err
			}
			a.RedirectTyp, a.Value = o, args[i].Text
		case "code":
			if err := needArg(); err != nil {
				return err
			}
			n, err := strconv.Atoi(args[i].Text)
			if err != nil || n < 301 || n > 308 || n == 304 || n == 305 || n == 306 {
				return fmt.Errorf("'code': unsupported HTTP code '%s' (must be one of 301, 302, 303, 307 or 308)", args[i].Text)
			}
			a.Status = n
		case "drop-query", "append-slash", "ignore-empty":
			if !slices.Contains(a.RedirectOpt, o) {
				a.RedirectOpt = append(a.RedirectOpt, o)
			}
		case "set-cookie", "clear-cookie":
			if err := needArg(); err != nil {
				return err
			}
			// The header value HAProxy sends: a session cookie for the
			// whole site, or one that expires at once.
			a.RedirectCookie = args[i].Text + "; path=/;"
			if o == "clear-cookie" {
				a.RedirectCookie = args[i].Text + "; path=/; Max-Age=0;"
			}
		default:
			return fmt.Errorf("expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was '%s')", o)
		}
	}
	if a.RedirectTyp == "" {
		return fmt.Errorf("redirection type expected ('prefix', 'location', or 'scheme')")
	}
	return nil
}

func parseReturn(p *parser, a *config.HTTPAction, args []token) error {
	a.Status = 200
	if a.Action == "deny" {
		a.Status = 403
	}
	hasBody := false
	need := func(i int) error {
		if i+1 >= len(args) {
			return fmt.Errorf("'%s' expects an argument", args[i].Text)
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		o := args[i].Text
		if err := need(i); err != nil && o != "default-errorfiles" {
			return err
		}
		switch o {
		case "status", "deny_status":
			if o == "deny_status" && a.Action != "deny" {
				return fmt.Errorf("'deny_status' is only valid for 'deny'; use 'status'")
			}
			n, err := parseInt("'"+o+"'", args[i+1].Text, 200, 599)
			if err != nil {
				return err
			}
			a.Status = n
			i++
		case "content-type":
			a.ContentType = args[i+1].Text
			i++
		case "string", "lf-string", "file", "lf-file", "errorfile":
			if hasBody {
				return fmt.Errorf("only one of 'string', 'lf-string', 'file' or 'errorfile' may be given")
			}
			hasBody = true
			v := args[i+1].Text
			i++
			switch o {
			case "string":
				a.Body = v
			case "lf-string":
				a.Body, a.BodyIsFmt = v, true
			case "lf-file":
				return fmt.Errorf("'lf-file' is a HAProxy option that Gatehouse does not implement")
			default:
				data, err := os.ReadFile(v)
				if err != nil {
					return fmt.Errorf("error opening file '%s' (%v)", v, unwrapPathErr(err))
				}
				a.Body, a.RawResponse = string(data), o == "errorfile"
			}
		case "hdr":
			if i+2 >= len(args) {
				return fmt.Errorf("'hdr' expects <name> and <fmt> as arguments")
			}
			a.Headers = append(a.Headers, [2]string{args[i+1].Text, args[i+2].Text})
			i += 2
		case "default-errorfiles", "errorfiles":
			return fmt.Errorf("'%s' is a HAProxy option that Gatehouse does not implement", o)
		default:
			return fmt.Errorf("unknown option '%s' (expected 'status', 'content-type', 'string', 'lf-string', 'file', 'errorfile' or 'hdr')", o)
		}
	}
	if hasBody && !a.RawResponse && a.ContentType == "" {
		return fmt.Errorf("a 'content-type' is required with a body")
	}
	if a.RawResponse && (a.ContentType != "" || len(a.Headers) > 0) {
		return fmt.Errorf("'errorfile' holds a complete response: 'content-type' and 'hdr' cannot be added to it")
	}
	if a.ContentType != "" && !hasBody {
		return fmt.Errorf("'content-type' is given without a body")
	}
	return nil
}

func parseUseService(p *parser, a *config.HTTPAction, args []token) error {
	if len(args) != 1 {
		return fmt.Errorf("expects exactly one service name")
	}
	name := args[0].Text
	if name != "prometheus-exporter" && !(strings.HasPrefix(name, "jwks:") && len(name) > len("jwks:")) {
		return fmt.Errorf("unknown service '%s'; Gatehouse provides 'prometheus-exporter' and 'jwks:<identity-token section>'", name)
	}
	a.Name = name
	return nil
}

func parseHTTPRule(p *parser, args []token) error {
	kw := args[0].Text
	if err := noteRules(p, kw); err != nil {
		return err
	}
	if len(args) < 2 {
		return fmt.Errorf("'%s' expects an action.", kw)
	}
	resp := kw == "http-response"
	name := args[1].Text
	var act *httpAction
	var names []string
	for _, a := range httpActions() {
		if (resp && a.resp) || (!resp && a.req) {
			names = append(names, a.name)
			if a.name == name || strings.HasPrefix(name, a.name+"(") && (strings.HasPrefix(a.name, "sc-") || isMapAction(a.name)) {
				act = &a
			}
		}
	}
	if act == nil {
		base, _, _ := strings.Cut(name, "(")
		if contains(unimplementedHTTPActions(), base) || strings.HasPrefix(name, "lua.") {
			return fmt.Errorf("%s", unimplementedMsg(kw+" "+name, base))
		}
		msg := fmt.Sprintf("'%s' expects one of %s, but got '%s'", kw, "'"+strings.Join(names, "', '")+"'", name)
		if best := bestMatch(name, names); best != "" {
			msg = fmt.Sprintf("'%s' : unknown action '%s'; did you mean '%s' maybe ?", kw, name, best)
		}
		return fmt.Errorf("%s", msg)
	}
	end := len(args)
	for i := 2; i < len(args); i++ {
		if args[i].Text == "if" || args[i].Text == "unless" {
			end = i
			break
		}
	}
	a := &config.HTTPAction{Pos: p.pos(), Action: name}
	if err := act.parse(p, a, args[2:end]); err != nil {
		return fmt.Errorf("'%s %s' : %v.", kw, name, strings.TrimSuffix(err.Error(), "."))
	}
	if end < len(args) {
		c, err := parseCond(p, args, end)
		if err != nil {
			return err
		}
		a.Cond = c
	}
	px := p.ps.px
	if resp {
		px.HTTPResponse = append(px.HTTPResponse, a)
		return nil
	}
	px.HTTPRequest = append(px.HTTPRequest, a)
	if len(p.ps.redirects) > 0 {
		p.warnf("a 'http-request' rule placed after a 'redirect' rule will still be processed before.")
	}
	if len(px.UseBackends) > 0 && !p.ps.isDefaults {
		p.warnf("a 'http-request' rule placed after a 'use_backend' rule will still be processed before.")
	}
	return nil
}
