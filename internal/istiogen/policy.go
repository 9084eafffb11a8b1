// Package istiogen derives the Istio security policies that match a
// configuration's identity-token sections (RequestAuthentication and
// AuthorizationPolicy), and compares existing policies with them.
//
// The types here mirror only the fields of Istio's security.istio.io API
// that Gatehouse writes or compares; the tests decode the output with
// Istio's own API types (istio.io/api, istio.io/client-go), which stay out
// of the binary: they bring Kubernetes' apimachinery and a second protobuf
// JSON runtime for what these few structs say.
package istiogen

// Object is one Istio resource of the security.istio.io group.
type Object struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
}

// Metadata is the part of Kubernetes' object metadata compared or written.
type Metadata struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// Spec holds the fields of both kinds (RequestAuthentication's jwtRules,
// AuthorizationPolicy's action and rules); Kind says which apply.
type Spec struct {
	Selector *Selector `json:"selector,omitempty"`
	JWTRules []JWTRule `json:"jwtRules,omitempty"`
	Action   string    `json:"action,omitempty"`
	Rules    []Rule    `json:"rules,omitempty"`
}

// Selector is a workload selector.
type Selector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// JWTRule is one RequestAuthentication jwtRules entry.
type JWTRule struct {
	Issuer               string      `json:"issuer"`
	Audiences            []string    `json:"audiences,omitempty"`
	JwksURI              string      `json:"jwksUri,omitempty"`
	Jwks                 string      `json:"jwks,omitempty"`
	FromHeaders          []JWTHeader `json:"fromHeaders,omitempty"`
	ForwardOriginalToken bool        `json:"forwardOriginalToken,omitempty"`
}

// JWTHeader is where a token is read from.
type JWTHeader struct {
	Name   string `json:"name"`
	Prefix string `json:"prefix,omitempty"`
}

// Rule is one AuthorizationPolicy rule: its from, to and when are ANDed.
type Rule struct {
	From []From      `json:"from,omitempty"`
	To   []To        `json:"to,omitempty"`
	When []Condition `json:"when,omitempty"`
}

// From is a rule's source.
type From struct {
	Source Source `json:"source"`
}

// Source is the part of an Istio source Gatehouse writes.
type Source struct {
	RequestPrincipals    []string `json:"requestPrincipals,omitempty"`
	NotRequestPrincipals []string `json:"notRequestPrincipals,omitempty"`
}

// To is a rule's operation.
type To struct {
	Operation Operation `json:"operation"`
}

// Operation matches hosts, methods and paths.
type Operation struct {
	Hosts      []string `json:"hosts,omitempty"`
	NotHosts   []string `json:"notHosts,omitempty"`
	Methods    []string `json:"methods,omitempty"`
	NotMethods []string `json:"notMethods,omitempty"`
	Paths      []string `json:"paths,omitempty"`
	NotPaths   []string `json:"notPaths,omitempty"`
}

func (o Operation) empty() bool {
	return len(o.Hosts)+len(o.NotHosts)+len(o.Methods)+len(o.NotMethods)+len(o.Paths)+len(o.NotPaths) == 0
}

// Condition is a rule's when entry.
type Condition struct {
	Key       string   `json:"key"`
	Values    []string `json:"values,omitempty"`
	NotValues []string `json:"notValues,omitempty"`
}

// APIVersion is the version Gatehouse writes (Istio 1.22 and later).
const APIVersion = "security.istio.io/v1"
