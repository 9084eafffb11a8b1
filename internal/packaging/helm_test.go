package packaging

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// helmDir is helmTools' directory, removed when the tests end (each is
// ~128 MB: left behind, a day of CI runs filled the disk).
var helmDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if helmDir != "" {
		os.RemoveAll(helmDir)
	}
	os.Exit(code)
}

// helmTools builds, once per test process, Helm v4 and yaml2json from the
// tools/helm module (its own go.mod and go.sum: no Kubernetes library in
// Gatehouse's). Offline once the module cache holds them.
var helmTools = sync.OnceValues(func() ([2]string, error) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return [2]string{}, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-helm-")
	if err != nil {
		return [2]string{}, err
	}
	helmDir = dir
	out := [2]string{filepath.Join(dir, "helm"), filepath.Join(dir, "yaml2json")}
	for i, pkg := range []string{"helm.sh/helm/v4/cmd/helm", "./yaml2json"} {
		cmd := exec.Command("go", "build", "-o", out[i], pkg)
		cmd.Dir = filepath.Join(root, "tools", "helm")
		if b, err := cmd.CombinedOutput(); err != nil {
			return out, fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return out, nil
})

func chartDir(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "deploy", "helm", "gatehouse")
}

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	tools, err := helmTools()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tools[0], args...).CombinedOutput()
	return string(out), err
}

// object is one rendered Kubernetes object, as JSON decodes it.
type object map[string]any

// get walks a path of keys and list indexes; nil when absent.
func (o object) get(path ...any) any {
	var cur any = map[string]any(o)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[k]
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			cur = l[k]
		}
	}
	return cur
}

func (o object) str(path ...any) string { s, _ := o.get(path...).(string); return s }

// render runs helm template with --set values, checks the objects against
// the Kubernetes API types, and returns them by kind.
func render(t *testing.T, sets ...string) map[string][]object {
	t.Helper()
	args := []string{"template", "gh", chartDir(t)}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", sets, err, out)
	}
	tools, _ := helmTools()
	// Every object must decode into its Kubernetes API type (k8s.io/api,
	// in the tools module) without an unknown field; the ServiceMonitor, a
	// custom resource, is checked below.
	cmd := exec.Command(tools[1], "-strict", "-crd", "ServiceMonitor")
	cmd.Stdin = strings.NewReader(out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	js, err := cmd.Output()
	if err != nil {
		t.Fatalf("yaml2json -strict: %v: %s\n%s", err, stderr.String(), out)
	}
	var objs []object
	if err := json.Unmarshal(js, &objs); err != nil {
		t.Fatal(err)
	}
	byKind := map[string][]object{}
	for _, o := range objs {
		byKind[o.str("kind")] = append(byKind[o.str("kind")], o)
	}
	return byKind
}

// TestChartLints: helm lint --strict (a warning fails) with the defaults
// and with every optional part on.
func TestChartLints(t *testing.T) {
	for _, sets := range [][]string{nil, {
		"autoscaling.enabled=true", "serviceMonitor.enabled=true", "antiAffinity=hard", "configReload=rollout",
		"tls.secrets[0].name=edge", "tls.secrets[0].secretName=edge-tls",
		"podAnnotations.vault\\.hashicorp\\.com/agent-inject=true",
	}} {
		args := []string{"lint", "--strict", chartDir(t)}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		if out, err := helm(t, args...); err != nil || !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm lint %v: %v\n%s", sets, err, out)
		}
	}
}

