package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestSSLKeyLogMatchesClient: with tune.ssl.keylog on, the TLS 1.3 secrets
// and client random HAProxy 2.6 and Gatehouse log for a connection are
// those openssl s_client wrote to its -keylogfile for it, so log-format
// builds a key log that decrypts the capture; the early-data secret is
// empty in both (no 0-RTT); with keylog off no secret is logged, the randoms
// still are.
func TestSSLKeyLogMatchesClient(t *testing.T) {
	openssl := testenv.RequireBinary(t, "openssl")
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "www.example.com")
	labels := []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "CLIENT_EARLY_TRAFFIC_SECRET"}
	const format = `kl %[ssl_fc_client_random,hex] %[ssl_fc_server_random,hex] %[ssl_fc_client_handshake_traffic_secret] %[ssl_fc_server_handshake_traffic_secret] %[ssl_fc_client_traffic_secret_0] %[ssl_fc_server_traffic_secret_0] %[ssl_fc_client_early_traffic_secret] end`
	cfg := func(keylog string, port int) string {
		return fmt.Sprintf(`
global
    log stdout format raw local0
    tune.ssl.keylog %s
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
`, keylog, port, cert.PEMFile, format)
	}
	sClient := func(port int, keylogFile string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", testenv.LocalAddr(port), "-servername", "www.example.com",
			"-tls1_3", "-keylogfile", keylogFile, "-quiet")
		cmd.Stdin = strings.NewReader("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl s_client: %v\n%s", err, out)
		}
	}
	for _, keylog := range []string{"on", "off"} {
		for _, name := range []string{"haproxy", "gatehouse"} {
			port := testenv.FreePort(t)
			var side interface{ String() string }
			if name == "haproxy" {
				side = testenv.StartHAProxy(t, cfg(keylog, port))
			} else {
				side = testenv.StartGatehouse(t, cfg(keylog, port))
			}
			file := filepath.Join(t.TempDir(), "keys.log")
			sClient(port, file)
			var fields []string
			testenv.Eventually(t, 20*time.Second, func() bool {
				for _, line := range strings.Split(side.String(), "\n") {
					if i := strings.Index(line, "kl "); i >= 0 {
						fields = strings.Fields(line[i:])
						return true
					}
				}
				return false
			}, "%s keylog %s: a log line", name, keylog)
			t.Logf("%s keylog %s: %q", name, keylog, fields)
			if len(fields) != 4+len(labels) { // "kl", two randoms, the secrets, "end"
				t.Fatalf("%s: log line %q", name, fields)
			}
			if keylog == "off" {
				// No secrets; the randoms are there on every connection.
				want := "kl " + fields[1] + " " + fields[2] + " - - - - - end"
				if got := strings.Join(fields, " "); got != want || len(fields[1]) != 64 || len(fields[2]) != 64 {
					t.Errorf("%s keylog off: %q, want %q", name, got, want)
				}
				continue
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{} // label -> secret, for the logged client random
			for _, l := range strings.Split(string(data), "\n") {
				if f := strings.Fields(l); len(f) == 3 && strings.EqualFold(f[1], fields[1]) {
					want[f[0]] = f[2]
				}
			}
			if len(want) == 0 {
				t.Fatalf("%s: client random %s is not in the client's key log:\n%s", name, fields[1], data)
			}
			if len(fields[2]) != 64 {
				t.Errorf("%s: server random %q, want 32 bytes", name, fields[2])
			}
			for i, label := range labels {
				w := want[label]
				if w == "" {
					w = "-"
				}
				if fields[3+i] != w {
					t.Errorf("%s: %s = %q, the client logged %q", name, label, fields[3+i], w)
				}
			}
		}
	}
}

// TestSSLBackendRandomsMatchServer: without tune.ssl.keylog,
// ssl_bc_client_random is the random the server's key log (openssl
// s_server -keylogfile) files the connection under, in HAProxy 2.6 and in
// Gatehouse, and ssl_bc_server_random is 32 bytes.
func TestSSLBackendRandomsMatchServer(t *testing.T) {
	openssl := testenv.RequireBinary(t, "openssl")
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "www.example.com")
	dir := t.TempDir()
	keys := filepath.Join(dir, "server-keys.log")
	sport := testenv.FreePort(t)
	srv := testenv.StartProcess(t, "s_server", openssl, "s_server", "-accept", fmt.Sprint(sport), "-cert", cert.PEMFile, "-keylogfile", keys, "-www", "-quiet")
	srv.WaitTCP(t, testenv.LocalAddr(sport), 10*time.Second)
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`
global
    log stdout format raw local0
defaults
    mode http
    log global
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d
    log-format "bc %%[ssl_bc_client_random,hex] %%[ssl_bc_server_random,hex] end"
    default_backend be
backend be
    server s1 127.0.0.1:%d ssl verify none
`, port, sport)
		var side interface{ String() string }
		if name == "haproxy" {
			side = testenv.StartHAProxy(t, cfg)
		} else {
			side = testenv.StartGatehouse(t, cfg)
		}
		if resp, err := httpGet(testenv.LocalAddr(port)); err != nil || !strings.HasPrefix(resp, "HTTP/1.") {
			t.Fatalf("%s: %q, %v", name, resp, err)
		}
		var fields []string
		testenv.Eventually(t, 20*time.Second, func() bool {
			for _, line := range strings.Split(side.String(), "\n") {
				// Not the start-up probe's line, which has no server.
				if i := strings.Index(line, "bc "); i >= 0 && !strings.HasPrefix(line[i:], "bc - - ") {
					fields = strings.Fields(line[i:])
					return true
				}
			}
			return false
		}, "%s: no log line with the randoms:\n%s", name, side)
		t.Logf("%s: %q", name, fields)
		if len(fields) != 4 || len(fields[1]) != 64 || len(fields[2]) != 64 {
			t.Fatalf("%s: log line %q, want two 32-byte randoms", name, fields)
		}
		var data []byte
		testenv.Eventually(t, 10*time.Second, func() bool {
			data, _ = os.ReadFile(keys)
			return strings.Contains(strings.ToLower(string(data)), " "+strings.ToLower(fields[1])+" ")
		}, "%s: ssl_bc_client_random %s is not in the server's key log:\n%s", name, fields[1], data)
	}
}

// httpGet sends one HTTP/1.1 request and reads the answer to its end.
func httpGet(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, err := io.ReadAll(c)
	return string(b), err
}
