package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Pebble is Let's Encrypt's ACME test server, started for a test, with
// pebble-challtestsrv as its DNS server: every name resolves to 127.0.0.1.
type Pebble struct {
	Directory string // the ACME directory URL
	CAFile    string // PEM of the CA Pebble's HTTPS listener is signed by
	Mgmt      string // management API base URL (https)
	client    *http.Client
}

// PebbleOptions tune StartPebble.
type PebbleOptions struct {
	HTTPPort int // where Pebble's VA connects for HTTP-01
	// Validity is the issued certificates' lifetime (certificateValidityPeriod); 0: Pebble's default.
	Validity time.Duration
	// AlwaysValid skips the challenge checks (PEBBLE_VA_ALWAYS_VALID=1).
	AlwaysValid bool
	// DNSServer is the server Pebble resolves names and DNS-01 records
	// with; "": pebble-challtestsrv answering 127.0.0.1 for every name.
	DNSServer string
}

// StartPebble starts pebble (the Debian package's /usr/bin/pebble) on free
// ports; the test fails with "run scripts/test.sh" when it is missing.
func StartPebble(t testing.TB, o PebbleOptions) *Pebble {
	t.Helper()
	bin := RequireBinary(t, "pebble")
	dir := t.TempDir()
	ca := NewCA(t)
	leaf := ca.Issue(t, "127.0.0.1", "localhost")
	dnsServer := o.DNSServer
	if dnsServer == "" {
		cts := RequireBinary(t, "pebble-challtestsrv")
		dnsPort, ctsMgmt := FreePort(t), FreePort(t)
		StartProcess(t, "pebble-challtestsrv", cts, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
			"-dns01", LocalAddr(dnsPort), "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", LocalAddr(ctsMgmt))
		WaitTCP(t, LocalAddr(ctsMgmt), 20*time.Second)
		dnsServer = LocalAddr(dnsPort)
	}
	port, mgmt := FreePort(t), FreePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  LocalAddr(port),
		"managementListenAddress":        LocalAddr(mgmt),
		"certificate":                    leaf.CertFile,
		"privateKey":                     leaf.KeyFile,
		"httpPort":                       o.HTTPPort,
		"tlsPort":                        RefusedPort(t),
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"certificateValidityPeriod":      uint64(o.Validity / time.Second),
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	always := "0"
	if o.AlwaysValid {
		always = "1"
	}
	p, err := startProcess("pebble", bin, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_VA_ALWAYS_VALID=" + always,
		"PEBBLE_AUTHZREUSE=0", "PEBBLE_WFE_NONCEREJECT=0"}, "-config", cfgFile, "-dnsserver", dnsServer)
	if err != nil {
		t.Fatalf("start pebble: %v", err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("pebble output:\n%s", p.String())
		}
	})
	WaitTCP(t, LocalAddr(port), 20*time.Second)
	WaitTCP(t, LocalAddr(mgmt), 20*time.Second)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return &Pebble{
		Directory: fmt.Sprintf("https://127.0.0.1:%d/dir", port),
		CAFile:    ca.File,
		Mgmt:      fmt.Sprintf("https://127.0.0.1:%d", mgmt),
		client:    &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}
}

// HTTPClient trusts Pebble's HTTPS listeners.
func (p *Pebble) HTTPClient() *http.Client { return p.client }

// Roots returns the pool of the root Pebble issues certificates under
// (management /roots/0).
func (p *Pebble) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	resp, err := p.client.Get(p.Mgmt + "/roots/0")
	if err != nil {
		t.Fatalf("pebble roots: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("pebble roots: %d %v", resp.StatusCode, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble roots: no certificate in %q", b)
	}
	return pool
}
