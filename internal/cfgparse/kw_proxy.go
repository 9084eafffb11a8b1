package cfgparse

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// proxyKeywords is every keyword of defaults, frontend, backend and listen
// sections; each concern contributes its own table.
func proxyKeywords() []keyword {
	return slices.Concat(
		coreProxyKeywords(),
		proxyIdentKeywords(),
		logKeywords(),
		timeoutKeywords(),
		optionKeywords(),
		bindKeywords(),
		serverKeywords(),
		httpRuleKeywords(),
		tcpRuleKeywords(),
		tcpResponseKeywords(),
		statsKeywords(),
		checkKeywords(),
		serverStateProxyKeywords(),
		captureKeywords(),
		stickKeywords(),
		stickRuleKeywords(),
		compressionKeywords(),
		persistKeywords(),
		errorPageKeywords(),
		reuseKeywords(),
		emailAlertKeywords(),
		bindSockKeywords(),
		rateProxyKeywords(),
	)
}

func coreProxyKeywords() []keyword {
	return []keyword{
		{name: "mode", where: wProxy, syntax: "mode tcp|http",
			desc: "Whether the proxy forwards TCP streams or parses HTTP. Without it the mode is tcp, as in HAProxy.", parse: parseMode},
		{name: "maxconn", where: wFEOnly, capWarn: true, capHint: " Maybe you want 'fullconn' instead ?", syntax: "maxconn <number>",
			desc: "Maximum number of concurrent connections of the frontend.", parse: parseProxyMaxConn},
		{name: "default_backend", where: wFEOnly, capWarn: true, syntax: "default_backend <backend>",
			desc: "The backend used when no 'use_backend' rule matches.", parse: parseDefaultBackend},
		{name: "use_backend", where: wFE, capWarn: true, syntax: "use_backend <backend> [{if|unless} <condition>]",
			desc: "Switch to a backend when the condition matches; the name may be a log-format expression (%[...]).", parse: parseUseBackend},
		{name: "acl", where: wProxy, syntax: "acl <aclname> <criterion> [flags] [operator] [<value>] ...",
			desc: "Declare or extend a named condition.", parse: parseACL},
		{name: "errorfile", where: wProxy, syntax: "errorfile <code> <file>",
			desc: "Send the raw HTTP response in <file> instead of the built-in one for <code>; the file is read when the configuration is loaded.", parse: parseErrorFile},
		{name: "balance", where: wBEOnly, capWarn: true, syntax: "balance roundrobin|static-rr|leastconn|first|source|uri [len <n>] [depth <n>] [path-only] [whole]|url_param <param>|hash <expr>|random[(<draws>)]|hdr(<name>) [use_domain_only]|rdp-cookie[(<name>)]",
			desc: "Load-balancing algorithm. random draws <draws> servers (default 2) in proportion to their weights and keeps the least loaded. rdp-cookie (mode tcp) hashes the value of the RDP cookie <name> (\"mstshash\" by default) of the client's connection request, as req.rdp_cookie reads it, and balances round robin when there is none (in mode http there never is).", parse: parseBalance},
		{name: "hash-type", where: wBEOnly, capWarn: true, syntax: "hash-type map-based|consistent [sdbm|djb2|wt6|crc32 [avalanche]]",
			desc: "How balance source, uri, url_param, hdr, hash and rdp-cookie turn a key's hash into a server: map-based (the default) indexes HAProxy's static weighted map, so a server leaving remaps most keys; consistent finds the nearest of each server's weight*16 points on HAProxy's ring, so only that server's keys move. Same function, avalanche and server ids pick the server HAProxy picks; consistent without a function is sdbm with avalanche.", parse: parseHashType},
		{name: "hash-balance-factor", where: wBEOnly, capWarn: true, syntax: "hash-balance-factor <factor>",
			desc: "With hash-type consistent, a server takes at most <factor>% of the average load (weighted; 0 disables, otherwise above 100); a key whose server is above it goes to the next server on the ring.", parse: parseHashBalanceFactor},
		{name: "fullconn", where: wBEOnly, capWarn: true, syntax: "fullconn <number>",
			desc: "Backend connections at which servers with 'minconn' may use their whole 'maxconn'; below it their limit is scaled down (default: 10% of the maxconn of the frontends that route to the backend).", parse: parseFullConn},
		{name: "retries", where: wBEOnly, capWarn: true, syntax: "retries <number>",
			desc: "Number of connection retries to a server (default 3).", parse: parseRetries},
		{name: "retry-on", where: wBEOnly, capWarn: true, syntax: "retry-on <keyword> ...",
			desc: "Failures that trigger a retry: none, conn-failure, empty-response, junk-response, response-timeout, 0rtt-rejected, 404, 408, 425, 500, 501, 502, 503, 504, all-retryable-errors.", parse: parseRetryOn},
		{name: "unique-id-format", where: wFEOnly, capWarn: true, syntax: "unique-id-format <log-format>",
			desc: "Format of the unique request identifier.", parse: parseStringKW(func(px *config.Proxy) *string { return &px.UniqueIDFmt })},
		{name: "unique-id-header", where: wFEOnly, capWarn: true, syntax: "unique-id-header <name>",
			desc: "Request header that carries the unique identifier to the server.", parse: parseStringKW(func(px *config.Proxy) *string { return &px.UniqueIDHdr })},
		{name: "http-send-name-header", where: wBEOnly, capWarn: true, syntax: "http-send-name-header <header>",
			desc: "The request sent to a server carries that server's name in <header> (sent in lower case, added after the other headers); the client's own fields of that name are removed. A retry or redispatch to another server sends the new server's name. Words after <header> are ignored, as in HAProxy.", parse: parseSendNameHeader},
		{name: "request-id-trust", where: wFEOnly, capWarn: true, syntax: "request-id-trust <network> [<network> ...]",
			desc: "Gatehouse: clients in these networks (e.g. the load balancer in front) may supply X-Request-Id and traceparent; everyone else's are replaced by ones the edge generates.", parse: parseRequestIDTrust},
	}
}

