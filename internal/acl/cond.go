package acl

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Cond is a compiled "if"/"unless" condition: ORed groups of ANDed terms.
// A nil *Cond is "no condition" and matches.
type Cond struct {
	pos    config.Pos
	src    string
	unless bool
	groups [][]condTerm
	need   Need
}

type condTerm struct {
	g   *aclGroup
	neg bool
}

// Cond compiles a condition: terms are ANDed, "||" or "or" separates ORed
// groups, "!" negates the next term (also written "!name"), and
// "{ CRITERION [FLAGS] [PATTERNS] }" is an anonymous ACL. A nil c gives a
// nil *Cond.
func (s *Set) Cond(c *config.Cond) (*Cond, error) {
	if c == nil {
		return nil, nil
	}
	kw := "if"
	if c.Unless {
		kw = "unless"
	}
	fail := func(format string, args ...any) (*Cond, error) {
		return nil, config.Errorf(c.Pos, "error detected while parsing '%s' condition : %s", kw, fmt.Sprintf(format, args...))
	}
	if len(c.Terms) == 0 {
		return fail("missing condition after '%s'", kw)
	}
	out := &Cond{pos: c.Pos, src: strings.Join(c.Terms, " "), unless: c.Unless}
	var group []condTerm
	neg := false
	kws := aclKeywords()
	if s != nil {
		kws = s.kws
	}
	for i := 0; i < len(c.Terms); i++ {
		tok := c.Terms[i]
		if tok == "||" || tok == "or" {
			if neg {
				return fail("missing ACL after '!'")
			}
			if len(group) == 0 {
				return fail("missing ACL before '%s'", tok)
			}
			out.groups = append(out.groups, group)
			group = nil
			continue
		}
		for strings.HasPrefix(tok, "!") {
			neg = !neg
			tok = tok[1:]
		}
		if tok == "" {
			continue
		}
		var g *aclGroup
		switch tok {
		case "{":
			j := i + 1
			for j < len(c.Terms) && c.Terms[j] != "}" {
				if c.Terms[j] == "{" {
					return fail("anonymous ACLs cannot be nested")
				}
				j++
			}
			if j >= len(c.Terms) {
				return fail("missing '}' to close the anonymous ACL")
			}
			if j == i+1 {
				return fail("empty anonymous ACL")
			}
			var env *compileEnv
			if s != nil {
				env = &compileEnv{maps: s.maps, pos: c.Pos}
			}
			a, err := compileACLTestIn(c.Terms[i+1:j], kws, env)
			if err == nil {
				err = a.bind(s.envOrNil(), c.Terms[i+1:j])
			}
			if err == nil && s != nil {
				s.maps.ReserveID()
			}
			if err != nil {
				return fail("in anonymous ACL : %v", err)
			}
			g = &aclGroup{name: "{ " + strings.Join(c.Terms[i+1:j], " ") + " }"}
			g.add(a)
			i = j
		case "}":
			return fail("unexpected '}'")
		default:
			var err error
			if g, err = s.lookup(tok); err != nil {
				return fail("%v", err)
			}
			if g.err != "" {
				return fail("%s", g.err)
			}
		}
		group = append(group, condTerm{g: g, neg: neg})
		out.need |= g.need
		neg = false
	}
	if neg {
		return fail("missing ACL after '!'")
	}
	if len(group) == 0 {
		return fail("missing ACL after '||'")
	}
	out.groups = append(out.groups, group)
	return out, nil
}

// Eval evaluates the condition with HAProxy's three-state logic.
func (c *Cond) Eval(t *Txn) Result {
	if c == nil {
		return Pass
	}
	res := Fail
	for _, g := range c.groups {
		sr := Pass
		for _, term := range g {
			r := term.g.eval(t)
			if term.neg {
				r = r.not()
			}
			if sr &= r; sr != Pass {
				break
			}
		}
		if res |= sr; res == Pass {
			break
		}
	}
	if c.unless {
		res = res.not()
	}
	return res
}

// Match reports whether the condition holds (a Miss counts as false).
func (c *Cond) Match(t *Txn) bool { return c.Eval(t) == Pass }

// Uses reports what the condition reads.
func (c *Cond) Uses() Need {
	if c == nil {
		return 0
	}
	return c.need
}

// String returns the condition's terms as written.
func (c *Cond) String() string {
	if c == nil {
		return ""
	}
	if c.unless {
		return "unless " + c.src
	}
	return "if " + c.src
}

// Conflicts lists, in HAProxy's words, the ACLs of the condition that can
// never match in a rule of ctx (where names the rule, e.g. "frontend
// http-response header rule"): HAProxy accepts them with a warning and
// they fail when evaluated (aclTest.eval). What is left of the condition's
// needs is returned for CheckContext.
func (c *Cond) Conflicts(ctx Context, where string) (warnings []string, rest Need) {
	if c == nil {
		return nil, 0
	}
	absent := ctx.absentIn()
	for _, g := range c.groups {
		for _, term := range g {
			for _, a := range term.g.tests {
				if a.expr.need&absent == 0 {
					continue
				}
				if strings.HasPrefix(term.g.name, "{") {
					warnings = append(warnings, fmt.Sprintf("anonymous acl will never match because it uses keyword '%s' which is incompatible with '%s'", a.expr.kw, where))
				} else {
					warnings = append(warnings, fmt.Sprintf("acl '%s' will never match because it only involves keywords that are incompatible with '%s'", term.g.name, where))
				}
				break
			}
		}
	}
	return warnings, c.need &^ absent
}

// Check reports an error naming the first ACL and keyword that cannot be
// evaluated in ctx.
func (c *Cond) Check(ctx Context) error {
	if c == nil {
		return nil
	}
	for _, g := range c.groups {
		for _, term := range g {
			for _, a := range term.g.tests {
				if err := CheckContext(a.expr.need, ctx); err != nil {
					return config.Errorf(c.pos, "acl '%s' will never match because keyword '%s' %v", term.g.name, a.expr.kw, err)
				}
			}
		}
	}
	return nil
}
