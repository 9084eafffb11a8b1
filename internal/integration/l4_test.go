package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// l4Config is an SNI router in front of a gateway that requires the PROXY
// protocol, as Istio's does with gatewayTopology.proxyProtocol.
func l4Config(fePort, statsPort, gwPort int) string {
	return fmt.Sprintf(`global
    log stdout format raw local0

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend sni
    bind 127.0.0.1:%d
    tcp-request inspect-delay 2s
    tcp-request content accept if { req.ssl_hello_type 1 }
    tcp-request content reject
    use_backend gateway if { req.ssl_sni -i %s }

backend gateway
    server gw1 127.0.0.1:%d send-proxy-v2 proxy-v2-options authority

listen stats
    mode http
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, fePort, testenv.SeedHost, gwPort, statsPort)
}

// tcplog: %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
var tcplogLine = regexp.MustCompile(`^(\S+):(\d+) \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] (\S+) (\S+)/(\S+) (-?\d+)/(-?\d+)/(\+?\d+) (\d+) (\S\S) (\d+)/(\d+)/(\d+)/(\d+)/(\+?\d+) (\d+)/(\d+)$`)

func tcplogShapes(out string) []string {
	var shapes []string
	fired := func(s string) string {
		if strings.HasPrefix(s, "-") {
			return "-1"
		}
		return "n"
	}
	for _, l := range strings.Split(out, "\n") {
		m := tcplogLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil || m[3] != "sni" {
			continue
		}
		shapes = append(shapes, strings.Join([]string{"client=" + m[1], "fe=" + m[3], "be=" + m[4], "srv=" + m[5],
			"timers=" + fired(m[6]) + "/" + fired(m[7]) + "/" + fired(m[8]), "term=" + m[10]}, " "))
	}
	sort.Strings(shapes)
	return shapes
}

// dialFrom connects from a second loopback address, so the gateway can
// only report it if the PROXY header carried it.
func dialFrom(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	return d.DialContext(ctx, network, addr)
}

// TestL4PassthroughProxyProtocol is acceptance 1 and 3 of issue 4, run
// through Gatehouse and HAProxy alike on the same config.
func TestL4PassthroughProxyProtocol(t *testing.T) {
	g := testenv.StartGateway(t, testenv.GatewayOptions{ProxyProtocol: true})
	type started interface{ Stdout() string }
	var shapes [2][]string
	var csvRows [2]map[string]string
	for i, name := range []string{"gatehouse", "haproxy"} {
		t.Run(name, func(t *testing.T) {
			fePort, statsPort := testenv.FreePort(t), testenv.FreePort(t)
			cfg := l4Config(fePort, statsPort, g.PPPort)
			var p started
			if name == "haproxy" {
				p = testenv.StartHAProxy(t, cfg)
			} else {
				p = testenv.StartGatehouse(t, cfg)
			}
			fe := testenv.LocalAddr(fePort)
			tr := &http.Transport{DialContext: dialFrom, TLSClientConfig: g.TLSConfig(testenv.SeedHost), ForceAttemptHTTP2: false}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			// The URL names the gateway's host (it routes on Host); the
			// dialer goes to the proxy.
			tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) { return dialFrom(ctx, network, fe) }
			base := "https://" + testenv.SeedHost

			// The gateway sees the client's address and the SNI.
			resp, err := client.Get(base + "/hello")
			if err != nil {
				t.Fatal(err)
			}
			var e testenv.Echo
			json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if !strings.HasPrefix(e.ClientAddr, "127.0.0.2") || e.SNI != testenv.SeedHost {
				t.Errorf("gateway saw client %q SNI %q; want 127.0.0.2 and %s", e.ClientAddr, e.SNI, testenv.SeedHost)
			}

			// 20 MB each way, intact.
			const n = 20 << 20
			resp, err = client.Get(fmt.Sprintf("%s/bytes/%d", base, n))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(body) != n || bytes.Count(body, []byte("x")) != n {
				t.Errorf("download: %d bytes, err %v; want %d bytes of 'x'", len(body), err, n)
			}
			up := make([]byte, n)
			rand.Read(up)
			resp, err = client.Post(base+"/upload", "application/octet-stream", bytes.NewReader(up))
			if err != nil {
				t.Fatal(err)
			}
			json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if e.BodyLen != n || e.BodySHA256 != testenv.SHA256Hex(up) {
				t.Errorf("upload: gateway got %d bytes (sha %s), want %d intact", e.BodyLen, e.BodySHA256, n)
			}
			tr.CloseIdleConnections()

			// An unknown SNI is refused.
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fe, g.TLSConfig("unknown.example.com"))
			if err == nil {
				c.Close()
				t.Errorf("a TLS handshake with an unknown SNI succeeded")
			}

			// Log lines: the readiness probe (PR), the keep-alive
			// session (--), the refused SNI (SC).
			testenv.Eventually(t, 10*time.Second, func() bool { return len(tcplogShapes(p.Stdout())) >= 3 }, "tcplog lines")
			resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/stats;csv", statsPort))
			if err != nil {
				t.Fatal(err)
			}
			csv, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			csvRows[i] = testenv.StatsCSVStatus(string(csv))
			shapes[i] = tcplogShapes(p.Stdout())
			t.Logf("%s log:\n%s", name, p.Stdout())
		})
	}
	if strings.Join(shapes[0], "\n") != strings.Join(shapes[1], "\n") {
		t.Errorf("tcplog shapes differ:\ngatehouse:\n%s\nhaproxy:\n%s", strings.Join(shapes[0], "\n"), strings.Join(shapes[1], "\n"))
	}
	for _, row := range []string{"sni/FRONTEND", "gateway/gw1", "gateway/BACKEND"} {
		if csvRows[0][row] != csvRows[1][row] || csvRows[1][row] == "" {
			t.Errorf("stats CSV %s: gatehouse %q, haproxy %q", row, csvRows[0][row], csvRows[1][row])
		}
	}
}
