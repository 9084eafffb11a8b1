package istiogen

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	secv1beta1 "istio.io/api/security/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse/gatehouse/internal/cfgparse"
	"github.com/gatehouse/gatehouse/internal/config"
)

// These tests read Gatehouse's output with Istio's own API types: the
// scheme of istio.io/client-go decodes each document by apiVersion and
// kind, as the API server's clients do, and protojson decodes each spec
// strictly into istio.io/api's messages (an unknown or misspelt field, a
// wrong type or an unknown enum name fails).

func loadCfg(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := cfgparse.LoadPaths([]string{path}, cfgparse.Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg
}

// decodeIstio decodes a YAML stream into client-go objects.
func decodeIstio(t *testing.T, stream []byte) []runtime.Object {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := secv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	dec := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	var out []runtime.Object
	for i, doc := range docStart.Split(string(stream), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		obj, gvk, err := dec.Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("document %d: Istio's types refuse it: %v\n%s", i+1, err, doc)
		}
		if gvk.GroupVersion() != secv1.SchemeGroupVersion {
			t.Fatalf("document %d: %v, want %v", i+1, gvk, secv1.SchemeGroupVersion)
		}
		j, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(j, &top); err != nil {
			t.Fatal(err)
		}
		var spec proto.Message
		switch gvk.Kind {
		case "RequestAuthentication":
			spec = &secv1beta1.RequestAuthentication{}
		case "AuthorizationPolicy":
			spec = &secv1beta1.AuthorizationPolicy{}
		default:
			t.Fatalf("document %d: unexpected kind %s", i+1, gvk.Kind)
		}
		if err := (protojson.UnmarshalOptions{}).Unmarshal(top["spec"], spec); err != nil {
			t.Fatalf("document %d: spec is not a valid %s: %v", i+1, gvk.Kind, err)
		}
		out = append(out, obj)
	}
	return out
}

// encodeIstio writes client-go objects back as a YAML stream, through
// their own JSON marshalling.
func encodeIstio(t *testing.T, objs []runtime.Object) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, o := range objs {
		j, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.JSONToYAML(j)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes()
}

func generate(t *testing.T, cfg *config.Config) ([]*Plan, []byte) {
	t.Helper()
	plans := Generate(cfg)
	var b bytes.Buffer
	if err := Write(&b, plans, Options{}, "edge.cfg"); err != nil {
		t.Fatal(err)
	}
	return plans, b.Bytes()
}

