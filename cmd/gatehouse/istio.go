package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/internal/cfgparse"
	"github.com/gatehouse/gatehouse/internal/istiogen"
)

// runIstio is "gatehouse istio": the Istio policies that verify the
// configuration's identity tokens, or with --check, where a policy file
// disagrees with them. Exit codes: 0 agree (or printed), 1 disagreement,
// 2 unusable input.
func runIstio(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse istio", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files pathList
	fs.Var(&files, "f", "configuration `FILE|DIR` (repeatable)")
	check := fs.Bool("check", false, "compare the policies of the YAML `FILE`s given as arguments with the configuration")
	ns := fs.String("namespace", "istio-system", "namespace of the policies (the ingress gateway's)")
	sel := fs.String("selector", "istio=ingressgateway", "the gateway's pod labels, `k=v[,k=v...]`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: gatehouse istio -f CONFIG [-namespace NS] [-selector k=v,...]\n       gatehouse istio --check -f CONFIG POLICY.yaml...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "gatehouse istio: no configuration file given (-f FILE)")
		return 2
	}
	if *check != (fs.NArg() > 0) {
		if *check {
			fmt.Fprintln(stderr, "gatehouse istio: --check needs the policy file(s) to compare")
		} else {
			fmt.Fprintf(stderr, "gatehouse istio: unexpected argument %q (compare a file with --check)\n", fs.Arg(0))
		}
		return 2
	}
	labels := map[string]string{}
	for _, kv := range strings.Split(*sel, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "gatehouse istio: -selector: '%s' is not label=value\n", kv)
			return 2
		}
		labels[k] = v
	}
	cfg, err := cfgparse.LoadPaths(files, cfgparse.Options{})
	if err != nil {
		printDiagnostics(err, stderr)
		return 2
	}
	plans := istiogen.Generate(cfg)
	if !*check {
		for _, p := range plans {
			for _, w := range p.Warnings {
				fmt.Fprintf(stderr, "[WARNING] %s\n", w)
			}
		}
		if err := istiogen.Write(stdout, plans, istiogen.Options{Namespace: *ns, Selector: labels}, files.String()); err != nil {
			fmt.Fprintf(stderr, "gatehouse istio: %v\n", err)
			return 2
		}
		return 0
	}
	var found []istiogen.Found
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse istio: %v\n", err)
			return 2
		}
		fs, err := istiogen.ReadPolicies(data)
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse istio: %s: %v\n", path, err)
			return 2
		}
		found = append(found, fs...)
	}
	diffs := istiogen.Check(plans, found)
	for _, d := range diffs {
		fmt.Fprintln(stdout, d)
	}
	if len(diffs) > 0 {
		fmt.Fprintf(stdout, "%d disagreement(s) between %s and %s\n", len(diffs), strings.Join(fs.Args(), ", "), files.String())
		return 1
	}
	fmt.Fprintf(stdout, "%s agree(s) with the %d identity-token section(s) of %s\n", strings.Join(fs.Args(), ", "), len(plans), files.String())
	return 0
}