func parseRequestIDTrust(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("'request-id-trust' expects at least one network")
	}
	for _, a := range args[1:] {
		pfx, err := parseNetwork(a.Text)
		if err != nil {
			return fmt.Errorf("'request-id-trust': %v", err)
		}
		p.ps.px.RequestIDTrust = append(p.ps.px.RequestIDTrust, pfx)
	}
	return nil
}

func parseMode(p *parser, args []token) error {
	if err := wantArgs(args, "mode", 1, 1, "one of 'tcp' or 'http'"); err != nil {
		return err
	}
	switch args[1].Text {
	case "tcp":
		p.ps.px.Mode = config.ModeTCP
	case "http":
		p.ps.px.Mode = config.ModeHTTP
	case "health":
		return fmt.Errorf("'mode health' doesn't exist anymore. Please use 'http-request return status 200' instead.")
	default:
		return fmt.Errorf("unknown proxy mode '%s'.", args[1].Text)
	}
	return nil
}

func parseProxyMaxConn(p *parser, args []token) error {
	if err := wantArgs(args, "maxconn", 1, 1, "an integer argument"); err != nil {
		return err
	}
	n, err := parseInt("'maxconn'", args[1].Text, 0, 1<<30)
	if err != nil {
		return err
	}
	p.ps.px.MaxConn = n
	return nil
}

func parseDefaultBackend(p *parser, args []token) error {
	if err := wantArgs(args, "default_backend", 1, 1, "a backend name"); err != nil {
		return err
	}
	p.ps.px.DefaultBackend = args[1].Text
	p.ps.px.DefaultBEPos = p.pos()
	return nil
}

func parseUseBackend(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("'use_backend' expects a backend name.")
	}
	ub := &config.UseBackend{Pos: p.pos(), Name: args[1].Text}
	if len(args) > 2 {
		c, err := parseCond(p, args, 2)
		if err != nil {
			return err
		}
		ub.Cond = c
	}
	p.ps.px.UseBackends = append(p.ps.px.UseBackends, ub)
	return nil
}

