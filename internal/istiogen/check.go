package istiogen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Found is a resource read from a policy file, with where it was.
type Found struct {
	Object
	Doc int // 1-based number among the stream's non-empty documents (a List's items share theirs)
}

func (f Found) where() string {
	ns := f.Metadata.Namespace
	if ns != "" {
		ns += "/"
	}
	return fmt.Sprintf("%s %s%s (document %d)", f.Kind, ns, f.Metadata.Name, f.Doc)
}

var docStart = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// ReadPolicies reads the security.istio.io resources of a YAML (or JSON)
// stream: documents separated by '---' lines, a List's items included.
// Other resources are skipped; a document that is not valid YAML, or a
// security resource whose fields have the wrong types, is an error.
func ReadPolicies(data []byte) ([]Found, error) {
	var out []Found
	i := -1
	for _, doc := range docStart.Split(string(data), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue // a stream's leading '---', a comment block
		}
		i++
		j, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", i+1, err)
		}
		var head struct {
			APIVersion string            `json:"apiVersion"`
			Kind       string            `json:"kind"`
			Items      []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(j, &head); err != nil {
			return nil, fmt.Errorf("document %d: not a Kubernetes resource: %v", i+1, err)
		}
		items := []json.RawMessage{j}
		if head.Kind == "List" || strings.HasSuffix(head.Kind, "List") && head.Items != nil {
			items = head.Items
		}
		for _, it := range items {
			var o Object
			var h struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := json.Unmarshal(it, &h); err != nil {
				return nil, fmt.Errorf("document %d: %v", i+1, err)
			}
			if !strings.HasPrefix(h.APIVersion, "security.istio.io/") || (h.Kind != "RequestAuthentication" && h.Kind != "AuthorizationPolicy") {
				continue
			}
			it, err := camelSpec(it)
			if err == nil {
				err = json.Unmarshal(it, &o)
			}
			if err != nil {
				return nil, fmt.Errorf("document %d: %s: %v", i+1, h.Kind, err)
			}
			if o.Kind == "AuthorizationPolicy" && o.Spec.Action == "" {
				o.Spec.Action = "ALLOW" // Istio's default, which its own types omit
			}
			out = append(out, Found{Object: o, Doc: i + 1})
		}
	}
	return out, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Check lists where the policies disagree with the plans: each identity
// token needs a jwtRule with its issuer, audiences, jwksUri and header, an
// ALLOW policy requiring its principals and allowing what the edge
// forwards without a token, and its claim rules in a DENY policy. Other
// resources in the file are left alone.
func Check(plans []*Plan, found []Found) []string {
	var out []string
	for _, p := range plans {
		out = append(out, checkPlan(p, found)...)
	}
	return out
}

func checkPlan(p *Plan, found []Found) []string {
	var out []string
	sect := fmt.Sprintf("identity-token '%s' (%s)", p.Token.Name, p.Token.Pos)
	say := func(format string, args ...any) { out = append(out, sect+": "+fmt.Sprintf(format, args...)) }
	var match *JWTRule
	var matchAt Found
	var others []string
	for _, f := range found {
		if f.Kind != "RequestAuthentication" {
			continue
		}
		for i := range f.Spec.JWTRules {
			r := &f.Spec.JWTRules[i]
			switch {
			case r.Issuer == p.JWT.Issuer && match == nil:
				match, matchAt = r, f
			case f.Metadata.Name == p.Name || (r.JwksURI != "" && r.JwksURI == p.JWT.JwksURI):
				others = append(others, fmt.Sprintf("%s has issuer %s", f.where(), str(r.Issuer)))
			}
		}
	}
	if match == nil {
		msg := fmt.Sprintf("no RequestAuthentication has a jwtRule with issuer %s", str(p.JWT.Issuer))
		if len(others) > 0 {
			msg += "; " + strings.Join(others, "; ")
		}
		say("%s", msg)
	} else {
		w := matchAt.where()
		if len(match.Audiences) == 0 {
			say("%s: the jwtRule for %s accepts any audience; the edge's tokens carry %s", w, str(p.JWT.Issuer), strList(p.JWT.Audiences))
		} else if !sameSet(match.Audiences, p.JWT.Audiences) {
			say("%s: audiences are %s, the configuration's are %s", w, strList(match.Audiences), strList(p.JWT.Audiences))
		}
		switch {
		case match.Jwks != "" && match.JwksURI == "":
			say("%s: uses an inline 'jwks'; the configuration publishes its keys at %s", w, str(p.JWT.JwksURI))
		case match.JwksURI != p.JWT.JwksURI:
			say("%s: jwksUri is %s, the configuration serves the keys at %s", w, str(match.JwksURI), str(p.JWT.JwksURI))
		}
		if !sameHeaders(match.FromHeaders, p.JWT.FromHeaders) {
			want := "Authorization: Bearer (the default)"
			if len(p.JWT.FromHeaders) > 0 {
				want = p.JWT.FromHeaders[0].Name + ": " + p.JWT.FromHeaders[0].Prefix
			}
			say("%s: fromHeaders differ: the edge sends its token in %s", w, strings.TrimSpace(want))
		}
	}
	var allowRules, denyRules []Rule
	for _, f := range found {
		if f.Kind != "AuthorizationPolicy" {
			continue
		}
		switch f.Spec.Action {
		case "", "ALLOW":
			allowRules = append(allowRules, f.Spec.Rules...)
		case "DENY":
			denyRules = append(denyRules, f.Spec.Rules...)
		}
	}
	for _, pr := range p.Principals {
		if !principalAllowed(pr, allowRules) {
			say("no ALLOW AuthorizationPolicy rule admits principal %s%s", str(pr), principalHint(pr, allowRules))
		}
	}
	for _, n := range p.Public {
		if !hasRule(allowRules, n.Rule) {
			say("no ALLOW AuthorizationPolicy rule admits what the edge forwards without a token (%s): %s", n.Note, ruleJSON(n.Rule))
		}
	}
	for _, n := range p.Deny {
		if !hasRule(denyRules, n.Rule) {
			say("no DENY AuthorizationPolicy rule matches the claim rule %s: %s", n.Note, ruleJSON(n.Rule))
		}
	}
	return out
}

