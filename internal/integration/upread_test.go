package integration

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestKeepAliveClosedByNginxMatchesHAProxy: nginx closes kept-alive
// connections after keepalive_timeout 200ms, so the proxy's pooled
// connection has nginx's FIN when the client's next request comes (the
// test waits until no proxy connection to nginx is established). HAProxy
// and Gatehouse both answer that request 200 at once, from a new
// connection (nginx logs a second client port), not after timeout server
// (30s): Gatehouse sends the request from inside the read that waits for
// the answer (sock.Conn.HoldForAnswer), and still sees the close. In
// clear and over TLS (ssl server).
func TestKeepAliveClosedByNginxMatchesHAProxy(t *testing.T) {
	nginx := testenv.RequireBinary(t, "nginx")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	cert := testenv.NewCA(t).Issue(t, "upstream.test")
	plainPort, tlsPort := testenv.FreePort(t), testenv.FreePort(t)
	user := ""
	if os.Getuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
pid %[2]s/nginx.pid;
events { worker_connections 1024; }
http {
    log_format c '$server_port $remote_port $request';
    access_log %[2]s/access.log c;
    client_body_temp_path %[2]s/tmp/body;
    proxy_temp_path %[2]s/tmp/proxy;
    fastcgi_temp_path %[2]s/tmp/fastcgi;
    uwsgi_temp_path %[2]s/tmp/uwsgi;
    scgi_temp_path %[2]s/tmp/scgi;
    keepalive_timeout 200ms;
    server {
        listen 127.0.0.1:%[3]d;
        listen 127.0.0.1:%[4]d ssl;
        ssl_certificate %[5]s;
        ssl_certificate_key %[6]s;
        location / { default_type text/plain; return 200 "ok\n"; }
    }
}
`, user, dir, plainPort, tlsPort, cert.CertFile, cert.KeyFile)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ng := testenv.StartProcess(t, "nginx", nginx, "-p", dir, "-c", confFile, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	ng.WaitTCP(t, testenv.LocalAddr(plainPort), 10*time.Second)
	ng.WaitTCP(t, testenv.LocalAddr(tlsPort), 10*time.Second)

	for _, side := range []string{"haproxy", "gatehouse"} {
		for _, ssl := range []bool{false, true} {
			name, upPort, server := side, plainPort, testenv.LocalAddr(plainPort)
			if ssl {
				name += "/tls"
				upPort = tlsPort
				server = testenv.LocalAddr(tlsPort) + " ssl verify none"
			}
			t.Run(name, func(t *testing.T) {
				port := testenv.FreePort(t)
				stop := testenv.StartSide(t, side, fmt.Sprintf(`global
    nbthread 1

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

listen fe
    bind 127.0.0.1:%d
    server s1 %s
`, port, server))
				defer stop()
				c, err := net.Dial("tcp", testenv.LocalAddr(port))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				get := func(path string) time.Duration {
					t.Helper()
					start := time.Now()
					fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: upstream.test\r\n\r\n", path)
					resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
					if err != nil {
						t.Fatalf("%s: %v", path, err)
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Fatalf("%s: status %d", path, resp.StatusCode)
					}
					return time.Since(start)
				}
				first, second := "/"+name+"/1", "/"+name+"/2"
				defer func() {
					if t.Failed() {
						b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
						t.Logf("nginx error.log:\n%s", b)
					}
				}()
				get(first)
				testenv.Eventually(t, 20*time.Second, func() bool { return establishedTo(t, upPort) == 0 },
					"nginx did not close the kept-alive connection (keepalive_timeout 200ms)")
				if took := get(second); took > 10*time.Second {
					t.Fatalf("the request after nginx's close took %v", took)
				}
				// nginx logs after answering: wait for both lines.
				var ports map[string]string
				testenv.Eventually(t, 20*time.Second, func() bool {
					ports = clientPorts(t, filepath.Join(dir, "access.log"), upPort, first, second)
					return len(ports) == 2
				}, "nginx logged no answer to %s or %s", first, second)
				if ports[first] == ports[second] {
					t.Fatalf("both requests came over nginx's closed connection (client port %s)", ports[first])
				}
			})
		}
	}
}

// establishedTo counts the established TCP connections to 127.0.0.1:port
// from another port (/proc/net/tcp: the proxies' connections to nginx).
func establishedTo(t *testing.T, port int) int {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "01" { // ESTABLISHED
			continue
		}
		if i := strings.LastIndexByte(f[2], ':'); i > 0 {
			if p, err := strconv.ParseUint(f[2][i+1:], 16, 16); err == nil && int(p) == port {
				n++
			}
		}
	}
	return n
}

// clientPorts maps the request paths of nginx's access log lines on
// serverPort to the client port each came from.
func clientPorts(t *testing.T, logFile string, serverPort int, paths ...string) map[string]string {
	b, err := os.ReadFile(logFile)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line) // server port, client port, GET path HTTP/1.1
		if len(f) < 4 || f[0] != strconv.Itoa(serverPort) {
			continue
		}
		for _, p := range paths {
			if f[3] == p {
				out[p] = f[1]
			}
		}
	}
	return out
}
