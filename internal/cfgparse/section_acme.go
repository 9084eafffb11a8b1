package cfgparse

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The "acme" section (HAProxy 3.2's configuration.txt 12.8): a CA to order
// certificates from. Certificates name it from a crt-store's "load ...
// acme <name> domains ..." line (section_crtstore.go).

func acmeSection() sectionDef {
	return sectionDef{name: "acme", kind: secIdentity, syntax: "acme <name>", open: openACME,
		kws: acmeKeywords(), ownTable: true,
		unimpl: []string{"reuse-key", "profile", "challenge-ready", "dns-delay", "dns-timeout",
			"acme-vars", "provider-name", "eab-key-id", "eab-mac-key", "eab-mac-alg"},
		desc: "An ACME CA (Let's Encrypt, ...) that orders and renews the certificates a crt-store's 'load ... acme <name> domains ...' lines name: HTTP-01 is answered by the edge itself on its HTTP frontends, DNS-01 through 'dns-update'. Replicas sharing 'state-dir' order each name once and all serve the result. See docs/acme.md."}
}

func openACME(p *parser, sec *sectionDef, toks []token) {
	name, ok := p.identitySectionName(sec, toks)
	if !ok {
		return
	}
	for _, a := range p.cfg.ACME {
		if a.Name == name {
			p.errorf("acme section '%s' is already declared at %s.", name, a.Pos)
		}
	}
	p.acme = &config.ACME{Pos: p.pos(), Name: name}
	if p.acmeDirs == nil {
		p.acmeDirs = map[*config.ACME]string{}
	}
	p.acmeDirs[p.acme] = p.fileDir
	p.cfg.ACME = append(p.cfg.ACME, p.acme)
}

func acmeKeywords() []keyword {
	str := func(name, syntax, desc string, field func(*config.ACME) *string, check func(string) error) keyword {
		return keyword{name: name, syntax: syntax, desc: desc, parse: func(p *parser, args []token) error {
			return setOnce(args, field(p.acme), check)
		}}
	}
	return []keyword{
		str("directory", "directory <url>", "The CA's ACME directory URL (mandatory), e.g. https://acme-v02.api.letsencrypt.org/directory.",
			func(a *config.ACME) *string { return &a.Directory }, checkDirectoryURL),
		{name: "account-key", syntax: "account-key <file>",
			desc:  "The account's private key (PEM). Generated (ECDSA P-384, or per keytype/bits/curves) when missing. Default '<state-dir>/<name>.account.key'.",
			parse: parseACMEAccountKey},
		str("contact", "contact <email>", "The e-mail address registered with the account.",
			func(a *config.ACME) *string { return &a.Contact }, checkContact),
		{name: "map", syntax: "map <map>",
			desc: "A map (a file, or 'virt@<name>': one without a file) given token -> account thumbprint while an HTTP-01 challenge is pending and emptied after, so HAProxy 3.2's 'http-request return ... %[path,field(-1,/)].%[path,field(-1,/),map(virt@acme)]' rule answers it. The edge answers pending challenges before the rules anyway; the map is for configurations written that way.",
			parse: func(p *parser, args []token) error {
				if err := setOnce(args, &p.acme.Map, nil); err != nil {
					return err
				}
				p.acme.MapPos = p.pos()
				return nil
			}},
		{name: "challenge", syntax: "challenge HTTP-01|DNS-01",
			desc:  "How the CA checks control of the names: HTTP-01 (default; answered by the edge on its HTTP frontends at /.well-known/acme-challenge/) or DNS-01 (a TXT record published with 'dns-update').",
			parse: parseACMEChallenge},
		{name: "keytype", syntax: "keytype RSA|ECDSA",
			desc: "The certificates' key type (default ECDSA); also the account key's when it is generated.", parse: parseACMEKeyType},
		{name: "bits", syntax: "bits <number>",
			desc: "RSA key size (default 2048; 2048 to 8192).", parse: parseACMEBits},
		{name: "curves", syntax: "curves P-256|P-384",
			desc: "ECDSA curve (default P-384).", parse: parseACMECurves},
		{name: "state-dir", syntax: "state-dir <dir>",
			desc:  "Gatehouse: where the certificates (named as their load lines' crt, relative to it), the default account key, the pending HTTP-01 tokens and the order lock files live, so a restart reuses them instead of ordering again. Replicas that share it order each certificate once and all serve it. Default: the directory relative paths start from.",
			parse: parseACMEStateDir},
		{name: "renew-at", syntax: "renew-at <percent>%",
			desc: "Gatehouse: renew a certificate once this share of its lifetime has passed (1% to 99%; default two thirds).", parse: parseACMERenewAt},
		{name: "retry-backoff", syntax: "retry-backoff <min> <max>",
			desc: "Gatehouse: after a failed order, wait <min> before trying again, doubling up to <max> (default 1m 1h).", parse: parseACMERetry},
		{name: "dns-update", syntax: "dns-update <server>[:<port>] [zone <zone>] [tsig-key <name> [hmac-sha256|hmac-sha512|hmac-sha1] file:<path>|env:<NAME>] [ttl <seconds>] [propagation-timeout <time>] [check-server <addr>]... [timeout <time>] [tcp]",
			desc:  "Gatehouse: publish DNS-01 records with RFC 2136 dynamic updates signed with TSIG (BIND, Knot, PowerDNS). Needs 'challenge DNS-01'.",
			parse: parseACMEDNSUpdate},
	}
}

func checkDirectoryURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("'%s' is not an http(s) URL", s)
	}
	return nil
}

