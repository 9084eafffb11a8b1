package cfgparse

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The TLS keywords: ssl-default-bind-* / ssl-default-server-* in global, and
// the TLS options "bind" and "server" lines share. Cipher strings, suite and
// curve lists are checked when the listener or server is built (tlsconf),
// which 'gatehouse -c' does too.

func globalTLSKeywords() []keyword {
	return []keyword{
		{name: "ssl-default-bind-ciphers", where: wGlobal, syntax: "ssl-default-bind-ciphers <openssl cipher string>",
			desc: "Default 'ciphers' of 'ssl' binds: an OpenSSL cipher string, e.g. ECDHE+AESGCM:!aNULL; selects among the TLS 1.2 suites Go implements, in OpenSSL's order.", parse: parseDefaultTLSString},
		{name: "ssl-default-bind-ciphersuites", where: wGlobal, syntax: "ssl-default-bind-ciphersuites <suite>[:<suite>...]",
			desc: "Default 'ciphersuites' (TLS 1.3) of 'ssl' binds. Go always offers TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256: a list leaving one out is an error.", parse: parseDefaultTLSString},
		{name: "ssl-default-bind-curves", where: wGlobal, syntax: "ssl-default-bind-curves <curve>[:<curve>...]",
			desc: "Default 'curves' of 'ssl' binds (X25519, P-256, P-384, P-521, X25519MLKEM768; X448 and ffdhe groups are skipped).", parse: parseDefaultTLSString},
		{name: "ssl-default-bind-options", where: wGlobal, syntax: "ssl-default-bind-options [ssl-min-ver <ver>] [ssl-max-ver <ver>] [no-sslv3|no-tlsv1x|force-tlsv1x] [no-tls-tickets]",
			desc: "Default options of 'ssl' binds, merged into each bind line as HAProxy does.", parse: parseDefaultTLSOptions},
		{name: "ssl-default-server-ciphers", where: wGlobal, syntax: "ssl-default-server-ciphers <openssl cipher string>",
			desc: "Default 'ciphers' of 'ssl' servers.", parse: parseDefaultTLSString},
		{name: "ssl-default-server-ciphersuites", where: wGlobal, syntax: "ssl-default-server-ciphersuites <suite>[:<suite>...]",
			desc: "Default 'ciphersuites' (TLS 1.3) of 'ssl' servers; must name all three of Go's suites.", parse: parseDefaultTLSString},
		{name: "ssl-default-server-curves", where: wGlobal, syntax: "ssl-default-server-curves <curve>[:<curve>...]",
			desc: "Default 'curves' offered to 'ssl' servers.", parse: parseDefaultTLSString},
		{name: "ssl-default-server-options", where: wGlobal, syntax: "ssl-default-server-options [ssl-min-ver <ver>] [ssl-max-ver <ver>] [no-sslv3|no-tlsv1x|force-tlsv1x] [no-tls-tickets]",
			desc: "Default options of 'ssl' servers.", parse: parseDefaultTLSOptions},
		{name: "ssl-default-bind-sigalgs", where: wGlobal, syntax: "ssl-default-bind-sigalgs <sigalgs>",
			desc: "Refused: Go's TLS does not let the signature algorithms be restricted.", parse: refuseSigalgs},
		{name: "ssl-default-bind-client-sigalgs", where: wGlobal, syntax: "ssl-default-bind-client-sigalgs <sigalgs>",
			desc: "Refused: Go's TLS does not let the signature algorithms be restricted.", parse: refuseSigalgs},
		{name: "ssl-default-server-sigalgs", where: wGlobal, syntax: "ssl-default-server-sigalgs <sigalgs>",
			desc: "Refused: Go's TLS does not let the signature algorithms be restricted.", parse: refuseSigalgs},
		{name: "ssl-default-server-client-sigalgs", where: wGlobal, syntax: "ssl-default-server-client-sigalgs <sigalgs>",
			desc: "Refused: Go's TLS does not let the signature algorithms be restricted.", parse: refuseSigalgs},
		{name: "ssl-skip-self-issued-ca", where: wGlobal, syntax: "ssl-skip-self-issued-ca",
			desc: "Certificate chains (bind 'crt', crt-list, server 'crt') are sent without their self-signed root CA, which may stay in the PEM file: the chain is rebuilt from the leaf through the file's certificates, as OpenSSL's SSL_CTX_build_cert_chain with SSL_BUILD_CHAIN_FLAG_NO_ROOT does, so certificates of the file outside that path are not sent either.", parse: parseSkipSelfIssuedCA},
		{name: "tune.ssl.lifetime", where: wGlobal, syntax: "tune.ssl.lifetime <time, in seconds by default>",
			desc: "How long a TLS session may be resumed on 'ssl' binds (default 300 s, as HAProxy): older tickets get a full handshake.", parse: parseSSLLifetime},
		{name: "tune.ssl.cachesize", where: wGlobal, syntax: "tune.ssl.cachesize 0",
			desc: "0 disables the TLS session cache, which is what Gatehouse does whatever the value: Go's TLS resumes sessions with tickets only (their lifetime is 'tune.ssl.lifetime'), never by session ID from a server-side cache. A positive size is refused (HAProxy's default is a 20000-block cache): remove the line, or write 0.", parse: parseSSLCacheSize},
		{name: "tune.ssl.default-dh-param", where: wGlobal, syntax: "tune.ssl.default-dh-param <bits>",
			desc:  "Accepted with a warning and no effect: Go's TLS offers ECDHE only, never finite-field DHE, so there are no DH parameters.",
			parse: parseDefaultDHParam},
		{name: "ssl-dh-param-file", where: wGlobal, syntax: "ssl-dh-param-file <file>",
			desc:  "Accepted with a warning and no effect (the file must be readable): Go's TLS offers ECDHE only, never finite-field DHE.",
			parse: parseDHParamFile},
		{name: "ssl-engine", where: wGlobal, syntax: "ssl-engine <name> [algo <algorithms>]",
			desc:  "Accepted with a warning and no effect: Go's TLS has no OpenSSL engines; its cryptography is built in (with assembly for AES-GCM and ECDHE).",
			parse: noEffect("Go's TLS has no OpenSSL engines; its cryptography is built in")},
		{name: "ssl-mode-async", where: wGlobal, syntax: "ssl-mode-async",
			desc:  "Accepted with a warning and no effect: asynchronous mode exists for OpenSSL engines, which Go's TLS does not have.",
			parse: noEffect("asynchronous mode serves OpenSSL engines, which Go's TLS does not have")},
	}
}