// parseCond reads "if|unless <condition>" starting at args[i], which must
// end the line.
func parseCond(p *parser, args []token, i int) (*config.Cond, error) {
	kw := args[i].Text
	if kw != "if" && kw != "unless" {
		return nil, fmt.Errorf("'%s' : expects 'if' or 'unless' followed by a condition, but got '%s'.", args[0].Text, kw)
	}
	if len(args) == i+1 {
		return nil, fmt.Errorf("'%s' : missing condition after '%s'.", args[0].Text, kw)
	}
	return &config.Cond{Pos: p.pos(), Unless: kw == "unless", Terms: texts(args[i+1:])}, nil
}

// noteRules records that the current section holds ACLs or rules, which
// an anonymous defaults section may not.
func noteRules(p *parser, kw string) error {
	if p.ps.isDefaults {
		if p.ps.name == "" {
			return fmt.Errorf("'%s' not allowed in anonymous 'defaults' section.", kw)
		}
		p.ps.hasRules = true
	}
	return nil
}

func parseACL(p *parser, args []token) error {
	if err := noteRules(p, "acl"); err != nil {
		return err
	}
	if len(args) < 3 {
		return fmt.Errorf("'acl' expects an ACL name and a criterion.")
	}
	if c, bad := invalidChar(args[1].Text); bad {
		return fmt.Errorf("character '%c' is not permitted in acl name '%s'.", c, args[1].Text)
	}
	p.ps.px.ACLs = append(p.ps.px.ACLs, &config.ACL{Pos: p.pos(), Name: args[1].Text, Args: texts(args[2:])})
	return nil
}

// errorFileCodes are the status codes HAProxy accepts in "errorfile".
func errorFileCodes() []int {
	return []int{200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504}
}

func parseErrorFile(p *parser, args []token) error {
	if err := wantArgs(args, "errorfile", 2, 2, "<code> and <file> as arguments"); err != nil {
		return err
	}
	code, err := parseInt("'errorfile'", args[1].Text, 100, 599)
	if err != nil || !slices.Contains(errorFileCodes(), code) {
		return fmt.Errorf("errorfile : status code '%s' not handled (supported: %s).", args[1].Text, joinInts(errorFileCodes()))
	}
	ef, err := readErrorFile(p, args[2].Text, code)
	if err != nil {
		return err
	}
	p.ps.px.ErrorOps = append(p.ps.px.ErrorOps, config.ErrorOp{Pos: p.pos(), Code: code, File: ef})
	return nil
}

// readErrorFile reads an errorfile: a complete HTTP response.
func readErrorFile(p *parser, path string, code int) (*config.ErrorFile, error) {
	data, err := os.ReadFile(p.path(path))
	if err != nil {
		return nil, fmt.Errorf("errorfile : error opening file '%s' (%v).", path, unwrapPathErr(err))
	}
	if len(data) > 0 && !strings.HasPrefix(string(data), "HTTP/") {
		return nil, fmt.Errorf("errorfile : file '%s' must hold a complete HTTP response starting with a status line such as 'HTTP/1.1 %d ...'.", path, code)
	}
	return &config.ErrorFile{Pos: p.pos(), Path: path, Content: data}, nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " ")
}