// TestOutputIsIstioAPI: the policies for testdata/edge.cfg decode into
// Istio's types with the values the configuration implies, and survive a
// round trip (Istio's types -> YAML -> --check) without a disagreement.
func TestOutputIsIstioAPI(t *testing.T) {
	cfg := loadCfg(t, "testdata/edge.cfg")
	plans, out := generate(t, cfg)
	objs := decodeIstio(t, out)
	if len(objs) != 3 {
		t.Fatalf("%d objects, want RequestAuthentication and two AuthorizationPolicies:\n%s", len(objs), out)
	}
	ra, ok := objs[0].(*secv1.RequestAuthentication)
	if !ok {
		t.Fatalf("first object is %T", objs[0])
	}
	if ra.Namespace != "istio-system" || ra.Spec.GetSelector().GetMatchLabels()["istio"] != "ingressgateway" {
		t.Errorf("placement: %s %v", ra.Namespace, ra.Spec.GetSelector())
	}
	jr := ra.Spec.GetJwtRules()
	if len(jr) != 1 || jr[0].GetIssuer() != "https://edge.example.com" || !slices.Equal(jr[0].GetAudiences(), []string{"app.example.com"}) ||
		jr[0].GetJwksUri() != "https://edge.example.com/.well-known/jwks.json" || !jr[0].GetForwardOriginalToken() {
		t.Errorf("jwtRules: %v", jr)
	}
	allow := objs[1].(*secv1.AuthorizationPolicy)
	if allow.Spec.GetAction() != secv1beta1.AuthorizationPolicy_ALLOW {
		t.Fatalf("second policy's action %v", allow.Spec.GetAction())
	}
	rules := allow.Spec.GetRules()
	if len(rules) != 2 {
		t.Fatalf("ALLOW rules: %v", rules)
	}
	if got := rules[0].GetFrom()[0].GetSource().GetRequestPrincipals(); !slices.Equal(got, []string{"https://edge.example.com/partner/*", "https://edge.example.com/corp/*"}) {
		t.Errorf("principals %v", got)
	}
	if got := rules[1].GetTo()[0].GetOperation().GetPaths(); !slices.Equal(got, []string{"/public/*", "/healthz*"}) || len(rules[1].GetFrom()) != 0 {
		t.Errorf("public rule %v", rules[1])
	}
	deny := objs[2].(*secv1.AuthorizationPolicy)
	if deny.Spec.GetAction() != secv1beta1.AuthorizationPolicy_DENY || len(deny.Spec.GetRules()) != 2 {
		t.Fatalf("DENY policy: %v", deny.Spec.String())
	}
	d0 := deny.Spec.GetRules()[0]
	if !slices.Equal(d0.GetTo()[0].GetOperation().GetPaths(), []string{"/staff*"}) || d0.GetWhen()[0].GetKey() != "request.auth.claims[groups]" ||
		!slices.Equal(d0.GetWhen()[0].GetNotValues(), []string{"staff"}) {
		t.Errorf("staff rule %v", d0)
	}
	for _, want := range []string{"edge.cfg:40", "-m reg", "claim 'department' is not in the token", "'src' has no mesh equivalent", "numTrustedProxies", "istiod"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q", want)
		}
	}

	// Round trip: what Istio's types write back reads as the same policies.
	back := encodeIstio(t, objs)
	found, err := ReadPolicies(back)
	if err != nil {
		t.Fatal(err)
	}
	if diffs := Check(plans, found); len(diffs) != 0 {
		t.Fatalf("the round-tripped policies disagree:\n%s\n%s", strings.Join(diffs, "\n"), back)
	}
	var want []Object
	for _, p := range plans {
		want = append(want, p.Objects(Options{})...)
	}
	var got []Object
	for _, f := range found {
		got = append(got, f.Object)
	}
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if !bytes.Equal(wj, gj) {
		t.Fatalf("round trip changed the objects:\n%s\n%s", wj, gj)
	}
}

// TestCheckFindsChangedIssuer: a deployed RequestAuthentication whose
// issuer was changed (and one whose audience and claim rule were) is
// reported, field by field.
func TestCheckFindsChangedIssuer(t *testing.T) {
	cfg := loadCfg(t, "testdata/edge.cfg")
	plans, out := generate(t, cfg)
	objs := decodeIstio(t, out)
	objs[0].(*secv1.RequestAuthentication).Spec.JwtRules[0].Issuer = "https://old-edge.example.com"
	found, err := ReadPolicies(encodeIstio(t, objs))
	if err != nil {
		t.Fatal(err)
	}
	diffs := Check(plans, found)
	if len(diffs) != 1 || !strings.Contains(diffs[0], `no RequestAuthentication has a jwtRule with issuer "https://edge.example.com"`) ||
		!strings.Contains(diffs[0], `gatehouse-mesh (document 1) has issuer "https://old-edge.example.com"`) {
		t.Fatalf("diffs: %q", diffs)
	}

	objs = decodeIstio(t, out)
	objs[0].(*secv1.RequestAuthentication).Spec.JwtRules[0].Audiences = []string{"api.example.com"}
	deny := objs[2].(*secv1.AuthorizationPolicy)
	deny.Spec.Rules = deny.Spec.Rules[1:]
	found, err = ReadPolicies(encodeIstio(t, objs))
	if err != nil {
		t.Fatal(err)
	}
	diffs = Check(plans, found)
	if len(diffs) != 2 || !strings.Contains(diffs[0], `audiences are ["api.example.com"], the configuration's are ["app.example.com"]`) ||
		!strings.Contains(diffs[1], "no DENY AuthorizationPolicy rule matches the claim rule testdata/edge.cfg:38") {
		t.Fatalf("diffs: %q", diffs)
	}
}

// TestIstioTypesStayOutOfTheBinary: Istio's API modules are test tools.
func TestIstioTypesStayOutOfTheBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/gatehouse/gatehouse/cmd/gatehouse").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "istio.io/") || strings.HasPrefix(l, "k8s.io/") {
			t.Errorf("cmd/gatehouse imports %s", l)
		}
	}
}