// defaultTLS returns the global defaults a "ssl-default-bind-*" or
// "ssl-default-server-*" keyword sets.
func defaultTLS(p *parser, kw string) *config.TLSOptions {
	if strings.HasPrefix(kw, "ssl-default-bind-") {
		return &p.cfg.Global.TLS.DefaultBind
	}
	return &p.cfg.Global.TLS.DefaultServer
}

func parseDefaultTLSString(p *parser, args []token) error {
	kw := args[0].Text
	if err := wantArgs(args, kw, 1, 1, "one argument"); err != nil {
		return err
	}
	v := args[1].Text
	if v == "" {
		return fmt.Errorf("global statement '%s' expects a cipher suite as an argument.", kw)
	}
	o := defaultTLS(p, kw)
	switch {
	case strings.HasSuffix(kw, "-ciphers"):
		o.Ciphers = v
	case strings.HasSuffix(kw, "-ciphersuites"):
		o.CipherSuites = v
	case strings.HasSuffix(kw, "-curves"):
		o.Curves = v
	}
	return nil
}

func parseDefaultTLSOptions(p *parser, args []token) error {
	kw := args[0].Text
	if len(args) < 2 {
		return fmt.Errorf("global statement '%s' expects an option as an argument.", kw)
	}
	o := defaultTLS(p, kw)
	for i := 1; i < len(args); i++ {
		name := args[i].Text
		opt, ok := tlsMethodOption(name)
		if !ok {
			if name == "prefer-client-ciphers" && kw == "ssl-default-bind-options" {
				o.PreferClientCiphers = true
				continue
			}
			return fmt.Errorf("unknown option '%s' on global statement '%s'.", name, kw)
		}
		val := ""
		if opt.hasArg {
			if i+1 >= len(args) {
				return fmt.Errorf("'%s' : missing the ssl/tls version on global statement '%s'.", name, kw)
			}
			i++
			val = args[i].Text
		}
		if err := opt.set(o, val); err != nil {
			return fmt.Errorf("%v on global statement '%s'.", err, kw)
		}
	}
	return nil
}

// parseSSLCacheSize reads it as HAProxy's ssl_parse_global_int; only 0,
// no session cache, is what Gatehouse does.
func parseSSLCacheSize(p *parser, args []token) error {
	kw := args[0].Text
	if len(args) > 2 {
		return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", kw, args[2].Text)
	}
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'%s' expects an integer argument.", kw)
	}
	n := atol(args[1].Text)
	if n < 0 {
		return fmt.Errorf("'%s' expects a positive numeric value.", kw)
	}
	if n > 0 {
		return fmt.Errorf("'%s %s': Gatehouse keeps no TLS session cache to size: Go's TLS resumes sessions with tickets only (lifetime: 'tune.ssl.lifetime'), never by session ID. Remove the line, or write 'tune.ssl.cachesize 0' (no session cache), which is what Gatehouse does.", kw, args[1].Text)
	}
	return nil
}