func checkContact(s string) error {
	s = strings.TrimPrefix(s, "mailto:")
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t,") {
		return fmt.Errorf("'%s' is not an e-mail address", s)
	}
	return nil
}

func parseACMEAccountKey(p *parser, args []token) error {
	if err := wantArgs(args, "account-key", 1, 1, "a file name"); err != nil {
		return err
	}
	if p.acme.AccountKey != "" {
		return fmt.Errorf("'account-key' is already set for this section.")
	}
	p.acme.AccountKey = p.path(args[1].Text)
	return nil
}

func parseACMEChallenge(p *parser, args []token) error {
	if err := wantArgs(args, "challenge", 1, 1, "HTTP-01 or DNS-01"); err != nil {
		return err
	}
	switch v := strings.ToUpper(args[1].Text); v {
	case "HTTP-01", "DNS-01":
		p.acme.Challenge = v
	case "DNS-PERSIST-01":
		return fmt.Errorf("'challenge dns-persist-01' is not implemented in Gatehouse; use HTTP-01 or DNS-01.")
	default:
		return fmt.Errorf("'challenge' expects HTTP-01 or DNS-01, got '%s'.", args[1].Text)
	}
	return nil
}

func parseACMEKeyType(p *parser, args []token) error {
	if err := wantArgs(args, "keytype", 1, 1, "RSA or ECDSA"); err != nil {
		return err
	}
	v, err := keyTypeArg(args[1].Text)
	if err != nil {
		return err
	}
	p.acme.KeyType = v
	return nil
}

func keyTypeArg(s string) (string, error) {
	switch v := strings.ToUpper(s); v {
	case "RSA", "ECDSA":
		return v, nil
	}
	return "", fmt.Errorf("'keytype' expects RSA or ECDSA, got '%s'.", s)
}

func parseACMEBits(p *parser, args []token) error {
	if err := wantArgs(args, "bits", 1, 1, "a number of bits"); err != nil {
		return err
	}
	n, err := bitsArg(args[1].Text)
	p.acme.Bits = n
	return err
}

func bitsArg(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 2048 || n > 8192 {
		return 0, fmt.Errorf("'bits' expects a number of bits between 2048 and 8192, got '%s'.", s)
	}
	return n, nil
}

func parseACMECurves(p *parser, args []token) error {
	if err := wantArgs(args, "curves", 1, 1, "P-256 or P-384"); err != nil {
		return err
	}
	v, err := curveArg(args[1].Text)
	p.acme.Curves = v
	return err
}

