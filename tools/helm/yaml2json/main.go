// Command yaml2json turns the YAML documents of 'helm template' (stdin)
// into a JSON array (stdout), so Gatehouse's chart test reads them with
// encoding/json and its own module needs no YAML library. With -strict,
// each object must also decode into its Kubernetes API type without an
// unknown field (a misspelt or misplaced key that the API server would
// drop or refuse); -crd KIND lets a custom resource through unchecked.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

type kinds []string

func (k *kinds) String() string     { return strings.Join(*k, ",") }
func (k *kinds) Set(v string) error { *k = append(*k, v); return nil }

// types are the API types of what the chart renders, by apiVersion/kind.
var types = map[string]func() any{
	"v1/ConfigMap":                           func() any { return new(corev1.ConfigMap) },
	"v1/Service":                             func() any { return new(corev1.Service) },
	"v1/ServiceAccount":                      func() any { return new(corev1.ServiceAccount) },
	"v1/Secret":                              func() any { return new(corev1.Secret) },
	"apps/v1/Deployment":                     func() any { return new(appsv1.Deployment) },
	"policy/v1/PodDisruptionBudget":          func() any { return new(policyv1.PodDisruptionBudget) },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
}

func main() {
	strict := flag.Bool("strict", false, "decode each object into its Kubernetes API type, refusing unknown fields")
	var crds kinds
	flag.Var(&crds, "crd", "a custom resource `KIND` to let through unchecked (repeatable)")
	flag.Parse()
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("%v", err)
	}
	var docs []json.RawMessage
	for _, doc := range strings.Split("\n"+string(in), "\n---") {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			fail("%v in:\n%s", err, doc)
		}
		if string(j) == "null" {
			continue
		}
		if *strict {
			check(j, crds)
		}
		docs = append(docs, j)
	}
	out, _ := json.Marshal(docs)
	os.Stdout.Write(out)
}

func check(j []byte, crds kinds) {
	var meta struct{ APIVersion, Kind string }
	if err := json.Unmarshal(j, &meta); err != nil {
		fail("%v", err)
	}
	for _, k := range crds {
		if k == meta.Kind {
			return
		}
	}
	newT, ok := types[meta.APIVersion+"/"+meta.Kind]
	if !ok {
		fail("%s %s: not a type this check knows", meta.APIVersion, meta.Kind)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(newT()); err != nil {
		fail("%s: %v", meta.Kind, err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "yaml2json: "+format+"\n", args...)
	os.Exit(1)
}
