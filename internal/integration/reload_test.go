package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestSIGHUPReload: the process reloads on SIGHUP (new rules apply on the
// same port), a broken configuration keeps the running one and logs its
// diagnostics, and SIGTERM ends it with exit code 0.
func TestSIGHUPReload(t *testing.T) {
	g := testenv.StartGateway(t, testenv.GatewayOptions{})
	port := testenv.FreePort(t)
	cfg := func(version string) string {
		return fmt.Sprintf(`
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend web
    bind 127.0.0.1:%d
    http-request set-header X-Config %s
    default_backend mesh
backend mesh
    http-request set-header Host %s
    server gw 127.0.0.1:%d ssl sni str(%s) verify required ca-file %s
`, port, version, testenv.SeedHost, g.TLSPort, testenv.SeedHost, g.CAFile)
	}
	gh := testenv.StartGatehouse(t, cfg("one"))
	gh.WaitTCP(t, testenv.LocalAddr(port), 10*time.Second)
	seen := func() string {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			t.Fatalf("request failed (a reload must not refuse connections): %v", err)
		}
		e := testenv.DecodeEcho(t, resp)
		return strings.Join(e.Headers["X-Config"], ",")
	}
	if v := seen(); v != "one" {
		t.Fatalf("before reload: %q", v)
	}
	gh.WriteConfig(cfg("two"))
	if err := gh.Reload(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return seen() == "two" }, "the reload never applied")

	gh.WriteConfig(cfg("three") + "    use_backnd nowhere\n")
	if err := gh.Reload(); err != nil {
		t.Fatal(err)
	}
	gh.WaitOutput(t, "reload failed", 10*time.Second)
	if !strings.Contains(gh.String(), "unknown keyword 'use_backnd'") {
		t.Errorf("the failed reload did not log its diagnostic:\n%s", gh.String())
	}
	if v := seen(); v != "two" {
		t.Errorf("after a failed reload: %q, want the previous configuration", v)
	}
	if code := gh.Stop(); code != 0 {
		t.Errorf("exit code %d on SIGTERM", code)
	}
}

// TestNoListenerRefused: a configuration that listens nowhere is refused,
// as HAProxy refuses it, by -c and by a reload, which keeps the running
// configuration (it used to close every listener).
func TestNoListenerRefused(t *testing.T) {
	noListener := map[string]string{
		"empty":           "",
		"global+defaults": "global\n    maxconn 100\ndefaults\n    mode http\n    timeout client 5s\n",
		"frontend without bind": `defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    default_backend be
backend be
    server s 127.0.0.1:9
`,
	}
	for name, cfg := range noListener {
		if ok, out := testenv.HAProxyCheck(t, cfg); ok {
			t.Errorf("%s: HAProxy -c accepts it (the reference changed?):\n%s", name, out)
		}
		ok, out := testenv.GatehouseCheck(t, cfg)
		if ok || !strings.Contains(out, "No enabled listener found") {
			t.Errorf("%s: gatehouse -c: valid=%v, want refused with 'No enabled listener found':\n%s", name, ok, out)
		}
	}

	port := testenv.FreePort(t)
	backend := testenv.StartEchoServer(t).Addr
	cfg := fmt.Sprintf(`
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend web
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s %s
`, port, backend)
	gh := testenv.StartGatehouse(t, cfg)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	get := func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := get(); err != nil {
		t.Fatalf("before reload: %v", err)
	}
	gh.WriteConfig("")
	if err := gh.Reload(); err != nil {
		t.Fatal(err)
	}
	gh.WaitOutput(t, "reload failed", 10*time.Second)
	if !strings.Contains(gh.String(), "No enabled listener found") {
		t.Errorf("the refused reload does not say why:\n%s", gh.String())
	}
	if err := get(); err != nil {
		t.Errorf("after a reload to an empty configuration: %v (the running one must stay)", err)
	}
	if code := gh.Stop(); code != 0 {
		t.Errorf("exit code %d on SIGTERM", code)
	}
}
