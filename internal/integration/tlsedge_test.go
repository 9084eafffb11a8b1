package integration

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// mozillaIntermediate is the global section Mozilla's SSL configuration
// generator writes for HAProxy 2.6 ("intermediate"), as users paste it.
const mozillaIntermediate = `
    ssl-default-bind-curves X25519:prime256v1:secp384r1
    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    ssl-default-bind-options prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets
    ssl-default-server-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305
    ssl-default-server-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    ssl-default-server-options ssl-min-ver TLSv1.2 no-tls-tickets
    ssl-dh-param-file %s
`

// tlsEdgePod is one gateway replica behind the edge: it answers with its
// address and the client-certificate headers the edge set.
func startTLSEdgePod(t *testing.T, ip string, port int) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pod=%s used=%s verify=%s dn=%s proto=%s\n", ip,
			r.Header.Get("X-SSL-Client-Used"), r.Header.Get("X-SSL-Client-Verify"),
			r.Header.Get("X-SSL-Client-DN"), r.Header.Get("X-Forwarded-Proto"))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

// TestTLSEdgeAsHAProxyUsersWriteIt runs a TLS edge written the way an
// HAProxy user writes one (issue 18, acceptance 2): Mozilla's intermediate
// settings pasted into global, a crt-list, the legacy `redirect scheme
// https`, optional client certificates on the one TLS bind whose fetches
// become headers and guard a path, HSTS, and a server-template over a
// resolvers section pointing at a real DNS server. HAProxy 2.6 and
// Gatehouse run the same file and answer every probe the same way.
func TestTLSEdgeAsHAProxyUsersWriteIt(t *testing.T) {
	openssl := testenv.RequireBinary(t, "openssl")
	dir := t.TempDir()
	dh := filepath.Join(dir, "ffdhe2048.pem")
	if out, err := exec.Command(openssl, "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "dh_param:ffdhe2048", "-out", dh).CombinedOutput(); err != nil {
		t.Fatalf("openssl genpkey: %v\n%s", err, out)
	}
	ca := testenv.NewCA(t)
	site, other := ca.Issue(t, "www.example.com", "example.com"), ca.Issue(t, "api.example.com")
	list := filepath.Join(dir, "crt-list.txt")
	if err := os.WriteFile(list, []byte(fmt.Sprintf("%s\n%s [alpn http/1.1] api.example.com\n", site.PEMFile, other.PEMFile)), 0o644); err != nil {
		t.Fatal(err)
	}
	client := ca.IssueClient(t, "alice")

	podPort := testenv.FreePort(t)
	pods := []string{"127.0.0.21", "127.0.0.22"}
	for _, ip := range pods {
		startTLSEdgePod(t, ip, podPort)
	}
	var hosts []string
	for _, ip := range pods {
		hosts = append(hosts, ip+" gw.mesh.local")
	}
	dns := startDnsmasq(t, hosts)

	cfg := func(httpPort, httpsPort int) string {
		return fmt.Sprintf(`global
    log stdout format raw local0
%s
resolvers mesh
    nameserver dns1 %s
    accepted_payload_size 8192
    resolve_retries 3
    timeout resolve 1s
    timeout retry 1s
    hold valid 2s

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend edge
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d ssl crt-list %s alpn h2,http/1.1 ca-file %s verify optional
    http-request deny if { path_beg /admin } !{ ssl_c_used }
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request set-header X-SSL-Client-Used %%[ssl_c_used]
    http-request set-header X-SSL-Client-Verify %%[ssl_c_verify]
    http-request set-header X-SSL-Client-DN %%{+Q}[ssl_c_s_dn]
    http-response set-header Strict-Transport-Security max-age=63072000
    redirect scheme https code 301 if !{ ssl_fc }
    default_backend gateway

backend gateway
    balance roundrobin
    server-template gw 4 gw.mesh.local:%d check inter 500ms resolvers mesh init-addr none
`, fmt.Sprintf(mozillaIntermediate, dh), dns.addr, httpPort, httpsPort, list, ca.File, podPort)
	}
	type edge struct {
		name        string
		plain, tls_ int
	}
	var edges []edge
	for _, name := range []string{"haproxy", "gatehouse"} {
		e := edge{name: name, plain: testenv.FreePort(t), tls_: testenv.FreePort(t)}
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg(e.plain, e.tls_))
		} else {
			testenv.StartGatehouse(t, cfg(e.plain, e.tls_))
		}
		edges = append(edges, e)
	}

	get := func(e edge, sni, path string, tlsCfg *tls.Config) (string, error) {
		scheme, port := "http", e.plain
		if tlsCfg != nil {
			scheme, port = "https", e.tls_
		}
		tr := &http.Transport{TLSClientConfig: tlsCfg, DisableKeepAlives: true,
			DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 20 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s://%s%s", scheme, testenv.LocalAddr(port), path), nil)
		req.Host = sni
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		b := string(body)
		if resp.StatusCode != 200 {
			b = "" // error pages differ in wording; status and headers are compared
		} else {
			b = strings.Join(strings.Fields(b)[1:], " ") // which pod answered is balancing, compared below
		}
		return fmt.Sprintf("%d %s tls=%t loc=%q hsts=%q alpn=%q cn=%q %s", resp.StatusCode, resp.Proto,
			resp.TLS != nil, resp.Header.Get("Location"), resp.Header.Get("Strict-Transport-Security"),
			tlsState(resp.TLS).NegotiatedProtocol, peerCN(resp.TLS), b), nil
	}
	tlsTo := func(sni string, mod func(*tls.Config)) *tls.Config {
		c := ca.ClientTLS(sni)
		c.NextProtos = []string{"h2", "http/1.1"}
		if mod != nil {
			mod(c)
		}
		return c
	}
	withCert := func(c *tls.Config) { c.Certificates = []tls.Certificate{client.TLS} }
	tls11 := func(c *tls.Config) { c.MaxVersion = tls.VersionTLS11; c.MinVersion = tls.VersionTLS10 }
	cbcOnly := func(c *tls.Config) {
		c.MaxVersion = tls.VersionTLS12
		c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
	}
	tls12GCM := func(c *tls.Config) {
		c.MaxVersion = tls.VersionTLS12
		c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	}
	probes := []struct {
		name, sni, path string
		tls             *tls.Config
	}{
		{"plain is redirected", "www.example.com", "/login?next=/x", nil},
		{"https, no client cert", "www.example.com", "/", tlsTo("www.example.com", nil)},
		{"https, client cert", "www.example.com", "/", tlsTo("www.example.com", withCert)},
		{"guarded path without cert", "www.example.com", "/admin/users", tlsTo("www.example.com", nil)},
		{"guarded path with cert", "www.example.com", "/admin/users", tlsTo("www.example.com", withCert)},
		{"crt-list line with its own alpn", "api.example.com", "/v1", tlsTo("api.example.com", nil)},
		{"TLS 1.1 refused (ssl-min-ver)", "www.example.com", "/", tlsTo("www.example.com", tls11)},
		{"CBC suites refused (Mozilla's list)", "www.example.com", "/", tlsTo("www.example.com", cbcOnly)},
		{"TLS 1.2 with an intermediate suite", "www.example.com", "/", tlsTo("www.example.com", tls12GCM)},
	}
	// Both edges reach the pods once DNS has filled their slots.
	for _, e := range edges {
		testenv.Eventually(t, 30*time.Second, func() bool {
			out, err := get(e, "www.example.com", "/", tlsTo("www.example.com", nil))
			return err == nil && strings.HasPrefix(out, "200 ")
		}, "%s never reached a pod through its DNS slots", e.name)
	}
	for _, p := range probes {
		var got [2]string
		for i, e := range edges {
			out, err := get(e, p.sni, p.path, p.tls)
			if err != nil {
				out = "refused" // the handshake's alert wording is the library's
			}
			got[i] = out
		}
		t.Logf("%s: %s", p.name, got[1])
		if got[0] != got[1] {
			t.Errorf("%s:\n  haproxy:   %s\n  gatehouse: %s", p.name, got[0], got[1])
		}
	}

	// Both replicas get traffic through the template's slots.
	for _, e := range edges {
		seen := map[string]bool{}
		testenv.Eventually(t, 20*time.Second, func() bool {
			if pod, err := whichPod(e.tls_, tlsTo("www.example.com", nil)); err == nil {
				seen[pod] = true
			}
			return len(seen) == len(pods)
		}, "%s reached only %v of pods %v", e.name, seen, pods)
	}
}

// whichPod asks the edge's TLS port once and returns the answering pod.
func whichPod(port int, tlsCfg *tls.Config) (string, error) {
	tr := &http.Transport{TLSClientConfig: tlsCfg, DisableKeepAlives: true, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + testenv.LocalAddr(port) + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if f := strings.Fields(string(body)); err == nil && len(f) > 0 {
		return f[0], nil
	}
	return "", fmt.Errorf("status %d, body %q (%v)", resp.StatusCode, body, err)
}

func tlsState(s *tls.ConnectionState) tls.ConnectionState {
	if s == nil {
		return tls.ConnectionState{}
	}
	return *s
}

func peerCN(s *tls.ConnectionState) string {
	if s == nil || len(s.PeerCertificates) == 0 {
		return ""
	}
	return s.PeerCertificates[0].Subject.CommonName
}