func parseBalance(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("'balance' expects an algorithm.")
	}
	algo := args[1].Text
	b := config.Balance{Pos: p.pos(), Algo: algo, Hash: p.ps.px.Balance.Hash}
	extra := args[2:]
	switch {
	case algo == "uri":
		// HAProxy 2.6's options, in any order; upstream applies them.
		for i := 0; i < len(extra); i++ {
			switch o := extra[i].Text; o {
			case "whole", "path-only":
			case "len", "depth":
				v := ""
				if i+1 < len(extra) {
					v = extra[i+1].Text
				}
				if n, err := strconv.Atoi(v); err != nil || n <= 0 {
					return fmt.Errorf("balance uri : '%s' expects a positive integer (got '%s').", o, v)
				}
				i++
			default:
				return fmt.Errorf("balance uri only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got '%s').", o)
			}
		}
		b.Arg = joinWords(extra)
	case algo == "roundrobin", algo == "static-rr", algo == "leastconn", algo == "first", algo == "source":
		if len(extra) > 0 {
			return fmt.Errorf("'balance %s' : options such as '%s' are not implemented by Gatehouse.", algo, extra[0].Text)
		}
	case algo == "random" || strings.HasPrefix(algo, "random(") && strings.HasSuffix(algo, ")"):
		b.Algo = "random"
		if algo != "random" {
			if _, err := parseInt("'balance random(<draws>)'", algo[7:len(algo)-1], 1, 100); err != nil {
				return err
			}
			b.Arg = algo[7 : len(algo)-1]
		}
		if len(extra) > 0 {
			// HAProxy reads the draws only from the parentheses and
			// ignores what follows; so does Gatehouse, but says so.
			p.ps.px.Balance = b
			return warning("'balance %s' : HAProxy ignores '%s' (draws are written 'random(<draws>)'); %s draws are used.", algo, joinWords(extra), map[bool]string{true: "2", false: b.Arg}[b.Arg == ""])
		}
	case strings.HasPrefix(algo, "hdr(") && strings.HasSuffix(algo, ")"):
		b.Algo, b.Arg = "hdr", algo[4:len(algo)-1]
		if b.Arg == "" {
			return fmt.Errorf("'balance hdr()' requires an HTTP header field name.")
		}
		for _, o := range extra {
			if o.Text != "use_domain_only" {
				return fmt.Errorf("balance %s only accepts 'use_domain_only' modifier (got '%s').", algo, o.Text)
			}
		}
		if len(extra) > 0 {
			b.Arg += " use_domain_only"
		}
	case algo == "url_param":
		if len(extra) == 0 {
			return fmt.Errorf("balance url_param requires an URL parameter name.")
		}
		if len(extra) > 1 {
			if extra[1].Text != "check_post" {
				return fmt.Errorf("balance url_param only accepts 'check_post' modifier (got '%s').", extra[1].Text)
			}
			// Hashing a parameter of a POST body needs the body before
			// the server is chosen; refused rather than ignored.
			return fmt.Errorf("'balance url_param %s check_post' : 'check_post' (looking in the request body) is not implemented by Gatehouse; the parameter is only looked for in the query string without it.", extra[0].Text)
		}
		b.Arg = extra[0].Text
	case algo == "hash":
		if len(extra) == 0 {
			return fmt.Errorf("balance hash requires a sample expression.")
		}
		if len(extra) > 1 {
			return fmt.Errorf("balance hash takes no other argument (got '%s').", extra[1].Text)
		}
		b.Arg = extra[0].Text
	case strings.HasPrefix(algo, "rdp-cookie"):
		// HAProxy takes the name up to the first ')' ("mstshash" by default).
		b.Algo, b.Arg = "rdp-cookie", "mstshash"
		if rest := algo[len("rdp-cookie"):]; rest != "" {
			name, _, ok := strings.Cut(rest[1:], ")")
			if rest[0] != '(' || !ok || name == "" {
				return fmt.Errorf("'balance' rdp-cookie : missing cookie name.")
			}
			b.Arg = name
		}
		if len(extra) > 0 {
			return fmt.Errorf("'balance %s' takes no other argument (got '%s').", algo, extra[0].Text)
		}
	default:
		msg := fmt.Sprintf("'balance' : unknown algorithm '%s'", algo)
		if best := bestMatch(algo, []string{"roundrobin", "static-rr", "leastconn", "first", "source", "uri", "url_param", "hash", "random", "hdr", "rdp-cookie"}); best != "" {
			msg += fmt.Sprintf("; did you mean '%s' maybe ?", best)
		}
		return fmt.Errorf("%s", msg)
	}
	p.ps.px.Balance = b
	return nil
}

