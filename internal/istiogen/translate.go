package istiogen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// conjRule turns one conjunction into an AuthorizationPolicy rule (its
// operation and conditions ANDed). ok is false when the conjunction can
// never hold (FALSE, or !TRUE). claims are the claims the token carries:
// a test of another claim has nothing to match in the mesh.
func conjRule(c conj, claims []string, token string) (r Rule, ok bool, err error) {
	var op Operation
	setOnce := func(dst *[]string, vals []string, what string, t test) error {
		if *dst != nil {
			return fmt.Errorf("%s: two %s tests must both hold, and a mesh rule has one list of %s", t.text, what, what)
		}
		*dst = vals
		return nil
	}
	for _, l := range c {
		m, err := parseTest(l.t)
		if err != nil {
			return Rule{}, false, fmt.Errorf("%s (%s): %v", l.t.text, l.t.pos, err)
		}
		if m.fetch == "true" || m.fetch == "false" {
			if (m.fetch == "true") == l.neg {
				return Rule{}, false, nil
			}
			continue
		}
		vals, err := m.istioValues()
		if err != nil {
			return Rule{}, false, fmt.Errorf("%s (%s): %v", l.t.text, l.t.pos, err)
		}
		switch m.fetch {
		case "path":
			if l.neg {
				op.NotPaths = append(op.NotPaths, vals...)
			} else if err := setOnce(&op.Paths, vals, "path", l.t); err != nil {
				return Rule{}, false, err
			}
		case "host":
			if l.neg {
				op.NotHosts = append(op.NotHosts, vals...)
			} else if err := setOnce(&op.Hosts, vals, "host", l.t); err != nil {
				return Rule{}, false, err
			}
		case "method":
			if l.neg {
				op.NotMethods = append(op.NotMethods, vals...)
			} else if err := setOnce(&op.Methods, vals, "method", l.t); err != nil {
				return Rule{}, false, err
			}
		case "claim":
			if !slices.Contains(claims, m.claim) {
				return Rule{}, false, fmt.Errorf("%s (%s): claim '%s' is not in the token (add it to 'claims' of identity-token '%s')", l.t.text, l.t.pos, m.claim, token)
			}
			cond := Condition{Key: "request.auth.claims[" + m.claim + "]"}
			if l.neg {
				cond.NotValues = vals
			} else {
				cond.Values = vals
			}
			r.When = append(r.When, cond)
		}
	}
	if !op.empty() {
		r.To = []To{{Operation: op}}
	}
	return r, true, nil
}

// dnfRules translates every conjunction of d, all or nothing: a rule
// missing one alternative would be a different rule.
func dnfRules(d dnf, claims []string, token string) ([]Rule, error) {
	var out []Rule
	for _, c := range d {
		r, ok, err := conjRule(c, claims, token)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// mentionsClaims says whether a condition reads oidc_claim, directly or
// through a named ACL.
func mentionsClaims(c *config.Cond, acls []*config.ACL) bool {
	if c == nil {
		return false
	}
	for _, t := range c.Terms {
		if strings.HasPrefix(t, "oidc_claim") {
			return true
		}
		name := strings.TrimLeft(t, "!")
		for _, a := range acls {
			if a.Name == name && len(a.Args) > 0 && strings.HasPrefix(a.Args[0], "oidc_claim") {
				return true
			}
		}
	}
	return false
}
