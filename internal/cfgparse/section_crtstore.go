package cfgparse

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The "crt-store" section (HAProxy's configuration.txt 12.7): certificate
// definitions that bind lines name with "crt". A definition comes before
// its use, as in HAProxy. Gatehouse reads the load options that name a
// file and an ACME order; the others are refused by name.

func crtStoreSection() sectionDef {
	return sectionDef{name: "crt-store", kind: secIdentity, syntax: "crt-store [<name>]", open: openCrtStore,
		kws: crtStoreKeywords(), ownTable: true,
		desc: "Certificate definitions: a bind line names one with 'crt <crt>' (the anonymous store), 'crt @/<alias>' or 'crt @<store>/<crt or alias>'. With 'acme <section> domains <names>', the certificate is ordered and renewed over ACME; a self-signed placeholder is served until the first one is issued."}
}

// crtStoreMark stands in a bind's Crts for a crt-store certificate until
// finishACME puts its file there (bind lines are copied per address, so
// the mark travels with the copies).
func (p *parser) crtStoreMark(l *config.CrtLoad) string {
	p.crtRefs = append(p.crtRefs, l)
	return crtMarkPrefix + strconv.Itoa(len(p.crtRefs)-1)
}

const crtMarkPrefix = "\x00crt-store:"

// resolveCrtMarks replaces the marks of b's Crts with their files.
func (p *parser) resolveCrtMarks(b *config.Bind) {
	if b == nil {
		return
	}
	for i, c := range b.Crts {
		if n, ok := strings.CutPrefix(c, crtMarkPrefix); ok {
			k, _ := strconv.Atoi(n)
			b.Crts[i] = p.crtRefs[k].Path
		}
	}
}

func openCrtStore(p *parser, sec *sectionDef, toks []token) {
	if len(toks) > 2 {
		p.errorf("'crt-store' cannot handle unexpected argument '%s'.", toks[2].Text)
		p.sec = &sectionDef{name: sec.name, skip: true}
		return
	}
	name := ""
	if len(toks) == 2 {
		name = toks[1].Text
		if c, bad := invalidChar(name); bad {
			p.errorf("character '%c' is not permitted in 'crt-store' name '%s'.", c, name)
		}
	}
	for _, st := range p.cfg.CrtStores {
		if st.Name == name && name != "" {
			p.errorf("crt-store '%s' is already declared at %s.", name, st.Pos)
		}
	}
	p.crtStore = &config.CrtStore{Pos: p.pos(), Name: name}
	p.cfg.CrtStores = append(p.cfg.CrtStores, p.crtStore)
}

func crtStoreKeywords() []keyword {
	return []keyword{
		{name: "crt-base", syntax: "crt-base <dir>",
			desc: "Directory relative 'load crt' paths of this store start from (the global crt-base does not apply in a crt-store).",
			parse: func(p *parser, args []token) error {
				if err := wantArgs(args, "crt-base", 1, 1, "a directory"); err != nil {
					return err
				}
				p.crtStore.CrtBase = p.path(args[1].Text)
				return nil
			}},
		{name: "key-base", syntax: "key-base <dir>",
			desc: "Accepted for HAProxy's syntax; Gatehouse reads a certificate's key from its file or '<crt>.key', so 'key' options are refused.",
			parse: func(p *parser, args []token) error {
				if err := wantArgs(args, "key-base", 1, 1, "a directory"); err != nil {
					return err
				}
				p.crtStore.KeyBase = p.path(args[1].Text)
				return nil
			}},
		{name: "load", syntax: "load crt <file> [alias <name>] [acme <section> domains <name>[,<name>...]] [keytype RSA|ECDSA] [bits <n>] [curves <curve>]",
			desc:  "A certificate: its file (the key in it or in '<file>.key'). With 'acme', it is ordered from that acme section for 'domains' (the first is the CN) and kept at <file> under the section's state-dir unless absolute or under this store's crt-base; keytype, bits and curves shape the placeholder served until then.",
			parse: parseCrtStoreLoad},
	}
}

// crtStoreUnimpl are HAProxy's load options Gatehouse does not implement.
var crtStoreUnimpl = map[string]bool{"key": true, "ocsp": true, "issuer": true, "sctl": true,
	"ocsp-update": true, "jwt": true, "ips": true, "generate-dummy": true}

func parseCrtStoreLoad(p *parser, args []token) error {
	l := &config.CrtLoad{Pos: p.pos()}
	var domains string
	hasDomains := false
	for i := 1; i < len(args); i += 2 {
		opt := args[i].Text
		if crtStoreUnimpl[opt] {
			return fmt.Errorf("'load': option '%s' is a HAProxy option that Gatehouse does not implement.", opt)
		}
		switch opt {
		case "crt", "alias", "acme", "domains", "keytype", "bits", "curves":
		default:
			return fmt.Errorf("'load': unknown option '%s' (expected crt, alias, acme, domains, keytype, bits or curves).", opt)
		}
		if i+1 >= len(args) || args[i+1].Text == "" {
			return fmt.Errorf("'load': option '%s' expects an argument.", opt)
		}
		v := args[i+1].Text
		var err error
		switch opt {
		case "crt":
			l.Crt = v
		case "alias":
			l.Alias = v
		case "acme":
			l.ACME = v
		case "domains":
			domains, hasDomains = v, true
		case "keytype":
			l.KeyType, err = keyTypeArg(v)
		case "bits":
			l.Bits, err = bitsArg(v)
		case "curves":
			l.Curves, err = curveArg(v)
		}
		if err != nil {
			return fmt.Errorf("'load': %v", err)
		}
	}
	if l.Crt == "" {
		return fmt.Errorf("'load' expects 'crt <file>'.")
	}
	if hasDomains {
		for _, d := range strings.Split(domains, ",") {
			d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
			if err := checkACMEDomain(d); err != nil {
				return fmt.Errorf("'load crt %s': %v", l.Crt, err)
			}
			l.Domains = append(l.Domains, d)
		}
	}
	switch {
	case l.ACME != "" && len(l.Domains) == 0:
		return fmt.Errorf("'load crt %s' uses 'acme %s' but has no 'domains' to order the certificate for.", l.Crt, l.ACME)
	case l.ACME == "" && hasDomains:
		return fmt.Errorf("'load crt %s': 'domains' needs 'acme <section>'.", l.Crt)
	}
	if l.KeyType == "" {
		l.KeyType = "RSA" // HAProxy's generate-dummy default
	}
	if l.Bits == 0 {
		l.Bits = 2048
	}
	if l.Curves == "" {
		l.Curves = "P-384"
	}
	l.Path = p.filePath(p.crtStore.CrtBase, l.Crt)
	for _, o := range p.crtStore.Loads {
		if o.Crt == l.Crt || (l.Alias != "" && (o.Alias == l.Alias || o.Crt == l.Alias)) || (o.Alias != "" && o.Alias == l.Crt) {
			return fmt.Errorf("'load crt %s': the name is already used in this crt-store at %s.", l.Crt, o.Pos)
		}
	}
	p.crtStore.Loads = append(p.crtStore.Loads, l)
	return nil
}

// checkACMEDomain refuses what no CA would issue for: empty labels, IP
// addresses, characters outside a host name; a wildcard is allowed as the
// first label only.
func checkACMEDomain(d string) error {
	if d == "" {
		return fmt.Errorf("empty name in 'domains'")
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return fmt.Errorf("'%s' in 'domains' is not a fully qualified domain name", d)
	}
	if net.ParseIP(d) != nil || strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("'%s' in 'domains' is not a valid domain name (IP addresses go in HAProxy's 'ips', which Gatehouse does not implement)", d)
	}
	for i, lb := range labels {
		if lb == "*" && i == 0 {
			continue
		}
		if lb == "" || len(lb) > 63 || lb[0] == '-' || lb[len(lb)-1] == '-' {
			return fmt.Errorf("'%s' in 'domains' is not a valid domain name", d)
		}
		for j := 0; j < len(lb); j++ {
			c := lb[j]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("'%s' in 'domains' is not a valid domain name", d)
			}
		}
	}
	return nil
}

// crtStoreRef finds the crt-store certificate a bind's crt argument names:
// "@<store>/<crt or alias>", "@/<alias>" or a crt of the anonymous store.
func (p *parser) crtStoreRef(v string) (*config.CrtLoad, error) {
	if rest, ok := strings.CutPrefix(v, "@"); ok {
		store, name, ok := strings.Cut(rest, "/")
		if !ok || name == "" {
			return nil, fmt.Errorf("'crt %s': expected '@<store>/<crt>' or '@/<alias>'.", v)
		}
		for _, st := range p.cfg.CrtStores {
			if st.Name != store {
				continue
			}
			for _, l := range st.Loads {
				if l.Alias == name || (store != "" && l.Crt == name) {
					return l, nil
				}
			}
		}
		return nil, fmt.Errorf("'crt %s': no such certificate in a crt-store declared before this line.", v)
	}
	for _, st := range p.cfg.CrtStores {
		if st.Name != "" {
			continue
		}
		for _, l := range st.Loads {
			if l.Crt == v {
				return l, nil
			}
		}
	}
	return nil, nil
}
