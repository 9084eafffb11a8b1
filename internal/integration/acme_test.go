package integration

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// acmeSide is one Gatehouse of an ACME test: its HTTP and HTTPS ports and
// its runtime API socket.
type acmeSide struct {
	g                *testenv.Gatehouse
	http, https      int
	sock, state, cfg string
}

func acmeConfig(p *testenv.Pebble, sock, state string, httpPort, httpsPort int, extra string) string {
	return fmt.Sprintf(`global
    httpclient.ssl.ca-file %s
    stats socket %s level admin

acme LE
    directory %s
    contact ops@example.com
    challenge HTTP-01
    keytype ECDSA
    curves P-256
    state-dir %s
    retry-backoff 500ms 2s
%s
crt-store
    load crt "site.pem" acme LE domains "www.acme.test,acme.test"

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend web
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d ssl crt "site.pem"
    http-request use-service prometheus-exporter if { path /metrics }
    # Without the edge answering HTTP-01 before the rules, this would
    # send the CA to HTTPS.
    http-request redirect scheme https code 301 unless { ssl_fc }
    http-request return status 200 content-type text/plain string "hello"
`, p.CAFile, sock, p.Directory, state, extra, httpPort, httpsPort)
}

func startACMESide(t *testing.T, p *testenv.Pebble, state string, httpPort int, extra string) *acmeSide {
	s := &acmeSide{http: httpPort, https: testenv.FreePort(t), state: state}
	s.sock = filepath.Join(t.TempDir(), "api.sock")
	s.cfg = acmeConfig(p, s.sock, state, s.http, s.https, extra)
	s.g = testenv.StartGatehouse(t, s.cfg)
	return s
}

// leaf is the certificate the edge serves for name, and whether it
// verifies against pool (nil: not checked).
func (s *acmeSide) leaf(t *testing.T, name string, pool *x509.CertPool) (*x509.Certificate, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", testenv.LocalAddr(s.https),
		&tls.Config{ServerName: name, RootCAs: pool, InsecureSkipVerify: pool == nil})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

var ordersRE = regexp.MustCompile(`(?m)^gatehouse_acme_orders_total\{acme="LE",certificate="site.pem",result="(success|failure)"\} (\d+)$`)

// orders reads gatehouse_acme_orders_total from the edge's exporter.
func (s *acmeSide) orders(t *testing.T) (ok, failed int) {
	t.Helper()
	body := httpGetBody(t, fmt.Sprintf("https://127.0.0.1:%d/metrics", s.https))
	for _, m := range ordersRE.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "success" {
			ok = n
		} else {
			failed = n
		}
	}
	return ok, failed
}