// principalAllowed: a rule with only a source whose requestPrincipals
// cover pr (equal, or a '*' pattern matching it) admits its callers.
func principalAllowed(pr string, rules []Rule) bool {
	for _, r := range rules {
		if len(r.To) > 0 || len(r.When) > 0 {
			continue
		}
		for _, f := range r.From {
			for _, q := range f.Source.RequestPrincipals {
				if covers(q, pr) {
					return true
				}
			}
		}
	}
	return false
}

// principalHint names the principals found, when the issuer part differs.
func principalHint(pr string, rules []Rule) string {
	var seen []string
	for _, r := range rules {
		for _, f := range r.From {
			for _, q := range f.Source.RequestPrincipals {
				if !slices.Contains(seen, q) {
					seen = append(seen, q)
				}
			}
		}
	}
	if len(seen) == 0 {
		return ""
	}
	return " (the file's requestPrincipals: " + strList(seen) + ")"
}

// covers: Istio's string match: exact, "prefix*", "*suffix" or "*".
func covers(pattern, s string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, "*"):
		// "prefix*" covers s and also the pattern s itself when s is a
		// narrower prefix pattern.
		return strings.HasPrefix(s, strings.TrimSuffix(pattern, "*"))
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(s, pattern[1:])
	}
	return pattern == s
}

func hasRule(rules []Rule, want Rule) bool {
	w := ruleJSON(canon(want))
	for _, r := range rules {
		if ruleJSON(canon(r)) == w {
			return true
		}
	}
	return false
}

// canon sorts what Istio treats as sets.
func canon(r Rule) Rule {
	sorted := func(s []string) []string {
		if s == nil {
			return nil
		}
		s = slices.Clone(s)
		slices.Sort(s)
		return s
	}
	var c Rule
	for _, f := range r.From {
		c.From = append(c.From, From{Source: Source{RequestPrincipals: sorted(f.Source.RequestPrincipals), NotRequestPrincipals: sorted(f.Source.NotRequestPrincipals)}})
	}
	for _, t := range r.To {
		o := t.Operation
		c.To = append(c.To, To{Operation: Operation{Hosts: sorted(o.Hosts), NotHosts: sorted(o.NotHosts), Methods: sorted(o.Methods),
			NotMethods: sorted(o.NotMethods), Paths: sorted(o.Paths), NotPaths: sorted(o.NotPaths)}})
	}
	for _, w := range r.When {
		c.When = append(c.When, Condition{Key: w.Key, Values: sorted(w.Values), NotValues: sorted(w.NotValues)})
	}
	slices.SortFunc(c.When, func(a, b Condition) int { return strings.Compare(condJSON(a), condJSON(b)) })
	return c
}

func condJSON(c Condition) string { b, _ := json.Marshal(c); return string(b) }

func ruleJSON(r Rule) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(r)
	return strings.TrimSpace(b.String())
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// sameHeaders: none means Authorization with "Bearer ".
func sameHeaders(a, b []JWTHeader) bool {
	norm := func(h []JWTHeader) []JWTHeader {
		if len(h) == 0 {
			return []JWTHeader{{Name: "authorization", Prefix: "Bearer "}}
		}
		out := make([]JWTHeader, len(h))
		for i, x := range h {
			out[i] = JWTHeader{Name: strings.ToLower(x.Name), Prefix: x.Prefix}
		}
		return out
	}
	return slices.Equal(norm(a), norm(b))
}

func strList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = str(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// camelSpec renames the spec's snake_case fields (jwks_uri, from_headers,
// request_principals, not_values, ...) to the camelCase names Istio also
// accepts, so either spelling is compared. Label maps keep their keys.
func camelSpec(raw json.RawMessage) (json.RawMessage, error) {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				if k == "matchLabels" || k == "match_labels" {
					out["matchLabels"] = e
					continue
				}
				out[camel(k)] = walk(e)
			}
			return out
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		}
		return v
	}
	if spec, ok := obj["spec"]; ok {
		obj["spec"] = walk(spec)
	}
	return json.Marshal(obj)
}

func camel(k string) string {
	parts := strings.Split(k, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
