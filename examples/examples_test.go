// Package examples_test checks every examples/*/gatehouse.cfg with
// `gatehouse -c`, as a user would before deploying it.
package examples_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// The examples name the paths a deployment mounts (/etc/gatehouse/...,
// /run/secrets/gatehouse/...). The test makes those files under a
// temporary root, of the kind the name says (a directory of certificates,
// a CA, a private key, a secret), and points the paths there: the rest of
// each example is checked as written.
var mounted = regexp.MustCompile(`(/etc/gatehouse|/run/secrets/gatehouse)/[^\s"]*`)

func materialize(t *testing.T, root, cfg string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	cert := func(ca bool) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app.example.com"},
			DNSNames: []string{"app.example.com", "edge.example.com"}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(24 * time.Hour), IsCA: ca, BasicConstraintsValid: ca}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	for _, p := range mounted.FindAllString(cfg, -1) {
		dst := filepath.Join(root, p)
		var data []byte
		switch base := filepath.Base(p); {
		case strings.HasSuffix(p, "/"):
			dst, data = filepath.Join(dst, "app.example.com.pem"), append(cert(false), keyPEM...)
		case strings.Contains(base, "ca") && strings.HasSuffix(base, ".pem"):
			data = cert(true)
		case strings.HasSuffix(base, ".pem") || strings.HasSuffix(base, ".key"):
			data = keyPEM
		default:
			data = []byte(strings.Repeat("s", 48)) // a cookie or client secret
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return mounted.ReplaceAllStringFunc(cfg, func(p string) string { return root + p })
}

// TestExamplesCheck: each example passes `gatehouse -c` with its files in
// place, without a warning, and fails without them (the check reads them).
func TestExamplesCheck(t *testing.T) {
	cfgs, err := filepath.Glob("*/gatehouse.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) < 2 {
		t.Fatalf("examples: %v", cfgs)
	}
	for _, path := range cfgs {
		t.Run(filepath.Dir(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg := materialize(t, t.TempDir(), string(b))
			ok, out := testenv.GatehouseCheck(t, cfg)
			if !ok || strings.Contains(out, "WARNING") || strings.Contains(out, "ALERT") {
				t.Fatalf("gatehouse -c: %v\n%s", ok, out)
			}
			if mounted.MatchString(string(b)) {
				if ok, _ := testenv.GatehouseCheck(t, string(b)); ok {
					t.Fatal("passes without its files: the check did not read them")
				}
			}
		})
	}
}

// TestEdgeExampleIstio: the Istio policies of the edge example need no
// manual fix: no warning, the JWKS URL its rule answers.
func TestEdgeExampleIstio(t *testing.T) {
	out, err := exec.Command(testenv.GatehouseBinary(t), "istio", "-f", "edge-istio-oidc/gatehouse.cfg").CombinedOutput()
	if err != nil || strings.Contains(string(out), "WARNING") {
		t.Fatalf("gatehouse istio: %v\n%s", err, out)
	}
	for _, want := range []string{`jwksUri: "https://edge.example.com/.well-known/jwks.json"`, `"https://edge.example.com/corp/*"`, `- "/public/*"`, `key: "request.auth.claims[groups]"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