// curveArg accepts the curve names HAProxy's examples use and OpenSSL's.
func curveArg(s string) (string, error) {
	switch strings.ToUpper(s) {
	case "P-256", "PRIME256V1", "SECP256R1":
		return "P-256", nil
	case "P-384", "SECP384R1":
		return "P-384", nil
	}
	return "", fmt.Errorf("'curves' expects P-256 or P-384, got '%s'.", s)
}

func parseACMEStateDir(p *parser, args []token) error {
	if err := wantArgs(args, "state-dir", 1, 1, "a directory"); err != nil {
		return err
	}
	if p.acme.StateDir != "" {
		return fmt.Errorf("'state-dir' is already set for this section.")
	}
	p.acme.StateDir = p.path(args[1].Text)
	return nil
}

func parseACMERenewAt(p *parser, args []token) error {
	if err := wantArgs(args, "renew-at", 1, 1, "a percentage"); err != nil {
		return err
	}
	v, ok := strings.CutSuffix(args[1].Text, "%")
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 1 || n > 99 {
		return fmt.Errorf("'renew-at' expects a percentage of the lifetime between 1%% and 99%%, got '%s'.", args[1].Text)
	}
	p.acme.RenewAt = n
	return nil
}

func parseACMERetry(p *parser, args []token) error {
	if err := wantArgs(args, "retry-backoff", 2, 2, "<min> <max>"); err != nil {
		return err
	}
	lo, err := parseDuration(args[1].Text)
	if err != nil {
		return fmt.Errorf("'retry-backoff': %v.", err)
	}
	hi, err := parseDuration(args[2].Text)
	if err != nil {
		return fmt.Errorf("'retry-backoff': %v.", err)
	}
	if lo <= 0 || hi < lo {
		return fmt.Errorf("'retry-backoff' expects 0 < <min> <= <max>.")
	}
	p.acme.RetryMin, p.acme.RetryMax = lo, hi
	return nil
}

func parseACMEDNSUpdate(p *parser, args []token) error {
	if p.acme.DNSUpdate != nil {
		return fmt.Errorf("'dns-update' is already set for this section.")
	}
	if len(args) < 2 {
		return fmt.Errorf("'dns-update' expects the DNS server's address (<host>[:<port>]).")
	}
	for _, a := range args[1:] {
		p.acme.DNSUpdate = append(p.acme.DNSUpdate, a.Text)
	}
	p.acme.DNSUpdatePos = p.pos()
	return nil
}

