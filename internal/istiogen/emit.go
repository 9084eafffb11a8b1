package istiogen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Objects are the resources a plan asks for, in the order they are written.
func (p *Plan) Objects(opt Options) []Object {
	meta := func(suffix string) Metadata {
		return Metadata{Name: p.Name + suffix, Namespace: opt.namespace()}
	}
	sel := &Selector{MatchLabels: opt.selector()}
	out := []Object{{
		APIVersion: APIVersion, Kind: "RequestAuthentication", Metadata: meta(""),
		Spec: Spec{Selector: sel, JWTRules: []JWTRule{p.JWT}},
	}}
	allow := Object{APIVersion: APIVersion, Kind: "AuthorizationPolicy", Metadata: meta("-require-token"),
		Spec: Spec{Selector: sel, Action: "ALLOW"}}
	allow.Spec.Rules = append(allow.Spec.Rules, Rule{From: []From{{Source: Source{RequestPrincipals: p.Principals}}}})
	for _, n := range p.Public {
		allow.Spec.Rules = append(allow.Spec.Rules, n.Rule)
	}
	out = append(out, allow)
	if len(p.Deny) > 0 {
		deny := Object{APIVersion: APIVersion, Kind: "AuthorizationPolicy", Metadata: meta("-claims"),
			Spec: Spec{Selector: sel, Action: "DENY"}}
		for _, n := range p.Deny {
			deny.Spec.Rules = append(deny.Spec.Rules, n.Rule)
		}
		out = append(out, deny)
	}
	return out
}

func (o Options) namespace() string {
	if o.Namespace == "" {
		return "istio-system"
	}
	return o.Namespace
}

func (o Options) selector() map[string]string {
	if len(o.Selector) == 0 {
		return map[string]string{"istio": "ingressgateway"}
	}
	return o.Selector
}

// Write prints the plans as a multi-document YAML stream with the comments
// a reader needs. source names the configuration in the header.
func Write(w io.Writer, plans []*Plan, opt Options, source string) error {
	e := &emitter{w: bufio.NewWriter(w)}
	e.comment(0, "Istio policies matching the identity-token sections of %s, written by", source)
	e.comment(0, "`gatehouse istio`; compare a deployed copy with `gatehouse istio --check`.")
	e.comment(0, "Apply them in the namespace of the ingress gateway Gatehouse forwards to.")
	e.comment(0, "")
	e.comment(0, "istiod, not the gateway, fetches each jwksUri and pushes the keys to Envoy:")
	e.comment(0, "istiod must reach that URL (the edge's public name or an in-cluster address)")
	e.comment(0, "and trust its certificate, or every request carrying a token is refused.")
	e.comment(0, "istiod caches a key set (20 minutes by default): publish a new key with")
	e.comment(0, "'publish-key' at least that long before it signs.")
	tls, noXFF := false, []string{}
	for _, p := range plans {
		tls = tls || p.TerminatesTLS
		for _, n := range p.NoForwardFor {
			if !slices.Contains(noXFF, n) {
				noXFF = append(noXFF, n)
			}
		}
	}
	if tls {
		e.comment(0, "")
		e.comment(0, "The edge terminates TLS: the gateway's peer is the edge, not the client.")
		e.comment(0, "Tell the gateway the edge is one trusted hop, so that the client address")
		e.comment(0, "(remoteIpBlocks, logs) is read from the X-Forwarded-For entry the edge adds:")
		e.comment(0, "  meshConfig.defaultConfig.gatewayTopology.numTrustedProxies: 1")
		e.comment(0, "or on the gateway's pods:")
		e.comment(0, "  proxy.istio.io/config: '{\"gatewayTopology\": {\"numTrustedProxies\": 1}}'")
	}
	if len(noXFF) > 0 {
		e.comment(0, "Frontend(s) %s have no 'option forwardfor': without it the gateway", quote(noXFF))
		e.comment(0, "never learns the client's address.")
	}
	if len(plans) == 0 {
		e.comment(0, "")
		e.comment(0, "%s has no identity-token section: nothing to verify.", source)
		return e.w.Flush()
	}
	for i, p := range plans {
		objs := p.Objects(opt)
		if i > 0 {
			e.line(0, "---")
		}
		e.comment(0, "")
		e.comment(0, "identity-token '%s' (%s): the edge's token, verified by the gateway.", p.Token.Name, p.Token.Pos)
		for _, n := range p.JWKSNotes {
			e.comment(0, "jwksUri: %s", n)
		}
		for _, wn := range p.Warnings {
			e.comment(0, "WARNING: %s", wn)
		}
		e.object(objs[0], nil)
		e.line(0, "---")
		e.comment(0, "A RequestAuthentication alone lets requests without a token through: this")
		e.comment(0, "policy makes the edge's token mandatory, except on requests the edge itself")
		e.comment(0, "forwards without one. A principal is iss/sub; the edge's sub is")
		e.comment(0, "<oidc section>/<the provider's sub>.")
		for _, n := range p.PrincipalNotes {
			e.comment(0, "%s", n)
		}
		if len(p.PublicGaps) > 0 {
			e.comment(0, "The edge forwards some requests without a token that no mesh rule can single")
			e.comment(0, "out; this policy refuses them (add a rule by hand if they must pass):")
			for _, g := range p.PublicGaps {
				e.comment(0, "  %s", g)
			}
		}
		notes := []string{"callers with the edge's token"}
		for _, n := range p.Public {
			notes = append(notes, n.Note)
		}
		e.object(objs[1], notes)
		if len(p.Deny) > 0 {
			e.line(0, "---")
			e.comment(0, "The edge's claim rules, enforced again by the gateway.")
			e.noEquiv(p)
			notes = nil
			for _, n := range p.Deny {
				notes = append(notes, n.Note)
			}
			e.object(objs[2], notes)
		} else if len(p.NoEquiv) > 0 {
			e.line(0, "---")
			e.noEquiv(p)
		}
	}
	return e.w.Flush()
}

