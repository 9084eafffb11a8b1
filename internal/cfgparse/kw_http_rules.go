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
			desc: "A rule run on each request, in order; the actions are listed under 'http-request, http-response and http-after-response actions'.", parse: parseHTTPRule},
		{name: "http-response", where: wProxy, syntax: "http-response <action> [<args>] [{if|unless} <condition>]",
			desc: "A rule run on each response, in order; the actions are listed under 'http-request, http-response and http-after-response actions'.", parse: parseHTTPRule},
		{name: "http-after-response", where: wProxy, syntax: "http-after-response <action> [<args>] [{if|unless} <condition>]",
			desc: "A rule run on every response, the server's and the proxy's own (deny, redirect, return, errors), after the http-response rules: the backend's first, then the frontend's; the actions are listed under 'http-request, http-response and http-after-response actions'. Not run on the answers to requests that could not be parsed, as in HAProxy.", parse: parseHTTPRule},
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
	after     bool                                                      // also an http-after-response action
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

// parseClientCertAuth reads client-cert-auth's "sub <field>" (kept in
// Name; "" is the SPIFFE ID).
func parseClientCertAuth(_ *parser, a *config.HTTPAction, args []token) error {
	v := texts(args)
	switch {
	case len(v) == 0:
		return nil
	case len(v) == 2 && v[0] == "sub":
		switch v[1] {
		case "spiffe", "uri", "dns", "email", "cn":
			a.Name = v[1]
			return nil
		}
		return fmt.Errorf("'sub' expects 'spiffe', 'uri', 'dns', 'email' or 'cn', got '%s'", v[1])
	}
	return fmt.Errorf("expects nothing or 'sub spiffe|uri|dns|email|cn', got '%s'", strings.Join(v, " "))
}