// TestChartConfigIsValid: the configuration the chart renders passes
// gatehouse -c, and the probes, Service and ServiceMonitor point at what
// it serves: readiness on its monitor-uri, on the port that frontend binds.
func TestChartConfigIsValid(t *testing.T) {
	objs := render(t, "serviceMonitor.enabled=true")
	if len(objs["ConfigMap"]) != 1 {
		t.Fatalf("%d ConfigMaps", len(objs["ConfigMap"]))
	}
	data, _ := objs["ConfigMap"][0].get("data").(map[string]any)
	cfgText, _ := data["gatehouse.cfg"].(string)
	if cfgText == "" {
		t.Fatalf("no gatehouse.cfg in the ConfigMap: %v", data)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "gatehouse.cfg")
	if err := os.WriteFile(f, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testenv.GatehouseBinary(t), "-c", "-f", dir+"/").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("gatehouse -c on the chart's configuration: %v\n%s\n%s", err, out, cfgText)
	}

	dep := objs["Deployment"][0]
	c := object(dep.get("spec", "template", "spec", "containers", 0).(map[string]any))
	ports := map[string]float64{}
	for _, p := range c.get("ports").([]any) {
		po := object(p.(map[string]any))
		ports[po.str("name")], _ = po.get("containerPort").(float64)
	}
	// The frontend holding monitor-uri, its bind port and URI.
	mon := regexp.MustCompile(`(?s)frontend \S+\n((?:[ \t]+[^\n]*\n|\n)*)`).FindAllStringSubmatch(cfgText, -1)
	var monPort, monURI string
	for _, m := range mon {
		if u := regexp.MustCompile(`monitor-uri (\S+)`).FindStringSubmatch(m[1]); u != nil {
			monURI = u[1]
			monPort = regexp.MustCompile(`bind :(\d+)`).FindStringSubmatch(m[1])[1]
		}
	}
	if monURI == "" {
		t.Fatal("the configuration has no monitor-uri for the readiness probe")
	}
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		port := c.str(probe, "httpGet", "port")
		if got := c.str(probe, "httpGet", "path"); got != monURI || fmt.Sprint(ports[port]) != monPort {
			t.Errorf("%s: %s on port %q (%v), want the monitor-uri %s on %s", probe, got, port, ports[port], monURI, monPort)
		}
	}
	args := fmt.Sprint(c.get("args"))
	if args != "[-f /etc/gatehouse/config/ -watch]" {
		t.Errorf("args %s", args)
	}
	mounts := fmt.Sprint(c.get("volumeMounts"))
	if !strings.Contains(mounts, "mountPath:/etc/gatehouse/config") {
		t.Errorf("the configuration is not mounted at /etc/gatehouse/config: %s", mounts)
	}
	if s := c.get("lifecycle", "preStop", "sleep", "seconds"); s == nil || s.(float64) <= 0 {
		t.Errorf("no preStop drain: %v", c.get("lifecycle"))
	}
	grace, _ := dep.get("spec", "template", "spec", "terminationGracePeriodSeconds").(float64)
	preStop, _ := c.get("lifecycle", "preStop", "sleep", "seconds").(float64)
	if grace < preStop+30 { // 30 s: hard-stop-after's default
		t.Errorf("terminationGracePeriodSeconds %v leaves less than hard-stop-after's 30 s after a %v s preStop", grace, preStop)
	}
	if c.get("securityContext", "readOnlyRootFilesystem") != true || dep.get("spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Errorf("not locked down: %v", c.get("securityContext"))
	}
	if dep.get("spec", "replicas") != float64(3) || dep.get("spec", "template", "spec", "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution") == nil {
		t.Errorf("replicas %v, affinity %v", dep.get("spec", "replicas"), dep.get("spec", "template", "spec", "affinity"))
	}
	if _, ok := dep.get("spec", "template", "metadata", "annotations", "checksum/config").(string); ok {
		t.Error("with configReload=watch the pods must not roll on a change (checksum/config)")
	}

	var lb, stats object
	for _, s := range objs["Service"] {
		if s.str("spec", "type") == "LoadBalancer" {
			lb = s
		} else {
			stats = s
		}
	}
	if lb == nil || lb.str("spec", "externalTrafficPolicy") != "Local" {
		t.Fatalf("no LoadBalancer Service with externalTrafficPolicy Local: %v", objs["Service"])
	}
	for _, p := range lb.get("spec", "ports").([]any) {
		tp := object(p.(map[string]any)).str("targetPort")
		if _, ok := ports[tp]; !ok {
			t.Errorf("Service port targets %q, not a container port (%v)", tp, ports)
		}
		if n := fmt.Sprint(ports[tp]); !regexp.MustCompile(`bind :` + n + `\b`).MatchString(cfgText) {
			t.Errorf("Service port %q reaches container port %s, which the configuration does not bind", tp, n)
		}
	}
	if len(objs["PodDisruptionBudget"]) != 1 || len(objs["HorizontalPodAutoscaler"]) != 0 {
		t.Errorf("PDB %d, HPA %d: want 1 and 0 by default", len(objs["PodDisruptionBudget"]), len(objs["HorizontalPodAutoscaler"]))
	}
	sm := objs["ServiceMonitor"]
	if len(sm) != 1 {
		t.Fatalf("%d ServiceMonitors", len(sm))
	}
	ep := object(sm[0].get("spec", "endpoints", 0).(map[string]any))
	if ep.str("port") != "stats" || stats == nil || object(stats.get("spec", "ports", 0).(map[string]any)).str("name") != "stats" {
		t.Errorf("ServiceMonitor endpoint %v, stats Service %v", ep, stats)
	}
	for k, v := range sm[0].get("spec", "selector", "matchLabels").(map[string]any) {
		if stats.str("metadata", "labels", k) != v {
			t.Errorf("the ServiceMonitor selects %s=%v, which the stats Service does not carry", k, v)
		}
	}
	if !strings.Contains(cfgText, "use-service prometheus-exporter if { path "+ep.str("path")+" }") {
		t.Errorf("the configuration does not serve metrics on %s", ep.str("path"))
	}
}