func (e *emitter) noEquiv(p *Plan) {
	if len(p.NoEquiv) == 0 {
		return
	}
	e.comment(0, "Claim rules with no mesh equivalent (only the edge enforces them):")
	for _, n := range p.NoEquiv {
		e.comment(0, "  %s", n)
	}
}

type emitter struct {
	w *bufio.Writer
}

func (e *emitter) line(indent int, format string, args ...any) {
	e.w.WriteString(strings.Repeat(" ", indent))
	fmt.Fprintf(e.w, format, args...)
	e.w.WriteByte('\n')
}

// comment writes a comment line; line breaks in the text stay comments.
func (e *emitter) comment(indent int, format string, args ...any) {
	for _, l := range strings.Split(fmt.Sprintf(format, args...), "\n") {
		if l == "" {
			e.line(indent, "#")
		} else {
			e.line(indent, "# %s", l)
		}
	}
}

// str quotes a scalar: a JSON string is a YAML double-quoted scalar.
func str(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (e *emitter) list(indent int, key string, vals []string) {
	if len(vals) == 0 {
		return
	}
	e.line(indent, "%s:", key)
	for _, v := range vals {
		e.line(indent, "- %s", str(v))
	}
}

// object writes one resource; ruleNotes comment its rules one by one.
func (e *emitter) object(o Object, ruleNotes []string) {
	e.line(0, "apiVersion: %s", o.APIVersion)
	e.line(0, "kind: %s", o.Kind)
	e.line(0, "metadata:")
	e.line(2, "name: %s", str(o.Metadata.Name))
	if o.Metadata.Namespace != "" {
		e.line(2, "namespace: %s", str(o.Metadata.Namespace))
	}
	e.line(0, "spec:")
	if s := o.Spec.Selector; s != nil {
		e.line(2, "selector:")
		e.line(4, "matchLabels:")
		for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
			e.line(6, "%s: %s", str(k), str(s.MatchLabels[k]))
		}
	}
	if len(o.Spec.JWTRules) > 0 {
		e.line(2, "jwtRules:")
		for _, r := range o.Spec.JWTRules {
			e.line(2, "- issuer: %s", str(r.Issuer))
			e.list(4, "audiences", r.Audiences)
			if r.JwksURI != "" {
				e.line(4, "jwksUri: %s", str(r.JwksURI))
			}
			if len(r.FromHeaders) > 0 {
				e.line(4, "fromHeaders:")
				for _, h := range r.FromHeaders {
					e.line(4, "- name: %s", str(h.Name))
					if h.Prefix != "" {
						e.line(6, "prefix: %s", str(h.Prefix))
					}
				}
			}
			if r.ForwardOriginalToken {
				e.line(4, "forwardOriginalToken: true")
			}
		}
	}
	if o.Spec.Action != "" {
		e.line(2, "action: %s", o.Spec.Action)
	}
	if len(o.Spec.Rules) > 0 {
		e.line(2, "rules:")
		for i, r := range o.Spec.Rules {
			if i < len(ruleNotes) {
				e.comment(2, "%s", ruleNotes[i])
			}
			e.rule(r)
		}
	}
}

// rule writes one AuthorizationPolicy rule as a sequence item at indent 2.
func (e *emitter) rule(r Rule) {
	first := true
	key := func(k string) {
		if first {
			e.line(2, "- %s:", k)
			first = false
		} else {
			e.line(4, "%s:", k)
		}
	}
	if len(r.From) > 0 {
		key("from")
		for _, f := range r.From {
			e.line(4, "- source:")
			e.list(8, "requestPrincipals", f.Source.RequestPrincipals)
			e.list(8, "notRequestPrincipals", f.Source.NotRequestPrincipals)
		}
	}
	if len(r.To) > 0 {
		key("to")
		for _, t := range r.To {
			op := t.Operation
			e.line(4, "- operation:")
			e.list(8, "hosts", op.Hosts)
			e.list(8, "notHosts", op.NotHosts)
			e.list(8, "methods", op.Methods)
			e.list(8, "notMethods", op.NotMethods)
			e.list(8, "paths", op.Paths)
			e.list(8, "notPaths", op.NotPaths)
		}
	}
	if len(r.When) > 0 {
		key("when")
		for _, c := range r.When {
			e.line(4, "- key: %s", str(c.Key))
			e.list(6, "values", c.Values)
			e.list(6, "notValues", c.NotValues)
		}
	}
	if first {
		e.line(2, "- {}") // matches every request
	}
}

func quote(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + w + "'"
	}
	return strings.Join(q, ", ")
}
