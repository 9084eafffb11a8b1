package istiogen

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// A condition is read into disjunctive normal form (ORed conjunctions of
// possibly negated ACL tests), the shape of an AuthorizationPolicy: its
// rules are ORed, the fields of one rule ANDed.

// test is one ACL test: "criterion [flags] values", as an acl line or an
// anonymous ACL has it.
type test struct {
	pos  config.Pos
	text string // as written, for comments
	args []string
}

type lit struct {
	neg bool
	t   test
}

type conj []lit
type dnf []conj

// maxConj bounds the expansion of negated conditions; a condition past it
// is reported as having no mesh equivalent rather than explored.
const maxConj = 32

var errTooComplex = fmt.Errorf("the condition expands to more than %d alternatives", maxConj)

// always is the DNF of "no condition": one empty conjunction.
func always() dnf { return dnf{conj{}} }

// condDNF reads a rule's if/unless condition; a nil cond is always true.
func condDNF(c *config.Cond, acls []*config.ACL) (dnf, error) {
	if c == nil {
		return always(), nil
	}
	d, err := termsDNF(c.Terms, c.Pos, acls)
	if err != nil {
		return nil, err
	}
	if c.Unless {
		return negate(d)
	}
	return d, nil
}

// skipDNF is when a rule does not apply: the negation of its condition.
func skipDNF(c *config.Cond, acls []*config.ACL) (dnf, error) {
	if c == nil {
		return nil, nil // never skipped
	}
	d, err := condDNF(c, acls)
	if err != nil {
		return nil, err
	}
	return negate(d)
}

func termsDNF(terms []string, pos config.Pos, acls []*config.ACL) (dnf, error) {
	var out dnf
	group := always()
	neg := false
	flush := func() {
		out = append(out, group...)
		group = always()
	}
	for i := 0; i < len(terms); i++ {
		tok := terms[i]
		if tok == "||" || tok == "or" {
			flush()
			continue
		}
		for strings.HasPrefix(tok, "!") {
			neg = !neg
			tok = tok[1:]
		}
		if tok == "" {
			continue
		}
		var alts []test // ORed
		switch tok {
		case "{":
			j := i + 1
			for j < len(terms) && terms[j] != "}" {
				j++
			}
			if j >= len(terms) || j == i+1 {
				return nil, fmt.Errorf("malformed anonymous ACL")
			}
			args := terms[i+1 : j]
			alts = []test{{pos: pos, text: "{ " + strings.Join(args, " ") + " }", args: args}}
			i = j
		default:
			for _, a := range acls {
				if a.Name == tok {
					alts = append(alts, test{pos: a.Pos, text: "acl " + a.Name + " " + strings.Join(a.Args, " "), args: a.Args})
				}
			}
			if len(alts) == 0 {
				args, ok := predefinedACL(tok)
				if !ok {
					return nil, fmt.Errorf("unknown ACL '%s'", tok)
				}
				alts = []test{{pos: pos, text: tok, args: args}}
			}
		}
		var d dnf
		if neg {
			c := conj{}
			for _, t := range alts {
				c = append(c, lit{neg: true, t: t})
			}
			d = dnf{c}
		} else {
			for _, t := range alts {
				d = append(d, conj{{t: t}})
			}
		}
		var err error
		if group, err = and(group, d); err != nil {
			return nil, err
		}
		neg = false
	}
	flush()
	out = simplify(out)
	if len(out) > maxConj {
		return nil, errTooComplex
	}
	return out, nil
}

// and is the product of two DNFs.
func and(a, b dnf) (dnf, error) {
	if len(a)*len(b) > maxConj {
		return nil, errTooComplex
	}
	var out dnf
	for _, x := range a {
		for _, y := range b {
			c := append(append(conj{}, x...), y...)
			out = append(out, c)
		}
	}
	return simplify(out), nil
}

func (l lit) key() string { return fmt.Sprintf("%v %s %s", l.neg, l.t.pos, l.t.text) }

// simplify drops repeated tests within a conjunction, conjunctions that
// test something and its negation, and conjunctions another one implies
// (A || A && B is A), so the mesh gets no rule that can never match and
// no rule twice.
func simplify(d dnf) dnf {
	sets := make([]map[string]bool, 0, len(d))
	var kept dnf
	for _, c := range d {
		set := map[string]bool{}
		var u conj
		bad := false
		for _, l := range c {
			if set[l.key()] {
				continue
			}
			if set[lit{neg: !l.neg, t: l.t}.key()] {
				bad = true
				break
			}
			set[l.key()] = true
			u = append(u, l)
		}
		if !bad {
			kept, sets = append(kept, u), append(sets, set)
		}
	}
	var out dnf
	for i, c := range kept {
		implied := false
		for j := range kept {
			if i == j || len(sets[j]) > len(sets[i]) || (len(sets[j]) == len(sets[i]) && j > i) {
				continue
			}
			sub := true
			for k := range sets[j] {
				if !sets[i][k] {
					sub = false
					break
				}
			}
			if sub {
				implied = true
				break
			}
		}
		if !implied {
			out = append(out, c)
		}
	}
	return out
}