// parseHashType follows HAProxy 2.6's parser: the type, then an optional
// function, then an optional "avalanche"; a bare "consistent" is sdbm with
// avalanche.
func parseHashType(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("'hash-type' only supports 'consistent' and 'map-based'.")
	}
	ht := config.HashType{Pos: p.pos(), BalanceFactor: p.ps.px.Balance.Hash.BalanceFactor}
	switch args[1].Text {
	case "consistent":
		ht.Consistent = true
	case "map-based":
	case "avalanche":
		return fmt.Errorf("experimental feature 'hash-type avalanche' is not supported anymore, please use 'hash-type map-based sdbm avalanche' instead.")
	default:
		return fmt.Errorf("'hash-type' only supports 'consistent' and 'map-based'.")
	}
	if len(args) > 2 {
		switch f := args[2].Text; f {
		case "sdbm", "djb2", "wt6", "crc32":
			ht.Func = f
		default:
			return fmt.Errorf("'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.")
		}
		if len(args) > 3 {
			if args[3].Text != "avalanche" || len(args) > 4 {
				return fmt.Errorf("'hash-type' only supports 'avalanche' as a modifier for hash functions.")
			}
			ht.Avalanche = true
		}
	}
	p.ps.px.Balance.Hash = ht
	return nil
}

func parseHashBalanceFactor(p *parser, args []token) error {
	if err := wantArgs(args, "hash-balance-factor", 1, 1, "an integer argument"); err != nil {
		return err
	}
	n, err := parseInt("'hash-balance-factor'", args[1].Text, 0, 1<<30)
	if err != nil {
		return err
	}
	if n != 0 && n <= 100 {
		return fmt.Errorf("'hash-balance-factor' must be 0 or greater than 100.")
	}
	p.ps.px.Balance.Hash.BalanceFactor = n
	return nil
}

func parseFullConn(p *parser, args []token) error {
	if err := wantArgs(args, "fullconn", 1, 1, "an integer argument"); err != nil {
		return err
	}
	n, err := parseInt("'fullconn'", args[1].Text, 0, 1<<30)
	if err != nil {
		return err
	}
	p.ps.px.FullConn = n
	return nil
}

func parseRetries(p *parser, args []token) error {
	if err := wantArgs(args, "retries", 1, 1, "an integer argument"); err != nil {
		return err
	}
	n, err := parseInt("'retries'", args[1].Text, 0, 100)
	if err != nil {
		return err
	}
	p.ps.px.Retries = n
	return nil
}

func retryOnWords() []string {
	return []string{"none", "conn-failure", "empty-response", "junk-response", "response-timeout",
		"0rtt-rejected", "404", "408", "425", "500", "501", "502", "503", "504", "all-retryable-errors"}
}

func parseRetryOn(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("'retry-on' expects at least one keyword.")
	}
	var out []string
	for _, a := range args[1:] {
		if !slices.Contains(retryOnWords(), a.Text) {
			return fmt.Errorf("'retry-on' : unknown keyword '%s' (expected one of %s).", a.Text, strings.Join(retryOnWords(), ", "))
		}
		if (a.Text == "none") && len(args) > 2 {
			return fmt.Errorf("'retry-on' : 'none' must be the only keyword.")
		}
		out = append(out, a.Text)
	}
	p.ps.px.RetryOn = out
	return nil
}

// parseStringKW parses a keyword taking exactly one string argument.
func parseSendNameHeader(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'%s' requires a header string.", args[0].Text)
	}
	name := args[1].Text
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("'%s': '%s' is not a valid header name.", args[0].Text, name)
		}
	}
	// HAProxy keeps the name in lower case, and H1 sends it so.
	p.ps.px.SendNameHeader = strings.ToLower(name)
	return nil
}

func parseStringKW(field func(*config.Proxy) *string) kwParser {
	return func(p *parser, args []token) error {
		if err := wantArgs(args, args[0].Text, 1, 1, "an argument"); err != nil {
			return err
		}
		*field(p.ps.px) = args[1].Text
		return nil
	}
}

// isTokenChar: RFC 9110's tchar, what a header name is made of.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
