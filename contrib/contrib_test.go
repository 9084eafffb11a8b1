// Package contrib_test checks the monitoring files under contrib/ against
// what Gatehouse exports: the alert rules with promtool, and every metric
// and label the dashboard and the alerts query against a running
// instance's Prometheus endpoint (no list of names to keep in step).
package contrib_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (Debian package prometheus; scripts/test.sh installs it): %v", err)
	}
	return p
}

// TestAlertRules: promtool accepts the rules, and their unit tests
// (alerts_test.yml: each alert fires on the series it is meant for, with
// its labels and text, and not on the others) pass.
func TestAlertRules(t *testing.T) {
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool(t), args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// sample is one exported series: its labels and value.
type sample struct {
	labels map[string]string
	value  string
}

// exported scrapes a Gatehouse that has every kind of row: a TLS
// frontend, a backend with a checked server (latency histograms), an
// oidc section with a session store and an identity-token section. It returns the samples of each
// exported series name, and the certificate's notAfter.
func exported(t *testing.T) (map[string][]sample, time.Time) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	notAfter := time.Now().Add(40 * 24 * time.Hour).Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edge.test"}, DNSNames: []string{"edge.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	crt := write("edge.pem", append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...))
	mesh := write("mesh.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	cookie := write("cookie", []byte(strings.Repeat("c", 32)))
	statsPort := testenv.FreePort(t)
	redis := testenv.StartRedis(t) // a session store: its families exist only with one
	cfg := fmt.Sprintf(`defaults
    mode http
    timeout client 10s
    timeout connect 5s
    timeout server 10s

oidc corp
    issuer http://127.0.0.1:%d
    client-id edge
    cookie-secret file:%s
    redirect-uri https://edge.test/oauth2/callback
    session-store redis %s

identity-token mesh
    issuer https://edge.test
    audience app
    signing-key file:%s

frontend web
    bind 127.0.0.1:%d ssl crt %s
    http-request oidc-auth corp
    http-request set-identity-token mesh
    default_backend gw

frontend metrics
    bind 127.0.0.1:%d
    http-request use-service prometheus-exporter if { path /metrics }

backend gw
    server gw1 127.0.0.1:%d check inter 1s
`, testenv.FreePort(t), cookie, redis.Addr, mesh, testenv.FreePort(t), crt, statsPort, testenv.FreePort(t))
	testenv.StartGatehouse(t, cfg)
	// The store's session count is taken in the background on a scrape:
	// scrape until it is there (20 s at most; without it the check below
	// reports the family missing).
	var body []byte
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", statsPort))
		if err != nil {
			t.Fatal(err)
		}
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("scrape: %d %v", resp.StatusCode, err)
		}
		if strings.Contains(string(body), "\ngatehouse_oidc_sessions_active{") || time.Now().After(deadline) {
			break
		}
	}
	series := map[string][]sample{}
	line := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	label := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
	for _, l := range strings.Split(string(body), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil || strings.HasPrefix(l, "#") {
			continue
		}
		ls := map[string]string{}
		for _, kv := range label.FindAllStringSubmatch(m[2], -1) {
			ls[kv[1]] = kv[2]
		}
		series[m[1]] = append(series[m[1]], sample{ls, m[3]})
	}
	return series, notAfter
}

// queries returns every PromQL expression of the dashboard (targets and
// template variables) and of the alert rules, with where it is.
func queries(t *testing.T) map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile("grafana/gatehouse.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			ID      int
			Title   string
			Type    string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name, Type string
				Definition string
			}
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("gatehouse.json: %v", err)
	}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for i, tg := range p.Targets {
			out[fmt.Sprintf("dashboard panel %q target %d", p.Title, i)] = tg.Expr
		}
	}
	for _, v := range dash.Templating.List {
		if v.Type == "query" {
			out["dashboard variable "+v.Name] = v.Definition
		}
	}
	b, err = os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	for _, g := range rules.Groups {
		for i, r := range g.Rules {
			out[fmt.Sprintf("alert %s (%d)", r.Alert, i)] = r.Expr
		}
	}
	return out
}

// TestQueriesUseExportedMetrics: every metric the dashboard and the alerts
// query is exported under that name, every label they select on exists on
// it, and the fixed label values they match (state, code, le) occur. The
// dashboard covers requests, errors, latency, server states, identity and
// certificates.
func TestQueriesUseExportedMetrics(t *testing.T) {
	series, notAfter := exported(t)
	qs := queries(t)
	sel := regexp.MustCompile(`\b((?:haproxy|gatehouse)_[a-zA-Z0-9_]+)(\{[^}]*\})?`)
	matcher := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	fixed := map[string]bool{"state": true, "code": true}
	families := map[string]bool{}
	for where, q := range qs {
		found := sel.FindAllStringSubmatch(q, -1)
		if len(found) == 0 {
			t.Errorf("%s: no Gatehouse metric in %q", where, q)
		}
		for _, m := range found {
			name := m[1]
			got, ok := series[name]
			if !ok {
				t.Errorf("%s: %s is not exported", where, name)
				continue
			}
			families[name] = true
			for _, mm := range matcher.FindAllStringSubmatch(m[2], -1) {
				lbl, op, val := mm[1], mm[2], mm[3]
				if lbl == "instance" || lbl == "job" {
					continue // added by Prometheus to every scraped series
				}
				has, hasVal := false, false
				for _, smp := range got {
					if v, ok := smp.labels[lbl]; ok {
						has = true
						hasVal = hasVal || v == val
					}
				}
				if !has {
					t.Errorf("%s: %s has no label %q", where, name, lbl)
				} else if op == "=" && fixed[lbl] && !hasVal {
					t.Errorf("%s: no %s series has %s=%q", where, name, lbl, val)
				}
			}
		}
	}
	// What the dashboard and alerts are for, by the families they read.
	for _, need := range []string{
		"haproxy_frontend_http_requests_total", "haproxy_frontend_http_responses_total", // requests, errors
		"gatehouse_backend_response_time_seconds_bucket",          // latency histograms
		"haproxy_server_status", "haproxy_backend_active_servers", // server states
		"gatehouse_oidc_logins_total", "gatehouse_oidc_jwks_fetch_failures_total", "gatehouse_identity_token_minted_total", // identity
		"gatehouse_oidc_sessions_active", "gatehouse_oidc_session_store_errors_total", // sessions in a store
		"gatehouse_tls_certificate_expiry_timestamp_seconds", // certificate expiry
	} {
		if !families[need] {
			t.Errorf("neither the dashboard nor the alerts read %s", need)
		}
	}
	// The expiry the alerts read is the served certificate's.
	certs := series["gatehouse_tls_certificate_expiry_timestamp_seconds"]
	if len(certs) != 1 || !strings.HasSuffix(certs[0].labels["file"], "edge.pem") || certs[0].value != strconv.FormatInt(notAfter.Unix(), 10) {
		t.Fatalf("certificate series %v, want the file edge.pem and %d", certs, notAfter.Unix())
	}
}
