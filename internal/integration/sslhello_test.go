package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestSSLHelloFetchesMatchHAProxy: the ClientHello fetches that
// tune.ssl.capture-buffer-size enables log the same values in Gatehouse as
// in HAProxy 2.6 for the same ClientHellos (a Go client and openssl
// s_client with fixed suites and groups, once with every suite it knows), with the buffer large, small
// enough to cut the extension list, and absent (nothing logged).
func TestSSLHelloFetchesMatchHAProxy(t *testing.T) {
	openssl := testenv.RequireBinary(t, "openssl")
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "www.example.com")
	const format = `hello %[ssl_fc_cipherlist_bin,hex] %[ssl_fc_cipherlist_hex(1)] %[ssl_fc_cipherlist_xxh] %[ssl_fc_cipherlist_str] %[ssl_fc_cipherlist_str(1)] %[ssl_fc_extlist_bin,hex] %[ssl_fc_extlist_bin(1),hex] %[ssl_fc_eclist_bin,hex] %[ssl_fc_ecformats_bin,hex] %[ssl_fc_protocol_hello_id] end`
	cfg := func(global string, port int) string {
		return fmt.Sprintf(`
global
    log stdout len 16384 format raw local0
%s
defaults
    mode http
    log global
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d ssl crt %s
    log-format "%s"
    http-request return status 200 content-type text/plain string ok
`, global, port, cert.PEMFile, format)
	}
	goClient := func(port int) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", testenv.LocalAddr(port), &tls.Config{
			InsecureSkipVerify: true, ServerName: "www.example.com",
			CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
	}
	sClient := func(port int, ciphers, suites string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", testenv.LocalAddr(port), "-servername", "www.example.com",
			"-cipher", ciphers, "-ciphersuites", suites, "-curves", "X25519:P-256", "-quiet")
		cmd.Stdin = strings.NewReader("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl s_client: %v\n%s", err, out)
		}
	}
	logged := func(out string, n int) []string {
		var l []string
		for _, line := range strings.Split(out, "\n") {
			if i := strings.Index(line, "hello "); i >= 0 {
				l = append(l, strings.TrimSpace(line[i:]))
			}
		}
		if len(l) < n {
			return nil
		}
		return l
	}
	full := "" // the Go client's line with the large buffer
	for _, global := range []string{
		"    tune.ssl.capture-buffer-size 4096",
		"    tune.ssl.capture-cipherlist-size 40", // the cipher list and part of the extensions
		"", // no capture
	} {
		var lines [2][]string
		for i, start := range []func(port int) interface{ String() string }{
			func(p int) interface{ String() string } { return testenv.StartHAProxy(t, cfg(global, p)) },
			func(p int) interface{ String() string } { return testenv.StartGatehouse(t, cfg(global, p)) },
		} {
			port := testenv.FreePort(t)
			side := start(port)
			goClient(port)
			sClient(port, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384", "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256")
			// Every suite OpenSSL knows, for ssl_fc_cipherlist_str's names.
			sClient(port, "ALL:COMPLEMENTOFALL:@SECLEVEL=0", "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256")
			testenv.Eventually(t, 20*time.Second, func() bool {
				lines[i] = logged(side.String(), 3)
				return lines[i] != nil
			}, "%q: three log lines", global)
		}
		t.Logf("%q:\n haproxy:   %q\n gatehouse: %q", global, lines[0], lines[1])
		if strings.Join(lines[0], "\n") != strings.Join(lines[1], "\n") {
			t.Errorf("%q: logs differ:\n haproxy:   %q\n gatehouse: %q", global, lines[0], lines[1])
		}
		if global == "" && lines[1][0] != "hello - - - - - - - - - - end" {
			t.Errorf("no capture: %q, want every fetch empty", lines[1][0])
		}
		switch {
		case strings.Contains(global, "4096") && strings.Contains(strings.Join(lines[1], "\n"), " - "):
			t.Errorf("%q: %q, want every fetch set", global, lines[1])
		case strings.Contains(global, " 40") && lines[1][0] == full:
			t.Errorf("%q: %q, want the lists cut", global, lines[1][0])
		}
		if full == "" {
			full = lines[1][0]
		}
	}
}

// TestSSLTCPModeFetchesMatchHAProxy: in mode tcp too, the ClientHello
// fetches log what HAProxy 2.6 logs for the same Go client, and the key log
// fetches hold the secrets the client's own key log has.
func TestSSLTCPModeFetchesMatchHAProxy(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "www.example.com")
	lines := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`
global
    log stdout len 8192 format raw local0
    tune.ssl.capture-buffer-size 1024
    tune.ssl.keylog on
defaults
    mode tcp
    log global
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d ssl crt %s
    log-format "tcp %%[ssl_fc_cipherlist_hex] %%[ssl_fc_cipherlist_xxh] %%[ssl_fc_extlist_bin,hex] %%[ssl_fc_eclist_bin,hex] %%[ssl_fc_protocol_hello_id] / %%[ssl_fc_client_random,hex] %%[ssl_fc_client_traffic_secret_0] end"
    default_backend be
backend be
    server s1 %s
`, port, cert.PEMFile, echo.Addr)
		var side interface{ String() string }
		if name == "haproxy" {
			side = testenv.StartHAProxy(t, cfg)
		} else {
			side = testenv.StartGatehouse(t, cfg)
		}
		var keys strings.Builder
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", testenv.LocalAddr(port), &tls.Config{
			InsecureSkipVerify: true, ServerName: "www.example.com", KeyLogWriter: &keys,
			CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256},
		})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if b, _ := io.ReadAll(c); !strings.HasPrefix(string(b), "HTTP/1.1 200") {
			t.Fatalf("%s: %q", name, b)
		}
		c.Close()
		var line string
		testenv.Eventually(t, 20*time.Second, func() bool {
			for _, l := range strings.Split(side.String(), "\n") {
				// Not the start-up probe's line, which has no handshake.
				if i := strings.Index(l, "tcp "); i >= 0 && !strings.HasPrefix(l[i:], "tcp - ") {
					line = strings.TrimSpace(l[i:])
					return true
				}
			}
			return false
		}, "%s: no log line with the fetches:\n%s", name, side)
		t.Logf("%s: %q", name, line)
		hello, kl, _ := strings.Cut(line, " / ")
		lines[name] = hello
		var want string
		for _, l := range strings.Split(keys.String(), "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "CLIENT_TRAFFIC_SECRET_0" {
				want = strings.ToUpper(f[1]) + " " + f[2] + " end"
			}
		}
		if kl != want {
			t.Errorf("%s: key log fetches %q, the client logged %q", name, kl, want)
		}
	}
	if lines["haproxy"] != lines["gatehouse"] || strings.Contains(lines["gatehouse"], " - ") {
		t.Errorf("ClientHello fetches:\n haproxy:   %q\n gatehouse: %q", lines["haproxy"], lines["gatehouse"])
	}
}
