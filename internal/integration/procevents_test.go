package integration

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/demo"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// Process events (reloads, certificate rotations, server state changes)
// go to the configured log targets with the syslog header, as HAProxy
// sends its process messages, and to stderr in HAProxy's print_message
// format ("[NOTICE]   (pid) : ..."), no longer as Go's slog text.
func TestProcessEventsGoToLogTargets(t *testing.T) {
	sink := startSyslogSink(t)
	ca := testenv.NewCA(t)
	dir := t.TempDir()
	crt := filepath.Join(dir, "site.pem")
	if err := os.WriteFile(crt, readFile(t, ca.Issue(t, "site.test").PEMFile), 0o600); err != nil {
		t.Fatal(err)
	}
	down := testenv.FreePort(t) // nothing listens: the server goes DOWN
	port := testenv.FreePort(t)
	cfg := fmt.Sprintf(`global
    log udp@%s format rfc3164 local0
    log-tag edge

defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%d ssl crt %s
    default_backend be

backend be
    server s1 127.0.0.1:%d check inter 200ms fall 1
`, sink.Addr, port, crt, down)
	gh := testenv.StartGatehouse(t, cfg)

	header := regexp.MustCompile(`^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d edge\[\d+\]: `)
	expect := func(what, msg string, pri int) {
		t.Helper()
		testenv.Eventually(t, 20*time.Second, func() bool { return len(sink.Lines(msg)) > 0 },
			"no %s line %q at the log target; got:\n%s", what, msg, lazy(sink.All))
		line := sink.Lines(msg)[0]
		m := header.FindStringSubmatch(line)
		if m == nil || m[1] != fmt.Sprint(pri) {
			t.Errorf("%s: %q, want an rfc3164 header with priority %d", what, line, pri)
		}
	}
	// local0 (16): alert 129, warning 132, notice 133.
	expect("server state", "Server be/s1 is DOWN, reason: Layer4 connection problem", 129)

	if err := gh.Reload(); err != nil {
		t.Fatal(err)
	}
	expect("reload", "Reloading the configuration, files: "+gh.ConfigFile, 133)
	expect("reload", "Loading success (reload complete).", 133)
	gh.WaitOutput(t, "Loading success (reload complete).", 10*time.Second)
	if !regexp.MustCompile(`(?m)^\[NOTICE\]   \(\d+\) : Loading success \(reload complete\)\.$`).MatchString(gh.Stderr()) {
		t.Errorf("stderr lacks HAProxy's notice format:\n%s", gh.Stderr())
	}
	if strings.Contains(gh.Stderr(), "level=") {
		t.Errorf("stderr still has slog text lines:\n%s", gh.Stderr())
	}

	// A certificate rotation (a renewed file moved in place) is logged too.
	next := filepath.Join(dir, "next.pem")
	if err := os.WriteFile(next, readFile(t, ca.Issue(t, "site.test").PEMFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, crt); err != nil {
		t.Fatal(err)
	}
	expect("certificate rotation", "TLS certificates reloaded from "+crt+".", 133)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestServerStateOnStderrAsHAProxy: without any log target, a server's
// state changes still show on stderr as HAProxy 2.6 prints them in the
// foreground (ha_warning for DOWN and UP, ha_alert for the backend left
// without a server): the same lines, but for the pid and check durations.
func TestServerStateOnStderrAsHAProxy(t *testing.T) {
	srvPort := testenv.FreePort(t) // nothing listens yet: the first check fails
	cfg := func(port int) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    server s1 127.0.0.1:%d check inter 100ms fall 1 rise 1
`, port, srvPort)
	}
	ha := testenv.StartHAProxy(t, cfg(testenv.FreePort(t)))
	gh := testenv.StartGatehouse(t, cfg(testenv.FreePort(t)))
	both := func(what, substr string) {
		t.Helper()
		testenv.Eventually(t, 20*time.Second, func() bool {
			return strings.Contains(ha.Stderr(), substr) && strings.Contains(gh.Stderr(), substr)
		}, "%s: %q not on both stderrs:\nhaproxy:\n%s\ngatehouse:\n%s", what, substr, lazy(ha.Stderr), lazy(gh.Stderr))
	}
	both("server down", "has no server available!")

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", srvPort))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	both("server up", "Server be/s1 is UP")

	// The state lines, up to the first UP (a later check may fail again:
	// the listener closes each connection at once).
	norm := regexp.MustCompile(`\(\d+\) : |check duration: \d+ms`)
	lines := func(stderr string) []string {
		var out []string
		for _, l := range strings.Split(stderr, "\n") {
			if !strings.Contains(l, "Server be/s1") && !strings.Contains(l, "no server available") {
				continue
			}
			out = append(out, norm.ReplaceAllStringFunc(l, func(m string) string {
				if strings.HasPrefix(m, "(") {
					return "(PID) : "
				}
				return "check duration: Nms"
			}))
			if strings.Contains(l, "is UP") {
				break
			}
		}
		return out
	}
	want, got := lines(ha.Stderr()), lines(gh.Stderr())
	if len(want) != 3 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr differs from HAProxy's:\nhaproxy:\n%s\ngatehouse:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

// TestProviderEventsOnStderr: without any log target, an oidc section
// whose provider cannot be discovered says so on stderr (its requests get
// 503 meanwhile), and says when it is discovered, in HAProxy's format.
func TestProviderEventsOnStderr(t *testing.T) {
	idpPort := testenv.FreePort(t) // nothing listens yet: discovery fails
	issuer := fmt.Sprintf("http://127.0.0.1:%d", idpPort)
	dir := t.TempDir()
	secret := filepath.Join(dir, "cookie-secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("s", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	gh := testenv.StartGatehouse(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

oidc corp
    issuer %s
    client-id %s
    cookie-secret file:%s
    redirect-uri http://127.0.0.1:%d/oauth2/callback

frontend fe
    bind 127.0.0.1:%d
    http-request oidc-auth corp
    http-request return status 200
`, issuer, demo.ClientID, secret, port, port))
	failed := regexp.MustCompile(`(?m)^\[WARNING\]  \(\d+\) : oidc 'corp': discovery of ` + regexp.QuoteMeta(issuer) + ` failed \(retrying in \d+s\): `)
	testenv.Eventually(t, 20*time.Second, func() bool { return failed.MatchString(gh.Stderr()) },
		"no discovery failure on stderr:\n%s", lazy(gh.Stderr))

	idp, err := demo.StartIdP(fmt.Sprintf("127.0.0.1:%d", idpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	found := regexp.MustCompile(`(?m)^\[NOTICE\]   \(\d+\) : oidc 'corp': provider ` + regexp.QuoteMeta(issuer) + ` discovered$`)
	testenv.Eventually(t, 30*time.Second, func() bool { return found.MatchString(gh.Stderr()) },
		"no discovery on stderr after the provider started:\n%s", lazy(gh.Stderr))
}

// TestMaintenanceOnStderrAsHAProxy: servers put in and out of maintenance
// on the runtime API are printed on stderr as HAProxy 2.6 prints them,
// with the alert when the last one goes, log targets or not.
func TestMaintenanceOnStderrAsHAProxy(t *testing.T) {
	cfg := func(sock string, port int) string {
		return fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    server s1 127.0.0.1:%d
    server s2 127.0.0.1:%d
`, sock, port, testenv.FreePort(t), testenv.FreePort(t))
	}
	dir := t.TempDir()
	haSock, ghSock := filepath.Join(dir, "haproxy.sock"), filepath.Join(dir, "gatehouse.sock")
	ha := testenv.StartHAProxy(t, cfg(haSock, testenv.FreePort(t)))
	gh := testenv.StartGatehouse(t, cfg(ghSock, testenv.FreePort(t)))
	for _, cmd := range []string{"set server be/s1 state maint", "set server be/s1 state ready",
		"set server be/s2 state maint", "set server be/s1 state maint"} {
		runtimeCmd(t, haSock, cmd)
		runtimeCmd(t, ghSock, cmd)
	}
	const last = "has no server available!"
	testenv.Eventually(t, 20*time.Second, func() bool {
		return strings.Contains(ha.Stderr(), last) && strings.Contains(gh.Stderr(), last)
	}, "no alert on both stderrs:\nhaproxy:\n%s\ngatehouse:\n%s", lazy(ha.Stderr), lazy(gh.Stderr))
	pid := regexp.MustCompile(`\(\d+\) : `)
	lines := func(stderr string) string {
		var out []string
		for _, l := range strings.Split(stderr, "\n") {
			if strings.Contains(l, "Server be/") || strings.Contains(l, last) {
				out = append(out, pid.ReplaceAllString(l, "(PID) : "))
			}
		}
		return strings.Join(out, "\n")
	}
	want, got := lines(ha.Stderr()), lines(gh.Stderr())
	if strings.Count(want, "\n") != 4 || got != want {
		t.Errorf("stderr differs from HAProxy's:\nhaproxy:\n%s\ngatehouse:\n%s", want, got)
	}
}