func httpGetBody(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// TestACMEPebble: Pebble issues the certificate the edge serves (the
// chain verifies against Pebble's root), the CA's HTTP-01 check reaches
// the edge's HTTP port despite a redirect rule, the renewal is served
// without a reload, and a restart reuses the stored account and
// certificate without ordering.
func TestACMEPebble(t *testing.T) {
	httpPort := testenv.FreePort(t)
	// 60s certificates renewed at 30%: a renewal within the test, and a
	// restart well before the default two thirds.
	p := testenv.StartPebble(t, testenv.PebbleOptions{HTTPPort: httpPort, Validity: 60 * time.Second})
	roots := p.Roots(t)
	state := t.TempDir()
	s := startACMESide(t, p, state, httpPort, "    renew-at 30%\n")

	var first *x509.Certificate
	testenv.Eventually(t, 60*time.Second, func() bool {
		c, err := s.leaf(t, "acme.test", roots)
		first = c
		return err == nil
	}, "the edge never served a certificate verifying against Pebble's root; acme status:\n%s", testenvLazy(func() string { return runtimeCmdQuiet(s.sock, "acme status") }))
	if ok, _ := s.orders(t); ok < 1 {
		t.Fatalf("%d successful orders after the first issuance", ok)
	}
	// renew-at 30% of 60s: a new certificate some 18s later, served by
	// the same process without a reload.
	var second *x509.Certificate
	testenv.Eventually(t, 60*time.Second, func() bool {
		c, err := s.leaf(t, "www.acme.test", roots)
		second = c
		return err == nil && c.SerialNumber.Cmp(first.SerialNumber) != 0
	}, "the renewed certificate was never served")
	if strings.Contains(s.g.String(), "Reloading") {
		t.Fatalf("the renewal went through a reload:\n%s", s.g.String())
	}
	st := runtimeCmd(t, s.sock, "acme status")
	if !strings.HasPrefix(st, "# certificate\tsection\tstate\texpiration date (UTC)\texpires in\tscheduled date (UTC)\tscheduled in\n") ||
		!regexp.MustCompile(`(?m)^site\.pem\tLE\t(Scheduled|Running)\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\t\d+d \d+h\d\dm\d\ds\t`).MatchString(st) {
		t.Fatalf("acme status:\n%s", st)
	}

	// A restart (renew-at back to two thirds) serves the stored
	// certificate and orders nothing.
	s.g.Stop()
	latest := second
	if c, err := tlsLeafFromFile(filepath.Join(state, "site.pem")); err == nil {
		latest = c
	}
	s2 := startACMESide(t, p, state, httpPort, "")
	testenv.Eventually(t, 20*time.Second, func() bool {
		return strings.Contains(runtimeCmdQuiet(s2.sock, "acme status"), "\tScheduled\t")
	}, "no schedule after the restart")
	c, err := s2.leaf(t, "acme.test", roots)
	if err != nil || c.SerialNumber.Cmp(latest.SerialNumber) != 0 {
		t.Fatalf("after the restart: %v, serial %v, stored %v", err, serial(c), latest.SerialNumber)
	}
	if ok, failed := s2.orders(t); ok != 0 || failed != 0 {
		t.Fatalf("the restart ordered: %d ok, %d failed", ok, failed)
	}
	// "acme renew" orders now, whatever the schedule.
	if got := runtimeCmd(t, s2.sock, "acme renew nope.pem"); got != "Certificate 'nope.pem' is not configured with ACME.\n\n" {
		t.Fatalf("acme renew nope.pem: %q", got)
	}
	if got := runtimeCmd(t, s2.sock, "acme renew site.pem"); got != "ACME renewal of certificate 'site.pem' started.\n\n" {
		t.Fatalf("acme renew site.pem: %q", got)
	}
	testenv.Eventually(t, 60*time.Second, func() bool {
		c, err := s2.leaf(t, "acme.test", roots)
		return err == nil && c.SerialNumber.Cmp(latest.SerialNumber) != 0
	}, "'acme renew' served no new certificate")
	if ok, _ := s2.orders(t); ok != 1 {
		t.Fatalf("%d orders after 'acme renew'", ok)
	}
}

func serial(c *x509.Certificate) *big.Int {
	if c == nil {
		return nil
	}
	return c.SerialNumber
}

func tlsLeafFromFile(path string) (*x509.Certificate, error) {
	c, err := tls.LoadX509KeyPair(path, path)
	if err != nil {
		return nil, err
	}
	return c.Leaf, nil
}

// testenvLazy defers a diagnostic until a failure prints it.
type testenvLazy func() string

func (f testenvLazy) String() string { return f() }

// TestACMEFailedChallenge: the CA cannot reach the edge (its HTTP-01
// port refuses connections): the order fails, is retried with a doubling
// backoff, and each failure is logged with the ACME problem and counted;
// the placeholder stays in service meanwhile.
func TestACMEFailedChallenge(t *testing.T) {
	p := testenv.StartPebble(t, testenv.PebbleOptions{HTTPPort: testenv.RefusedPort(t)})
	s := startACMESide(t, p, t.TempDir(), testenv.FreePort(t), "")
	// The counter moves before the line reaches the process's output:
	// wait for both.
	testenv.Eventually(t, 60*time.Second, func() bool {
		_, f := s.orders(t)
		return f >= 3 && strings.Contains(s.g.String(), "failures: 3")
	}, "fewer than 3 failed orders logged; output:\n%s", s.g.Process)
	out := s.g.String()
	// Pebble validates the two names' authorizations in either order.
	for _, w := range []string{"ACME order failed", "certificate: site.pem", "domains: [www.acme.test acme.test]", "acme.test failed: urn:ietf:params:acme:error:connection: ", "retry_in: 500ms", "retry_in: 1s", "failures: 3"} {
		if !strings.Contains(out, w) {
			t.Fatalf("the log lacks %q:\n%s", w, out)
		}
	}
	if ok, _ := s.orders(t); ok != 0 {
		t.Fatalf("%d successful orders", ok)
	}
	c, err := s.leaf(t, "acme.test", nil)
	if err != nil || c.Issuer.String() != c.Subject.String() || !strings.Contains(c.Subject.String(), "Gatehouse ACME placeholder") {
		t.Fatalf("the placeholder is not served meanwhile: %v %v", err, c)
	}
}

// TestACMEReplicas: two Gatehouse processes share the state directory and
// the HTTP port (SO_REUSEPORT: the kernel spreads the CA's HTTP-01
// requests over both, so the one asked may not be the one that ordered).
// One order is made, and both serve its certificate.
func TestACMEReplicas(t *testing.T) {
	httpPort := testenv.FreePort(t)
	p := testenv.StartPebble(t, testenv.PebbleOptions{HTTPPort: httpPort})
	roots := p.Roots(t)
	state := t.TempDir()
	a := startACMESide(t, p, state, httpPort, "")
	b := startACMESide(t, p, state, httpPort, "")
	var ca, cb *x509.Certificate
	testenv.Eventually(t, 60*time.Second, func() bool {
		var err1, err2 error
		ca, err1 = a.leaf(t, "acme.test", roots)
		cb, err2 = b.leaf(t, "acme.test", roots)
		return err1 == nil && err2 == nil
	}, "both replicas never served Pebble's certificate")
	if ca.SerialNumber.Cmp(cb.SerialNumber) != 0 {
		t.Fatalf("the replicas serve different certificates: %v and %v", ca.SerialNumber, cb.SerialNumber)
	}
	oa, fa := a.orders(t)
	ob, fb := b.orders(t)
	if oa+ob != 1 || fa+fb != 0 {
		t.Fatalf("orders: a %d ok %d failed, b %d ok %d failed; want one in all", oa, fa, ob, fb)
	}
}

// TestACMEDNS01: a wildcard certificate over DNS-01, the TXT records
// published in BIND 9 by RFC 2136 updates signed with TSIG; Pebble resolves
// through that BIND and cannot reach the edge over HTTP at all.
func TestACMEDNS01(t *testing.T) {
	ns := testenv.StartBind9(t, "acme.test.", "@ IN A 127.0.0.1", "* IN A 127.0.0.1")
	p := testenv.StartPebble(t, testenv.PebbleOptions{HTTPPort: testenv.RefusedPort(t), DNSServer: ns.Addr})
	roots := p.Roots(t)
	key := ns.Key(t, "hmac-sha256")
	secret := filepath.Join(t.TempDir(), "tsig")
	if err := os.WriteFile(secret, []byte(key.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &acmeSide{http: testenv.FreePort(t), https: testenv.FreePort(t), state: t.TempDir()}
	s.sock = filepath.Join(t.TempDir(), "api.sock")
	cfg := acmeConfig(p, s.sock, s.state, s.http, s.https, fmt.Sprintf("    dns-update %s zone acme.test tsig-key %s hmac-sha256 file:%s\n", ns.Addr, key.Name, secret))
	cfg = strings.Replace(cfg, "challenge HTTP-01", "challenge DNS-01", 1)
	cfg = strings.Replace(cfg, `domains "www.acme.test,acme.test"`, `domains "*.acme.test,acme.test"`, 1)
	s.g = testenv.StartGatehouse(t, cfg)
	testenv.Eventually(t, 90*time.Second, func() bool {
		_, err := s.leaf(t, "anything.acme.test", roots)
		return err == nil
	}, "the wildcard certificate was never served; acme status:\n%s", testenvLazy(func() string { return runtimeCmdQuiet(s.sock, "acme status") }))
	if ok, failed := s.orders(t); ok != 1 || failed != 0 {
		t.Fatalf("orders: %d ok, %d failed", ok, failed)
	}
	// The records are removed after the authorizations.
	if txt := ns.TXT(t, "_acme-challenge.acme.test."); len(txt) != 0 {
		t.Fatalf("TXT records left behind: %q", txt)
	}
}

// TestACMEReplicasRedis: with a session store configured, the replicas
// take the order lock and share the HTTP-01 tokens in its Valkey/Redis
// instead of lock files: one order, both serve it, and nothing is left in
// the store or in the state directory's .coord.
func TestACMEReplicasRedis(t *testing.T) {
	rd := testenv.StartRedis(t)
	httpPort := testenv.FreePort(t)
	p := testenv.StartPebble(t, testenv.PebbleOptions{HTTPPort: httpPort})
	roots := p.Roots(t)
	state, secrets := t.TempDir(), t.TempDir()
	for _, f := range []string{"client", "cookie"} {
		if err := os.WriteFile(filepath.Join(secrets, f), []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	oidc := fmt.Sprintf(`
oidc corp
    issuer http://%s
    client-id edge
    client-secret file:%s
    cookie-secret file:%s
    redirect-uri https://acme.test/oauth2/callback
    session-store redis %s
`, testenv.LocalAddr(testenv.RefusedPort(t)), filepath.Join(secrets, "client"), filepath.Join(secrets, "cookie"), rd.Addr)
	var sides []*acmeSide
	for range 2 {
		s := &acmeSide{http: httpPort, https: testenv.FreePort(t), state: state}
		s.sock = filepath.Join(t.TempDir(), "api.sock")
		s.cfg = strings.Replace(acmeConfig(p, s.sock, state, s.http, s.https, ""), "\ncrt-store\n", oidc+"\ncrt-store\n", 1)
		s.g = testenv.StartGatehouse(t, s.cfg)
		sides = append(sides, s)
	}
	var serials []string
	testenv.Eventually(t, 60*time.Second, func() bool {
		serials = serials[:0]
		for _, s := range sides {
			c, err := s.leaf(t, "acme.test", roots)
			if err != nil {
				return false
			}
			serials = append(serials, c.SerialNumber.String())
		}
		return true
	}, "both replicas never served Pebble's certificate")
	if serials[0] != serials[1] {
		t.Fatalf("the replicas serve different certificates: %v", serials)
	}
	oa, fa := sides[0].orders(t)
	ob, fb := sides[1].orders(t)
	if oa+ob != 1 || fa+fb != 0 {
		t.Fatalf("orders: %d+%d ok, %d+%d failed; want one in all", oa, ob, fa, fb)
	}
	if _, err := os.Stat(filepath.Join(state, ".coord")); !os.IsNotExist(err) {
		t.Fatalf("lock files were used beside the session store: %v", err)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		k := strings.TrimSpace(testenv.RedisCommandAll(rd.Addr, "KEYS", "gatehouse:acme:*"))
		return k == "*0"
	}, "keys left in the store: %s", testenvLazy(func() string { return testenv.RedisCommandAll(rd.Addr, "KEYS", "*") }))
}