func parseDefaultDHParam(p *parser, args []token) error {
	if err := wantArgs(args, "tune.ssl.default-dh-param", 1, 1, "an integer argument"); err != nil {
		return err
	}
	if _, err := parseInt("'tune.ssl.default-dh-param'", args[1].Text, 1024, 1<<20); err != nil {
		return fmt.Errorf("'tune.ssl.default-dh-param' expects a value >= 1024.")
	}
	return warning("'tune.ssl.default-dh-param' has no effect in Gatehouse: Go's TLS offers ECDHE only, never finite-field DHE.")
}

func parseDHParamFile(p *parser, args []token) error {
	if err := wantArgs(args, "ssl-dh-param-file", 1, 1, "a file path as an argument"); err != nil {
		return err
	}
	if _, err := os.ReadFile(p.path(args[1].Text)); err != nil {
		return fmt.Errorf("'ssl-dh-param-file': unable to load DH parameters from file <%s>.", args[1].Text)
	}
	return warning("'ssl-dh-param-file' has no effect in Gatehouse: Go's TLS offers ECDHE only, never finite-field DHE.")
}

func refuseSigalgs(p *parser, args []token) error {
	return fmt.Errorf("'%s' is not supported: Go's TLS chooses the signature algorithms itself and does not let them be restricted; remove the line", args[0].Text)
}

func parseSSLLifetime(p *parser, args []token) error {
	if err := wantArgs(args, "tune.ssl.lifetime", 1, 1, "ssl sessions <lifetime> in seconds as argument"); err != nil {
		return err
	}
	v := args[1].Text
	if v != "" && v[len(v)-1] >= '0' && v[len(v)-1] <= '9' {
		v += "s" // HAProxy's unit here is the second
	}
	d, err := parseDuration(v)
	if err != nil {
		return fmt.Errorf("'tune.ssl.lifetime': %v", err)
	}
	if d < time.Second {
		return fmt.Errorf("timer underflow in argument '%s' to <tune.ssl.lifetime> (minimum non-null value is 1 s).", args[1].Text)
	}
	p.cfg.Global.TLS.DefaultBind.SessionLifetime = d
	return nil
}

// ignoreErrList parses ca-ignore-err / crt-ignore-err as HAProxy does.
func ignoreErrList(kw, v string, dst *uint64) error {
	if v == "" {
		return fmt.Errorf("'%s' : missing error IDs list", kw)
	}
	if v == "all" {
		*dst = ^uint64(0)
		return nil
	}
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n > 63 {
			return fmt.Errorf("'%s' : ID '%s' out of range (1..63) in error IDs list '%s'", kw, f, v)
		}
		*dst |= 1 << n
	}
	return nil
}

// tlsOpt is a TLS option of bind and server lines (and of
// ssl-default-*-options for the version and ticket ones).
type tlsOpt struct {
	name   string
	syntax string
	desc   string
	hasArg bool
	set    func(o *config.TLSOptions, v string) error
}

// tlsMethodOption finds the options ssl-default-*-options accept.
func tlsMethodOption(name string) (tlsOpt, bool) {
	for _, o := range tlsVersionOptions() {
		if o.name == name {
			return o, true
		}
	}
	return tlsOpt{}, false
}

var versionFlagNames = []string{"sslv3", "tlsv10", "tlsv11", "tlsv12", "tlsv13"}