// parseXFCCAction reads set-forwarded-client-cert's field words.
func parseXFCCAction(_ *parser, a *config.HTTPAction, args []token) error {
	for _, w := range texts(args) {
		switch w {
		case "cert", "chain", "subject", "uri", "dns":
		default:
			return fmt.Errorf("unknown field '%s' (expects any of 'cert', 'chain', 'subject', 'uri', 'dns')", w)
		}
		if contains(a.XFCCFields, w) {
			return fmt.Errorf("field '%s' is given twice", w)
		}
		a.XFCCFields = append(a.XFCCFields, w)
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func httpActions() []httpAction {
	return append([]httpAction{
		{name: "set-header", after: true, syntax: "set-header <name> <fmt>", req: true, resp: true, desc: "Replace every occurrence of a header with one value.",
			parse: fixedArgs(2, "<name> <fmt>", func(a *config.HTTPAction, v []string) error { a.Name, a.Value = v[0], v[1]; return nil })},
		{name: "add-header", after: true, syntax: "add-header <name> <fmt>", req: true, resp: true, desc: "Append a header.",
			parse: fixedArgs(2, "<name> <fmt>", func(a *config.HTTPAction, v []string) error { a.Name, a.Value = v[0], v[1]; return nil })},
		{name: "del-header", after: true, syntax: "del-header <name>", req: true, resp: true, desc: "Remove every occurrence of a header.",
			parse: fixedArgs(1, "<name>", func(a *config.HTTPAction, v []string) error { a.Name = v[0]; return nil })},
		{name: "replace-header", after: true, syntax: "replace-header <name> <regex> <fmt>", req: true, resp: true,
			desc: "Rewrite whole header values matching a regular expression (Go RE2 syntax; \\1 refers to groups).", parse: replaceArgs},
		{name: "replace-value", after: true, syntax: "replace-value <name> <regex> <fmt>", req: true, resp: true,
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
			desc: "Stop and answer with an error: the proxy's error page for the status (403 for requests, 502 for responses, or deny_status) when no other option is given; otherwise the answer the options of 'return' describe, deny_status standing for status.", parse: parseReturn},
		{name: "return", syntax: "return [status <code>] [content-type <type>] [default-errorfiles|errorfile <file>|file <file>|lf-file <file>|string <str>|lf-string <fmt>] [hdr <name> <fmt>]...", req: true, resp: true,
			desc: "Stop and answer (200 by default): with no payload an empty body; default-errorfiles the proxy's error page for the status (an errorfile or HAProxy's page); errorfile a complete HTTP response read from a file; file and string a body, lf-file and lf-string a log-format body (each needs a content-type when not empty); hdr adds a field to the answer but with an error page. Content-Length, Transfer-Encoding and Content-Type in hdr are ignored with a warning, as HAProxy does.", parse: parseReturn},
		{name: "capture", syntax: "capture <sample> [len <length> | id <id>]", req: true,
			desc: "Put the sample, as text cut to the slot's length, into a request capture slot shown by %hr: a new one with 'len' (frontends only), or slot <id> of the frontend (numbered from 0 in declaration order, 'capture request header' and 'declare capture request' lines included). An absent sample leaves the slot as it was.", parse: parseHTTPCapture(false)},
		{name: "capture", syntax: "capture <sample> id <id>", resp: true, after: true,
			desc: "Put the sample, as text cut to the slot's length, into response capture slot <id> of the frontend, shown by %hs.", parse: parseHTTPCapture(true)},
		{name: "set-src", syntax: "set-src <expr>", req: true, desc: "Take the sample (an IPv4 or IPv6 address) as the client's address for the rest of the request: src, the log's %ci, the forwarded-for header, a PROXY header, balance source; the port stays. An absent sample changes nothing. fc_src keeps the connection's address.", parse: parseSampleArg},
		{name: "set-src-port", syntax: "set-src-port <expr>", req: true, desc: "Take the sample (an integer, cut to 16 bits) as the client's port for the rest of the request; without an address, the address becomes 0.0.0.0.", parse: parseSampleArg},
		{name: "set-dst", syntax: "set-dst <expr>", req: true, desc: "Take the sample (an IPv4 or IPv6 address) as the address the client connected to for the rest of the request: dst, the log's %fi, a PROXY header, and the address a server at 0.0.0.0 connects to; the port stays. fc_dst keeps the connection's address.", parse: parseSampleArg},
		{name: "set-dst-port", syntax: "set-dst-port <expr>", req: true, desc: "Take the sample (an integer, cut to 16 bits) as the destination port for the rest of the request: dst_port, %fp, and the port a server at 0.0.0.0 without a port connects to.", parse: parseSampleArg},
		{name: "early-hint", syntax: "early-hint <name> <fmt>", req: true,
			desc:  "Add a field to a 103 Early Hints answer sent to the client at once (HTTP/1.1 and later), before the final one (RFC 8297: Link fields to preload); the early-hint rules that follow without a condition add to the same 103, as in HAProxy 2.6.",
			parse: fixedArgs(2, "<name> <fmt>", func(a *config.HTTPAction, v []string) error { a.Name, a.Value = v[0], v[1]; return nil })},
		{name: "normalize-uri", syntax: "normalize-uri path-merge-slashes|path-strip-dot|path-strip-dotdot [full]|percent-decode-unreserved [strict]|percent-to-uppercase [strict]|query-sort-by-name|fragment-strip|fragment-encode", req: true,
			desc: "Normalize the request-target as HAProxy 2.6 does: merge adjacent slashes, drop '.' segments, resolve '..' segments (full: also those above the root), decode %XX of unreserved characters, uppercase %xx, sort the query's parameters by name (stable). strict answers 400 for a '%' not followed by two hex digits. The fragment normalizers have nothing to do: a '#' in a request-target is refused when the request is read.", parse: parseNormalizeURI},
		{name: "set-timeout", syntax: "set-timeout server|tunnel <timeout>|<expr>", req: true,
			desc: "Use this timeout server or timeout tunnel for the rest of the request, a time or an expression giving milliseconds (a result that is not a positive number changes nothing). Only in proxies that are backends.", parse: parseSetTimeout},
		{name: "strict-mode", syntax: "strict-mode on|off", req: true, resp: true, after: true,
			desc: "Off: a rewrite that would leave an invalid request line (set-path, set-uri, replace-path, set-method, ...) is skipped instead of answering 500, for the following rules of this rule set; each rule set starts on.",
			parse: fixedArgs(1, "on|off", func(a *config.HTTPAction, v []string) error {
				if v[0] != "on" && v[0] != "off" {
					return fmt.Errorf("expects 'on' or 'off' (got '%s')", v[0])
				}
				a.On = v[0] == "on"
				return nil
			})},
		{name: "set-log-level", syntax: "set-log-level <level>", req: true, resp: true,
			desc: "Send this request's log line at <level> (emerg, alert, crit, err, warning, notice, info, debug) whatever it would have been, so a log target's level filters it; 'silent' sends none. Not final: the last matching rule wins.",
			parse: fixedArgs(1, "<level>", func(a *config.HTTPAction, v []string) error {
				if !slices.Contains([]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "silent"}, v[0]) {
					return fmt.Errorf("unknown log level '%s' (expected emerg, alert, crit, err, warning, notice, info, debug or silent)", v[0])
				}
				a.Value = v[0]
				return nil
			})},
		{name: "set-status", syntax: "set-status <status> [reason <str>]", resp: true, after: true,
			desc: "Replace the response status (100 to 999) and its reason phrase (by default the status's usual one); the log and the counters see the new status.", parse: parseSetStatus},
		{name: "wait-for-body", syntax: "wait-for-body time <time> [at-least <bytes>]", req: true,
			desc:  "Wait for the request body until it is whole, the buffer (tune.bufsize) is full, or 'at-least' bytes came; the rules then see it (req.body, req.body_param, req.body_len). When <time> passes first the request is answered 408 (cR), as HAProxy 2.6 does. An 'Expect: 100-continue' is answered by the proxy and removed.",
			parse: parseWaitForBody},
		{name: "reject", syntax: "reject", req: true,
			desc:  "Stop and close the connection without an answer (logged PR, status -1, counted as a denied request). On HTTP/2 the whole connection goes: the stream is reset and GOAWAY sent, both ENHANCE_YOUR_CALM, as HAProxy does.",
			parse: fixedArgs(0, "none", func(*config.HTTPAction, []string) error { return nil })},
		{name: "silent-drop", syntax: "silent-drop", req: true, resp: true,
			desc:  "Stop and make the client connection disappear without telling the client: with CAP_NET_ADMIN (TCP_REPAIR) nothing is sent, so the client still sees it established; without, the reset the close sends leaves with a hop limit of 1 and dies at the first router. Logged PR, counted as a denied request.",
			parse: fixedArgs(0, "none", func(*config.HTTPAction, []string) error { return nil })},
		{name: "tarpit", syntax: "tarpit [deny_status <code>] [<return options>]", req: true,
			desc:  "Stop, hold the request for 'timeout tarpit' ('timeout connect' when unset), then answer as 'deny' would, with 500 by default, and close; logged PT with the time held as the queue time. A client that closes its side meanwhile gets the answer at once; one whose connection fails gets none (CT).",
			parse: parseReturn},
		{name: "allow", after: true, syntax: "allow", req: true, resp: true, desc: "Stop evaluating the rules of this set and let the message through.",
			parse: fixedArgs(0, "none", func(*config.HTTPAction, []string) error { return nil })},
		{name: "auth", syntax: "auth [realm <realm>]", req: true,
			desc: "Stop and ask for HTTP Basic credentials: 401 with 'WWW-Authenticate: Basic realm=\"<realm>\"' (the proxy's name by default), on the 401 errorfile if there is one. Usually 'auth if !{ http_auth(<userlist>) }'.", parse: parseAuthAction},
		{name: "use-service", syntax: "use-service <service>", req: true,
			desc: "Answer with a built-in service: 'prometheus-exporter', or 'jwks:<identity-token section>'.", parse: parseUseService},
		{name: "oidc-auth", syntax: "oidc-auth <oidc section>", req: true,
			desc:  "Require an OpenID Connect login (see the 'oidc' section).",
			parse: fixedArgs(1, "<oidc section>", func(a *config.HTTPAction, v []string) error { a.Name = v[0]; return nil })},
		{name: "set-identity-token", syntax: "set-identity-token <identity-token section>", req: true,
			desc:  "Attach a signed identity token for the mesh (see the 'identity-token' section).",
			parse: fixedArgs(1, "<identity-token section>", func(a *config.HTTPAction, v []string) error { a.Name = v[0]; return nil })},
		{name: "client-cert-auth", syntax: "client-cert-auth [sub spiffe|uri|dns|email|cn]", req: true,
			desc:  "Make the client certificate the caller's identity, for 'set-identity-token' and oidc_claim(), when it verified against the bind's 'ca-file' (verify optional|required) with no error, ignored or not, and has the field 'sub' names: the SPIFFE ID (URI SAN with scheme spiffe; the default) or first URI SAN as the token's sub, or the first DNS or email SAN or the CN as 'dns:<name>', 'email:<address>', 'cn:<name>'. Claims: cert_subject, cert_issuer, cert_serial, cert_uri, cert_dns, cert_email, cert_not_after, cnf (x5t#S256); the token never outlives the certificate. Otherwise there is no identity (no token); the request is not refused.",
			parse: parseClientCertAuth},
		{name: "set-forwarded-client-cert", syntax: "set-forwarded-client-cert [cert] [chain] [subject] [uri] [dns]", req: true,
			desc:  "Set X-Forwarded-Client-Cert as Envoy's SANITIZE_SET does when the client presented a certificate that verified against the bind's 'ca-file' (verify optional|required) with no error, ignored or not: 'Hash=<SHA-256 of the DER, hex>', then the fields named, in Envoy's order (Cert and Chain URL-encoded PEM, Subject the RFC 2253 DN, one URI= and DNS= per SAN). Otherwise the header is removed. Whatever a client sends in that header is always removed before any rule runs.",
			parse: parseXFCCAction},
	}, append(stickHTTPActions(), append(mapHTTPActions(), append(varHTTPActions(), cacheHTTPActions()...)...)...)...)
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

// parseReturn reads the reply of "return" and "deny" as HAProxy's
// http_parse_http_reply does: a status (200..599), at most one payload
// (default-errorfiles, errorfile, file, lf-file, string, lf-string), a
// content-type and "hdr" fields; what HAProxy ignores with a warning is
// ignored with the same warning. A "deny" with no argument, or with only
// deny_status, answers the proxy's error page for the status.
func parseReturn(p *parser, a *config.HTTPAction, args []token) error {
	deny := a.Action == "deny" || a.Action == "tarpit"
	if a.Status == 0 {
		switch a.Action {
		case "deny":
			a.Status = 403
		case "tarpit":
			a.Status = 500
		default:
			a.Status = 200
		}
	}
	if deny && (len(args) == 0 || len(args) == 2 && args[0].Text == "deny_status") {
		if len(args) == 2 {
			n, err := parseInt("'deny_status'", args[1].Text, 200, 599)
			if err != nil {
				return err
			}
			a.Status = n
		}
		if !slices.Contains(errorFileCodes(), a.Status) {
			return fmt.Errorf("status code '%d' not handled by default with 'default-errorfiles' argument", a.Status)
		}
		a.DefaultErrorfiles = true
		return nil
	}
	payload := "" // the payload argument given
	var data []byte
	for i := 0; i < len(args); i++ {
		o := args[i].Text
		if deny && o == "deny_status" && i == 0 {
			o = "status"
		}
		if o != "default-errorfiles" && i+1 >= len(args) {
			return fmt.Errorf("'%s' expects an argument", o)
		}
		switch o {
		case "status":
			n, err := strconv.Atoi(args[i+1].Text)
			if err != nil || n < 200 || n > 599 {
				return fmt.Errorf("Unexpected status code '%s'", args[i+1].Text)
			}
			a.Status = n
			i++
		case "content-type":
			a.ContentType = args[i+1].Text
			i++
		case "default-errorfiles", "errorfile", "file", "lf-file", "string", "lf-string", "errorfiles":
			if payload != "" {
				return fmt.Errorf("unexpected '%s' argument, '%s' already defined", o, payload)
			}
			payload = o
			if o == "default-errorfiles" {
				a.DefaultErrorfiles = true
				continue
			}
			v := args[i+1].Text
			i++
			switch o {
			case "errorfiles":
				a.ErrorfilesSection = v // resolved once every http-errors section is known
				continue
			case "string", "lf-string":
				data = []byte(v)
			default:
				b, err := os.ReadFile(p.path(v))
				if err != nil {
					return fmt.Errorf("error opening file '%s' (%v)", v, unwrapPathErr(err))
				}
				data = b
			}
			if o == "errorfile" && len(data) > 0 && !strings.HasPrefix(string(data), "HTTP/") {
				return fmt.Errorf("file '%s' must hold a complete HTTP response starting with a status line", v)
			}
			a.Body, a.BodyIsFmt, a.RawResponse = string(data), o == "lf-file" || o == "lf-string", o == "errorfile"
		case "hdr":
			if i+2 >= len(args) {
				return fmt.Errorf("'hdr' expects <name> and <value> as arguments")
			}
			name := args[i+1].Text
			if strings.EqualFold(name, "content-length") || strings.EqualFold(name, "transfer-encoding") || strings.EqualFold(name, "content-type") {
				p.warnf("header '%s' always ignored by the http reply.", name)
			} else {
				a.Headers = append(a.Headers, [2]string{name, args[i+2].Text})
			}
			i += 2
		default:
			return fmt.Errorf("unknown option '%s' (expected 'status', 'content-type', 'default-errorfiles', 'errorfile', 'file', 'lf-file', 'string', 'lf-string' or 'hdr')", o)
		}
	}
	switch payload {
	case "":
		if a.ContentType != "" {
			p.warnf("content-type '%s' ignored by the http reply because neither errorfile nor payload defined.", a.ContentType)
			a.ContentType = ""
		}
	case "default-errorfiles", "errorfile", "errorfiles":
		if payload != "errorfile" && !slices.Contains(errorFileCodes(), a.Status) {
			return fmt.Errorf("status code '%d' not handled by default with '%s' argument", a.Status, payload)
		}
		if a.ContentType != "" {
			p.warnf("content-type '%s' ignored by the http reply when used with an erorrfile.", a.ContentType)
			a.ContentType = ""
		}
		if len(a.Headers) > 0 {
			p.warnf("hdr parameters ignored by the http reply when used with an erorrfile.")
			a.Headers = nil
		}
	case "file", "string":
		if (a.Status == 204 || a.Status == 304) && len(data) > 0 {
			return fmt.Errorf("No body expected for %d responses", a.Status)
		}
		if a.ContentType == "" && len(data) > 0 {
			return fmt.Errorf("a content type must be defined when non-empty payload is configured")
		}
		if a.ContentType != "" && len(data) == 0 {
			p.warnf("content-type '%s' ignored by the http reply when used with an empty payload.", a.ContentType)
			a.ContentType = ""
		}
	default: // lf-file, lf-string
		if a.Status == 204 || a.Status == 304 {
			return fmt.Errorf("No body expected for %d responses", a.Status)
		}
		if a.ContentType == "" {
			return fmt.Errorf("a content type must be defined with a log-format payload")
		}
	}
	return nil
}

// parseNormalizeURI reads "<normalizer> [full|strict]".
func parseNormalizeURI(p *parser, a *config.HTTPAction, args []token) error {
	if !p.cfg.Global.Process.Experimental {
		return fmt.Errorf("'normalize-uri' action is experimental, must be allowed via a global 'expose-experimental-directives'")
	}
	if len(args) == 0 {
		return fmt.Errorf("expects a normalizer name")
	}
	a.Name = args[0].Text
	opt := ""
	switch a.Name {
	case "path-merge-slashes", "path-strip-dot", "query-sort-by-name", "fragment-strip", "fragment-encode":
	case "path-strip-dotdot":
		opt = "full"
	case "percent-decode-unreserved", "percent-to-uppercase":
		opt = "strict"
	default:
		return fmt.Errorf("unknown normalizer '%s'", a.Name)
	}
	switch {
	case len(args) == 1:
	case len(args) == 2 && opt != "" && args[1].Text == opt:
		a.On = true
	default:
		return fmt.Errorf("unexpected argument '%s' for normalizer '%s'", args[len(args)-1].Text, a.Name)
	}
	return nil
}

// parseSetTimeout reads "server|tunnel <timeout>|<expr>".
func parseSetTimeout(p *parser, a *config.HTTPAction, args []token) error {
	if len(args) != 2 || args[0].Text != "server" && args[0].Text != "tunnel" {
		return fmt.Errorf("expects 'server' or 'tunnel' followed by a timeout or an expression")
	}
	if p.ps.px.Cap&config.CapBE == 0 {
		return fmt.Errorf("only available for proxies with backend capabilities")
	}
	a.Name = args[0].Text
	if d, err := parseDuration(args[1].Text); err == nil {
		if d <= 0 {
			return fmt.Errorf("the timeout must be a positive time")
		}
		a.Timeout = d
		return nil
	}
	a.Sample = args[1].Text
	return nil
}

// parseSampleArg reads the one sample expression of set-src and the like.
func parseSampleArg(p *parser, a *config.HTTPAction, args []token) error {
	if len(args) != 1 {
		return fmt.Errorf("expects exactly 1 argument (<expr>), got %d", len(args))
	}
	a.Sample = args[0].Text
	return nil
}

// parseSetStatus reads "<status> [reason <str>]".
func parseSetStatus(p *parser, a *config.HTTPAction, args []token) error {
	if len(args) != 1 && (len(args) != 3 || args[1].Text != "reason") {
		return fmt.Errorf("expects <status> [reason <str>]")
	}
	n, err := strconv.Atoi(args[0].Text)
	if err != nil || n < 100 || n > 999 {
		return fmt.Errorf("expects an integer status code between 100 and 999")
	}
	a.Status = n
	if len(args) == 3 {
		for _, c := range []byte(args[2].Text) {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return fmt.Errorf("the reason may not hold control characters")
			}
		}
		a.Reason = args[2].Text
	}
	return nil
}

// parseAuthAction reads "auth [realm <realm>]" as HAProxy's parse_http_auth.
func parseAuthAction(p *parser, a *config.HTTPAction, args []token) error {
	if len(args) == 0 {
		return nil
	}
	if args[0].Text != "realm" {
		return fmt.Errorf("expects 'realm' or a condition, got '%s'", args[0].Text)
	}
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("missing realm value")
	}
	if len(args) > 2 {
		return fmt.Errorf("unexpected argument '%s'", args[2].Text)
	}
	if strings.ContainsAny(args[1].Text, "\"\\\r\n") {
		// HAProxy writes the realm between quotes as it is; a quote or a
		// backslash would change the header's meaning.
		return fmt.Errorf("the realm cannot contain '\"' or '\\'")
	}
	a.Realm = args[1].Text
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
	resp := kw == "http-response" || kw == "http-after-response"
	after := kw == "http-after-response"
	name := args[1].Text
	var act *httpAction
	var names []string
	for _, a := range httpActions() {
		if after && a.after || !after && (resp && a.resp || !resp && a.req) {
			names = append(names, a.name)
			if a.name == name || strings.HasPrefix(name, a.name+"(") && (strings.HasPrefix(a.name, "sc-") || isMapAction(a.name)) || matchVarAction(a.name, name) {
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
	if resp && name == "deny" {
		a.Status = 502 // HAProxy's default for a denied response
	}
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
	if after {
		px.HTTPAfterResponse = append(px.HTTPAfterResponse, a)
		return nil
	}
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

// parseWaitForBody reads "time <time> [at-least <bytes>]".
func parseWaitForBody(p *parser, a *config.HTTPAction, args []token) error {
	for i := 0; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return fmt.Errorf("'%s' expects an argument", args[i].Text)
		}
		switch args[i].Text {
		case "time":
			d, err := parseDuration(args[i+1].Text)
			if err != nil {
				return fmt.Errorf("'time' : %v", err)
			}
			a.Timeout = d
		case "at-least":
			n, err := parseSize(args[i+1].Text)
			if err != nil {
				return fmt.Errorf("'at-least' : %v", err)
			}
			a.AtLeast = int64(n)
		default:
			return fmt.Errorf("expects 'time' or 'at-least' but got '%s'", args[i].Text)
		}
	}
	if a.Timeout <= 0 {
		return fmt.Errorf("'time' argument is mandatory")
	}
	return nil
}
