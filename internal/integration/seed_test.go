package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// seedFirstConfig is the first seed's configuration, character for
// character (TestSeedTextIsVerbatim proves it).
const seedFirstConfig = `global
defaults
        mode http

frontend stats
        bind *:8404
        stats enable
        stats uri /stats
        stats refresh 10s

frontend istio-gateway
        bind *:80
        use_backend istio-gateway

backend istio-gateway
        http-request set-header Host helloworld.zufardhiyaulhaq.tech
        server helloworld helloworld.zufardhiyaulhaq.tech:443 ssl sni str(helloworld.zufardhiyaulhaq.tech) verify none
`

func TestSeedTextIsVerbatim(t *testing.T) {
	matches, _ := filepath.Glob("../../../shared/seeds/000_*.txt")
	if len(matches) == 0 {
		t.Skip("the seed documents live outside the repository; only checked where they exist")
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), seedFirstConfig) {
		t.Fatal("seedFirstConfig is not the seed's text")
	}
}

// seedChecks runs the first acceptance scenario against whatever proxy
// serves the seed config on :80 and :8404.
func seedChecks(t *testing.T, name string, g *testenv.Gateway) {
	t.Helper()
	// GET and POST reach the gateway with its SNI and Host.
	resp, err := http.Get("http://127.0.0.1:80/hello?x=1")
	if err != nil {
		t.Fatalf("%s: GET: %v", name, err)
	}
	e := testenv.DecodeEcho(t, resp)
	if resp.StatusCode != 200 || e.Host != testenv.SeedHost || e.SNI != testenv.SeedHost || e.URI != "/hello?x=1" {
		t.Errorf("%s: GET reached the gateway as %+v (status %d)", name, e, resp.StatusCode)
	}
	body := strings.Repeat("payload-", 4096)
	resp, err = http.Post("http://127.0.0.1:80/submit", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: POST: %v", name, err)
	}
	e = testenv.DecodeEcho(t, resp)
	if e.Method != "POST" || e.BodySHA256 != testenv.SHA256Hex([]byte(body)) || e.SNI != testenv.SeedHost {
		t.Errorf("%s: POST reached the gateway as %+v", name, e)
	}
	// 200 requests on one keep-alive connection, all answered.
	c, err := net.Dial("tcp", "127.0.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 0; i < 200; i++ {
		fmt.Fprintf(c, "GET /ka/%d HTTP/1.1\r\nHost: edge.example\r\n\r\n", i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: keep-alive request %d: %v", name, i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), fmt.Sprintf(`"/ka/%d"`, i)) {
			t.Fatalf("%s: keep-alive request %d: %d %s", name, i, resp.StatusCode, b)
		}
	}
	// The stats page and its CSV on :8404.
	for _, path := range []string{"/stats", "/stats;csv"} {
		resp, err := http.Get("http://127.0.0.1:8404" + path)
		if err != nil {
			t.Fatalf("%s: %s: %v", name, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %s: status %d", name, path, resp.StatusCode)
		}
		if path == "/stats;csv" && !strings.Contains(string(b), "istio-gateway,helloworld,") {
			t.Errorf("%s: CSV lacks the server row:\n%s", name, b)
		}
		if path == "/stats" && resp.Header.Get("Refresh") != "10" && !strings.Contains(string(b), `http-equiv="refresh" content="10"`) {
			t.Errorf("%s: the page does not refresh every 10s", name)
		}
	}
}

// TestSeedFirstConfig runs the seed's config verbatim (binding :80 and
// :8404, the gateway on helloworld.zufardhiyaulhaq.tech:443, mapped to
// loopback) through Gatehouse, then through HAProxy: both must behave.
func TestSeedFirstConfig(t *testing.T) {
	testenv.RequireHostsEntry(t, testenv.SeedHost)
	g := testenv.StartGateway(t, testenv.GatewayOptions{TLSPort: 443})

	gh := testenv.StartGatehouse(t, seedFirstConfig)
	gh.WaitTCP(t, "127.0.0.1:80", 10*time.Second)
	seedChecks(t, "gatehouse", g)
	if code := gh.Stop(); code != 0 {
		t.Errorf("gatehouse exit code %d on SIGTERM\n%s", code, gh.String())
	}
	testenv.WaitTCPClosed(t, "127.0.0.1:80", 10*time.Second)

	h := testenv.StartHAProxy(t, seedFirstConfig)
	seedChecks(t, "haproxy", g)
	h.Stop()
	testenv.WaitTCPClosed(t, "127.0.0.1:80", 10*time.Second)
}

// TestCheckMode is acceptance 2: -c accepts the seed and rejects a
// misspelt section or keyword, naming FILE:LINE.
func TestCheckMode(t *testing.T) {
	if ok, out := testenv.GatehouseCheck(t, seedFirstConfig); !ok {
		t.Fatalf("gatehouse -c rejects the seed config:\n%s", out)
	}
	cases := []struct{ name, cfg, want string }{
		{"section", "frontnd web\n    bind :80\n", `gatehouse.cfg:1] : unknown keyword 'frontnd' out of section; did you mean 'frontend' maybe ?`},
		{"keyword", "defaults\n    mode http\nfrontend web\n    bind :80\n    use_backnd app\nbackend app\n", `gatehouse.cfg:5] : unknown keyword 'use_backnd' in 'frontend' section; did you mean 'use_backend' maybe ?`},
		{"unimplemented", "defaults\n    mode http\nbackend app\n    dispatch 127.0.0.1:8080\n", `gatehouse.cfg:4] : 'dispatch' is a HAProxy keyword that Gatehouse does not implement`},
	}
	for _, tc := range cases {
		ok, out := testenv.GatehouseCheck(t, tc.cfg)
		if ok || !strings.Contains(out, tc.want) {
			t.Errorf("%s: ok=%v, output:\n%s\nwant it to contain %q", tc.name, ok, out, tc.want)
		}
	}
}