// finishACME checks the acme sections, fills their defaults and resolves
// the crt-store lines and bind crt arguments that name their certificates.
func (p *parser) finishACME() {
	byName := map[string]*config.ACME{}
	for _, a := range p.cfg.ACME {
		byName[a.Name] = a
		if a.Directory == "" {
			p.errs = append(p.errs, config.Errorf(a.Pos, "acme section '%s' has no 'directory' (the CA's directory URL is mandatory).", a.Name))
		}
		if a.Challenge == "" {
			a.Challenge = "HTTP-01"
		}
		if a.KeyType == "" {
			a.KeyType = "ECDSA"
		}
		if a.Bits == 0 {
			a.Bits = 2048
		}
		if a.Curves == "" {
			a.Curves = "P-384"
		}
		if a.StateDir == "" {
			a.StateDir = p.acmeDefaultDir(a)
		}
		if a.AccountKey == "" {
			a.AccountKey = filepath.Join(a.StateDir, a.Name+".account.key")
		}
		if a.Challenge == "DNS-01" && a.DNSUpdate == nil {
			p.errs = append(p.errs, config.Errorf(a.Pos, "acme section '%s' uses 'challenge DNS-01' but has no 'dns-update' to publish the records with.", a.Name))
		}
		if a.Challenge == "HTTP-01" && a.DNSUpdate != nil {
			p.errs = append(p.errs, config.Errorf(a.DNSUpdatePos, "'dns-update' needs 'challenge DNS-01' in acme section '%s'.", a.Name))
		}
	}
	seen := map[string]*config.CrtLoad{}
	for _, st := range p.cfg.CrtStores {
		for _, l := range st.Loads {
			if l.ACME == "" {
				continue
			}
			a := byName[l.ACME]
			if a == nil {
				p.errs = append(p.errs, config.Errorf(l.Pos, "unknown acme section '%s' in 'load crt %s'.", l.ACME, l.Crt))
				continue
			}
			if a.Challenge == "HTTP-01" {
				for _, d := range l.Domains {
					if strings.HasPrefix(d, "*.") {
						p.errs = append(p.errs, config.Errorf(l.Pos, "'load crt %s': wildcard '%s' needs 'challenge DNS-01' in acme section '%s' (CAs only validate wildcards over DNS).", l.Crt, d, a.Name))
					}
				}
			}
			if st.CrtBase == "" && !filepath.IsAbs(l.Crt) {
				l.Path = filepath.Join(a.StateDir, l.Crt)
			}
			if o := seen[l.Path]; o != nil {
				p.errs = append(p.errs, config.Errorf(l.Pos, "certificate file '%s' is already ordered by the load line at %s.", l.Path, o.Pos))
			}
			seen[l.Path] = l
		}
	}
	for _, ps := range p.proxies {
		for _, b := range ps.px.Binds {
			p.resolveCrtMarks(b)
		}
	}
	for _, pr := range p.cfg.Peers {
		p.resolveCrtMarks(pr.BindConf)
	}
}

// acmeDefaultDir is where an acme section without state-dir keeps its
// files: the directory relative paths of its section started from.
func (p *parser) acmeDefaultDir(a *config.ACME) string {
	if d := p.acmeDirs[a]; d != "" {
		return d
	}
	return "."
}

// httpClientKeywords are the global keywords of ACME and of HAProxy's HTTP
// client that Gatehouse's ACME client honours.
func httpClientKeywords() []keyword {
	return []keyword{
		{name: "acme.scheduler", where: wGlobal, syntax: "acme.scheduler auto|off",
			desc: "auto (default): certificates are ordered when missing and renewed when due; off: only by 'acme renew <crt>' on the runtime API (a placeholder is served until then).",
			parse: func(p *parser, args []token) error {
				if err := wantArgs(args, args[0].Text, 1, 1, "auto or off"); err != nil {
					return err
				}
				switch args[1].Text {
				case "auto", "off":
					p.cfg.Global.ACMESchedulerOff = args[1].Text == "off"
					return nil
				}
				return fmt.Errorf("'%s' expects auto or off, got '%s'.", args[0].Text, args[1].Text)
			}},
		{name: "httpclient.ssl.ca-file", where: wGlobal, syntax: "httpclient.ssl.ca-file <file>",
			desc: "CA certificates the ACME client verifies its CA's server with, instead of the system's ('@system-ca', the default).",
			parse: func(p *parser, args []token) error {
				if err := wantArgs(args, args[0].Text, 1, 1, "a file"); err != nil {
					return err
				}
				if v := args[1].Text; v != "@system-ca" {
					p.cfg.Global.HTTPClientCAFile = p.filePath(p.cfg.Global.CABase, v)
				} else {
					p.cfg.Global.HTTPClientCAFile = ""
				}
				return nil
			}},
		{name: "httpclient.ssl.verify", where: wGlobal, syntax: "httpclient.ssl.verify none|required",
			desc: "Whether the ACME client verifies its CA's server certificate (default required).",
			parse: func(p *parser, args []token) error {
				if err := wantArgs(args, args[0].Text, 1, 1, "none or required"); err != nil {
					return err
				}
				switch v := args[1].Text; v {
				case "none", "required":
					p.cfg.Global.HTTPClientVerify = v
					return nil
				}
				return fmt.Errorf("'%s' expects none or required, got '%s'.", args[0].Text, args[1].Text)
			}},
	}
}