// TestChartOptions: TLS secrets are mounted where the configuration reads
// them, rollout puts the configuration's checksum in the pod template,
// hard anti-affinity is required, the HPA replaces replicas, and a bad
// choice fails the render with a message.
func TestChartOptions(t *testing.T) {
	objs := render(t, "tls.secrets[0].name=edge", "tls.secrets[0].secretName=edge-tls", "configReload=rollout",
		"antiAffinity=hard", "autoscaling.enabled=true")
	spec := objs["Deployment"][0]
	pod := object(spec.get("spec", "template", "spec").(map[string]any))
	if m := fmt.Sprint(pod.get("containers", 0, "volumeMounts")); !strings.Contains(m, "mountPath:/etc/gatehouse/certs/edge") {
		t.Errorf("the TLS secret is not mounted: %s", m)
	}
	if v := fmt.Sprint(pod.get("volumes")); !strings.Contains(v, "secretName:edge-tls") {
		t.Errorf("no volume of the secret: %s", v)
	}
	if a := fmt.Sprint(pod.get("containers", 0, "args")); strings.Contains(a, "-watch") {
		t.Errorf("rollout still watches: %s", a)
	}
	if sum := spec.str("spec", "template", "metadata", "annotations", "checksum/config"); len(sum) != 64 {
		t.Errorf("rollout: checksum/config %q", sum)
	}
	if pod.get("affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution") == nil {
		t.Errorf("hard anti-affinity: %v", pod.get("affinity"))
	}
	if spec.get("spec", "replicas") != nil || len(objs["HorizontalPodAutoscaler"]) != 1 {
		t.Errorf("with the HPA: replicas %v, %d HPAs", spec.get("spec", "replicas"), len(objs["HorizontalPodAutoscaler"]))
	}
	// Another checksum when the configuration changes, so the pods roll.
	other := render(t, "configReload=rollout", "config.gatehouse\\.cfg=global")
	if other["Deployment"][0].str("spec", "template", "metadata", "annotations", "checksum/config") == spec.str("spec", "template", "metadata", "annotations", "checksum/config") {
		t.Error("rollout: the checksum does not follow the configuration")
	}
	for _, bad := range []struct{ set, msg string }{
		{"configReload=restart", `configReload: "restart" is neither watch nor rollout`},
		{"antiAffinity=always", `antiAffinity: "always" is none of soft, hard, none`},
		{"config.gatehouse=global", "keys are file names ending in .cfg"},
	} {
		out, err := helm(t, "template", "gh", chartDir(t), "--set", bad.set)
		if err == nil || !strings.Contains(out, bad.msg) {
			t.Errorf("--set %s: %v\n%s", bad.set, err, out)
		}
	}
}