// negate is De Morgan: not (C1 or C2) = (not C1) and (not C2), each
// (not Ci) an OR of negated literals.
func negate(d dnf) (dnf, error) {
	out := always()
	for _, c := range d {
		if len(c) == 0 {
			return dnf{}, nil // not true: never
		}
		var alt dnf
		for _, l := range c {
			alt = append(alt, conj{{neg: !l.neg, t: l.t}})
		}
		var err error
		if out, err = and(out, alt); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// predefinedACL is the subset of HAProxy's predefined ACLs this reads
// (the others have no mesh equivalent and are reported by name).
func predefinedACL(name string) ([]string, bool) {
	switch name {
	case "TRUE":
		return []string{"always_true"}, true
	case "FALSE":
		return []string{"always_false"}, true
	case "METH_GET":
		return []string{"method", "GET", "HEAD"}, true
	case "METH_CONNECT", "METH_DELETE", "METH_HEAD", "METH_OPTIONS", "METH_POST", "METH_PUT", "METH_TRACE":
		return []string{"method", strings.TrimPrefix(name, "METH_")}, true
	}
	if strings.HasPrefix(name, "HTTP") || name == "LOCALHOST" || name == "REQ_CONTENT" || name == "WAIT_END" || name == "RDP_COOKIE" {
		return []string{name}, true // known, but matched by nothing below
	}
	return nil, false
}

// match is a parsed ACL test: which request attribute, how, which values.
type match struct {
	fetch  string // "path", "host", "method", "claim", "true", "false"
	claim  string // the claim name for "claim"
	method string // "str", "beg", "end", ...
	icase  bool
	values []string
}

// parseTest reads "criterion [flags] [--] values" for the fetches that have
// a mesh equivalent; anything else is an error naming what it is.
func parseTest(t test) (match, error) {
	if len(t.args) == 0 {
		return match{}, fmt.Errorf("empty ACL")
	}
	crit := t.args[0]
	var m match
	name, arg, hasArg := strings.Cut(crit, "(")
	if hasArg {
		if !strings.HasSuffix(arg, ")") || strings.ContainsAny(arg[:len(arg)-1], "(),") {
			return m, fmt.Errorf("'%s' has converters or arguments the mesh cannot apply", crit)
		}
		arg = arg[:len(arg)-1]
	}
	base, suffix, _ := strings.Cut(name, "_")
	switch {
	case name == "always_true" || name == "always_false":
		m.fetch = strings.TrimPrefix(name, "always_")
		return m, nil
	case name == "oidc_claim" && hasArg && arg != "":
		m.fetch, m.claim, m.method = "claim", arg, "str"
	case name == "path" || (base == "path" && (suffix == "beg" || suffix == "end")):
		m.fetch, m.method = "path", "str"
		if suffix != "" {
			m.method = suffix
		}
	case (name == "hdr" || name == "req.hdr" || name == "hdr_beg" || name == "hdr_end") && strings.EqualFold(arg, "host"):
		m.fetch, m.method = "host", "str"
		if suffix != "" {
			m.method = suffix
		}
	case name == "method" && !hasArg:
		m.fetch, m.method = "method", "str"
	default:
		return m, fmt.Errorf("'%s' has no mesh equivalent", crit)
	}
	rest := t.args[1:]
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
		f := rest[0]
		rest = rest[1:]
		switch f {
		case "-i":
			m.icase = true
		case "-m":
			if len(rest) == 0 {
				return m, fmt.Errorf("'-m' without a method")
			}
			m.method, rest = rest[0], rest[1:]
		case "--":
			goto values
		default:
			return m, fmt.Errorf("flag '%s' of '%s' has no mesh equivalent", f, crit)
		}
	}
values:
	if len(rest) == 0 {
		return m, fmt.Errorf("'%s' without values has no mesh equivalent", crit)
	}
	m.values = rest
	switch m.method {
	case "str", "beg", "end":
	default:
		return m, fmt.Errorf("match method '-m %s' of '%s' has no mesh equivalent", m.method, crit)
	}
	if m.icase && m.fetch != "host" { // Istio matches hosts without case, nothing else
		return m, fmt.Errorf("'-i' on '%s': the mesh compares it with case", crit)
	}
	if m.fetch == "method" && m.method != "str" {
		return m, fmt.Errorf("'%s' with '-m %s' has no mesh equivalent", crit, m.method)
	}
	return m, nil
}

// istioValues writes values in Istio's glob form: exact, "prefix*" or
// "*suffix". A value that contains '*' itself cannot be said.
func (m match) istioValues() ([]string, error) {
	out := make([]string, 0, len(m.values))
	for _, v := range m.values {
		if strings.Contains(v, "*") {
			return nil, fmt.Errorf("value '%s' contains '*', which the mesh reads as a wildcard", v)
		}
		switch m.method {
		case "beg":
			v += "*"
		case "end":
			v = "*" + v
		}
		out = append(out, v)
	}
	return out, nil
}