func tlsVersionOptions() []tlsOpt {
	opts := []tlsOpt{
		{name: "ssl-min-ver", syntax: "ssl-min-ver SSLv3|TLSv1.0|TLSv1.1|TLSv1.2|TLSv1.3", hasArg: true,
			desc: "Lowest TLS version accepted (default TLSv1.2). Go's TLS has no SSLv3, so SSLv3 reads as TLSv1.0.",
			set:  func(o *config.TLSOptions, v string) error { return tlsVersion("ssl-min-ver", v, &o.MinVer) }},
		{name: "ssl-max-ver", syntax: "ssl-max-ver SSLv3|TLSv1.0|TLSv1.1|TLSv1.2|TLSv1.3", hasArg: true,
			desc: "Highest TLS version accepted.",
			set:  func(o *config.TLSOptions, v string) error { return tlsVersion("ssl-max-ver", v, &o.MaxVer) }},
		{name: "no-tls-tickets", syntax: "no-tls-tickets",
			desc: "Issue no TLS session tickets (stateless resumption). Go's TLS has no server-side session cache, so clients then do not resume.",
			set:  func(o *config.TLSOptions, _ string) error { o.NoTLSTickets = true; return nil }},
	}
	for i, n := range versionFlagNames {
		v := i + 1
		opts = append(opts,
			tlsOpt{name: "no-" + n, syntax: "no-" + n, desc: "Disable " + config.TLSVersionNames[v] + "; ignored (with a warning) when ssl-min-ver or ssl-max-ver is set, as in HAProxy.",
				set: func(o *config.TLSOptions, _ string) error { o.NoVersions |= 1 << v; return nil }},
			tlsOpt{name: "force-" + n, syntax: "force-" + n, desc: "Accept " + config.TLSVersionNames[v] + " only (sets ssl-min-ver and ssl-max-ver).",
				set: func(o *config.TLSOptions, _ string) error { o.MinVer, o.MaxVer = v, v; return nil }})
	}
	return opts
}

// tlsVersion parses the argument of ssl-min-ver / ssl-max-ver.
func tlsVersion(kw, v string, dst *int) error {
	if v == "" {
		return fmt.Errorf("'%s' : missing the ssl/tls version", kw)
	}
	for i, n := range config.TLSVersionNames {
		if i > 0 && n == v {
			*dst = i
			return nil
		}
	}
	return fmt.Errorf("'%s' : unknown ssl/tls version", v)
}

// tlsOptions are every TLS option bind and server lines share.
func tlsOptions() []tlsOpt {
	opts := []tlsOpt{
		{name: "ciphers", syntax: "ciphers <openssl cipher string>", hasArg: true,
			desc: "TLS 1.2 cipher suites, as an OpenSSL cipher string (e.g. ECDHE+AESGCM:!aNULL, HIGH:!aNULL, Mozilla's lists): the suites OpenSSL selects that Go implements, in OpenSSL's order, which is the server's preference on binds; names Go lacks are skipped, a string selecting none is an error.",
			set: func(o *config.TLSOptions, v string) error {
				o.Ciphers = v
				return nonEmpty("ciphers", "missing cipher suite", v)
			}},
		{name: "ciphersuites", syntax: "ciphersuites <suite>[:<suite>...]", hasArg: true,
			desc: "TLS 1.3 suites. Go's TLS 1.3 suites cannot be restricted: the list must name TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256 (use ssl-max-ver TLSv1.2 to refuse TLS 1.3).",
			set: func(o *config.TLSOptions, v string) error {
				o.CipherSuites = v
				return nonEmpty("ciphersuites", "missing cipher suite", v)
			}},
		{name: "curves", syntax: "curves <curve>[:<curve>...]", hasArg: true,
			desc: "Key exchange groups, in OpenSSL names (X25519, P-256/prime256v1, P-384, P-521, X25519MLKEM768); groups Go lacks (X448, ffdhe*) are skipped.",
			set: func(o *config.TLSOptions, v string) error {
				o.Curves = v
				return nonEmpty("curves", "missing curve suite", v)
			}},
	}
	return append(opts, tlsVersionOptions()...)
}

func nonEmpty(kw, what, v string) error {
	if v == "" {
		return fmt.Errorf("'%s' : %s", kw, what)
	}
	return nil
}

// bindTLSOptions are the TLS options of bind lines.
func bindTLSOptions() []bindOption {
	var out []bindOption
	for _, t := range tlsOptions() {
		out = append(out, bindOption{name: t.name, syntax: t.syntax, desc: t.desc, hasArg: t.hasArg,
			parse: func(p *parser, b *config.Bind, v string) error { return t.set(&b.TLS, v) }})
	}
	return append(out,
		bindOption{name: "ecdhe", syntax: "ecdhe <curve>", hasArg: true,
			desc: "The one curve offered for ECDHE when 'curves' is not set.",
			parse: func(p *parser, b *config.Bind, v string) error {
				b.TLS.ECDHE = v
				return nonEmpty("ecdhe", "missing named curve", v)
			}},
		bindOption{name: "prefer-client-ciphers", syntax: "prefer-client-ciphers",
			desc:  "Choose the TLS 1.2 cipher suite in the client's order of preference instead of the server's ('ciphers' order, the default).",
			parse: func(p *parser, b *config.Bind, _ string) error { b.TLS.PreferClientCiphers = true; return nil }},
		bindOption{name: "tls-ticket-keys", syntax: "tls-ticket-keys <keyfile>", hasArg: true,
			desc: "TLS session ticket keys shared by replicas: base64 keys of 48 or 80 bytes, one a line, at least 3; the last 3 decrypt, the penultimate encrypts, so appending a key and reloading rotates them. Tickets are Go's, not interchangeable with HAProxy's.",
			parse: func(p *parser, b *config.Bind, v string) error {
				b.TLS.TicketKeys = p.path(v)
				return nonEmpty("tls-ticket-keys", "missing TLS ticket keys file path", v)
			}},
		bindOption{name: "crl-file", syntax: "crl-file <crlfile>", hasArg: true,
			desc: "PEM CRLs checked against client certificates when 'verify' is optional or required: every certificate of the chain needs a current CRL from its issuer, and a revoked one is refused, as HAProxy (OpenSSL's CRL_CHECK_ALL) does. Relative paths start at 'ca-base'.",
			parse: func(p *parser, b *config.Bind, v string) error {
				b.TLS.CRLFile = p.filePath(p.cfg.Global.CABase, v)
				return nonEmpty("crl-file", "missing CRLfile path", v)
			}},
		bindOption{name: "ca-ignore-err", syntax: "ca-ignore-err all|<errorID>[,<errorID>...]", hasArg: true,
			desc: "OpenSSL verify errors (1..63) at depth > 0 that do not abort the handshake; the rules see them in ssl_c_verify and ssl_c_ca_err.",
			parse: func(p *parser, b *config.Bind, v string) error {
				return ignoreErrList("ca-ignore-err", v, &b.TLS.CAIgnoreErr)
			}},
		bindOption{name: "crt-ignore-err", syntax: "crt-ignore-err all|<errorID>[,<errorID>...]", hasArg: true,
			desc: "OpenSSL verify errors (1..63) of the client certificate itself (depth 0) that do not abort the handshake, e.g. 10 (expired); the rules see them in ssl_c_verify and ssl_c_err.",
			parse: func(p *parser, b *config.Bind, v string) error {
				return ignoreErrList("crt-ignore-err", v, &b.TLS.CrtIgnoreErr)
			}},
		bindOption{name: "strict-sni", syntax: "strict-sni",
			desc:  "Refuse the handshake when the client's SNI names no loaded certificate (or sends none), instead of serving the default certificate.",
			parse: func(p *parser, b *config.Bind, _ string) error { b.StrictSNI = true; return nil }},
		bindOption{name: "npn", syntax: "npn <proto>[,<proto>...]", hasArg: true,
			desc: "Refused: NPN is obsolete and Go's TLS does not implement it; use 'alpn'.",
			parse: func(p *parser, b *config.Bind, v string) error {
				return fmt.Errorf("'npn' : NPN is obsolete and Go's TLS does not implement it; use 'alpn %s' instead", v)
			}},
	)
}

// serverTLSOptions are the TLS options of server lines.
func serverTLSOptions() []serverOption {
	var out []serverOption
	for _, t := range tlsOptions() {
		out = append(out, serverOption{name: t.name, syntax: t.syntax, desc: t.desc, hasArg: t.hasArg,
			parse: func(s *config.Server, v string) error { return t.set(&s.TLS, v) }})
	}
	return append(out,
		boolOpt("tls-tickets", "Resume sessions with TLS tickets again (reverts 'no-tls-tickets').", func(s *config.Server) { s.TLS.NoTLSTickets = false }),
		serverOption{name: "npn", syntax: "npn <proto>[,<proto>...]", hasArg: true,
			desc: "Refused: NPN is obsolete and Go's TLS does not implement it; use 'alpn'.",
			parse: func(s *config.Server, v string) error {
				return fmt.Errorf("'npn' : NPN is obsolete and Go's TLS does not implement it; use 'alpn %s' instead", v)
			}},
	)
}

// warnVersionFlags warns, as HAProxy does, that no-sslv3/no-tlsv1x are
// ignored once ssl-min-ver or ssl-max-ver is set.
func warnVersionFlags(p *parser, what string, o config.TLSOptions) {
	if o.NoVersions != 0 && (o.MinVer != 0 || o.MaxVer != 0) {
		p.warnf("'%s' : no-sslv3/no-tlsv1x are ignored. Use only 'ssl-min-ver' and 'ssl-max-ver' to fix.", what)
	}
}

func parseSkipSelfIssuedCA(p *parser, args []token) error {
	p.cfg.Global.SSLSkipSelfIssuedCA = true
	if len(args) > 1 {
		// HAProxy 2.6 ignores them; say so rather than drop them silently.
		return warning("'%s' takes no argument; '%s' ignored.", args[0].Text, args[1].Text)
	}
	return nil
}
