package testenv

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// seedConfig is the first config of seeds/000 (the blog post on Istio behind
// HAProxy), with only the ports changed to the test's, plus the log line.
func seedConfig(statsPort, fePort, gwPort int) string {
	return fmt.Sprintf(`global
        log stdout format raw local0
defaults
        mode http
        log global
        option httplog
        timeout connect 5s
        timeout client 30s
        timeout server 30s

frontend stats
        bind *:%d
        stats enable
        stats uri /stats
        stats refresh 10s

frontend istio-gateway
        bind *:%d
        use_backend istio-gateway

backend istio-gateway
        http-request set-header Host helloworld.zufardhiyaulhaq.tech
        server helloworld helloworld.zufardhiyaulhaq.tech:%d ssl sni str(helloworld.zufardhiyaulhaq.tech) verify none
`, statsPort, fePort, gwPort)
}

func TestHAProxySeedConfigThroughGateway(t *testing.T) {
	RequireHostsEntry(t, SeedHost)
	g := StartGateway(t, GatewayOptions{})
	statsPort, fePort := FreePort(t), FreePort(t)
	cfg := seedConfig(statsPort, fePort, g.TLSPort)
	if ok, out := HAProxyCheck(t, cfg); !ok {
		t.Fatalf("haproxy -c rejects the seed config:\n%s", out)
	}
	h := StartHAProxy(t, cfg)

	// Any Host from the client: HAProxy sets the one the gateway routes on, and
	// sends the SNI the gateway insists on.
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/via/haproxy", fePort), "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	e := DecodeEcho(t, resp)
	if e.Host != SeedHost || e.SNI != SeedHost || e.URI != "/via/haproxy" || e.BodySHA256 != SHA256Hex([]byte("payload")) {
		t.Errorf("echo through haproxy: %+v", e)
	}
	g.WaitAccess(t, 5*time.Second, func(a AccessEntry) bool { return a.Request == "POST /via/haproxy HTTP/1.1" && a.SNI == SeedHost })
	// httplog line on haproxy's stdout.
	h.WaitOutput(t, `istio-gateway istio-gateway/helloworld`, 5*time.Second)
	if !strings.Contains(h.Stdout(), `"POST /via/haproxy HTTP/1.1"`) {
		t.Errorf("haproxy log lacks the request line:\n%s", h.Stdout())
	}
}

func TestHAProxyHealthCheckFollowsGateway(t *testing.T) {
	RequireHostsEntry(t, SeedHost)
	g := StartGateway(t, GatewayOptions{})
	statsPort, fePort := FreePort(t), FreePort(t)
	// The seed's second (health-checked) backend, verifying the gateway's
	// certificate against the test CA instead of `verify none`.
	cfg := fmt.Sprintf(`global
defaults
        mode http
        timeout connect 2s
        timeout client 30s
        timeout server 30s
        timeout check 2s

frontend stats
        bind 127.0.0.1:%d
        stats enable
        stats uri /stats

frontend istio-gateway
        bind 127.0.0.1:%d
        use_backend istio-gateway

backend istio-gateway
        option httpchk GET /healthz HTTP/1.1\r\nHost:\ helloworld.zufardhiyaulhaq.tech
        http-request set-header Host helloworld.zufardhiyaulhaq.tech
        server helloworld helloworld.zufardhiyaulhaq.tech:%d check inter 100 fall 1 rise 1 check-ssl check-sni helloworld.zufardhiyaulhaq.tech ssl sni str(helloworld.zufardhiyaulhaq.tech) verify required ca-file %s
`, statsPort, fePort, g.TLSPort, g.CAFile)
	StartHAProxy(t, cfg)
	status := func() string {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stats;csv", statsPort))
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return StatsCSVStatus(string(b))["istio-gateway/helloworld"]
	}
	waitStatus := func(want string) {
		t.Helper()
		Eventually(t, 10*time.Second, func() bool { return strings.HasPrefix(status(), want) }, "server status %q, want %s", lazyString(status), want)
	}
	waitStatus("UP")
	g.Stop()
	waitStatus("DOWN")
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", fePort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("with the gateway down: status %d, want 503", resp.StatusCode)
	}
	g.Start()
	waitStatus("UP")
	resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/back", fePort))
	if err != nil {
		t.Fatal(err)
	}
	if e := DecodeEcho(t, resp); e.URI != "/back" {
		t.Errorf("uri %q", e.URI)
	}
}

func TestHAProxyCheck(t *testing.T) {
	ok, out := HAProxyCheck(t, "defaults\n  mode http\nfrontend f\n  bind 127.0.0.1:1\n  use_bakend x\n")
	if ok {
		t.Fatalf("a misspelt keyword passed haproxy -c:\n%s", out)
	}
	if !strings.Contains(out, "parsing [") {
		t.Errorf("no position in haproxy's diagnostic:\n%s", out)
	}
}

// TestGatehouseHelperWithHAProxy runs the Gatehouse helper against haproxy
// (GATEHOUSE_BIN accepts any binary taking -f), exercising start, reload and stop.
func TestGatehouseHelperWithHAProxy(t *testing.T) {
	t.Setenv("GATEHOUSE_BIN", RequireBinary(t, "haproxy"))
	g := StartGateway(t, GatewayOptions{})
	port := FreePort(t)
	cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    default_backend gw
backend gw
    http-request set-header Host %s
    server s1 127.0.0.1:%d ssl sni str(%s) verify required ca-file %s
`, port, SeedHost, g.TLSPort, SeedHost, g.CAFile)
	gh := StartGatehouse(t, cfg)
	get := func() int {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != 200 {
		t.Fatalf("status %d", s)
	}
	gh.WriteConfig(cfg)
	if err := gh.Reload(); err != nil { // haproxy (not master-worker) dumps state on SIGHUP and keeps running
		t.Fatal(err)
	}
	if s := get(); s != 200 || gh.Exited() {
		t.Fatalf("after SIGHUP: status %d, exited %v", s, gh.Exited())
	}
	code := gh.Stop()
	if code == -1 || !gh.Exited() {
		t.Fatalf("Stop: code %d", code)
	}
	WaitTCPClosed(t, LocalAddr(port), 5*time.Second)
	if got := gh.Stop(); got != code {
		t.Errorf("second Stop: %d, want %d", got, code)
	}
}

func TestBindAddrs(t *testing.T) {
	cfg := `frontend a
  bind *:80
  bind :81 ssl crt /x.pem
  bind 127.0.0.1:82,0.0.0.0:83
  bind ipv4@10.1.2.3:84
  bind unix@/tmp/s
  bind /var/run/x.sock
  # bind 1.1.1.1:85
  bind *:80
`
	want := []string{"127.0.0.1:80", "127.0.0.1:81", "127.0.0.1:82", "127.0.0.1:83", "10.1.2.3:84"}
	if got := BindAddrs(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("BindAddrs = %q, want %q", got, want)
	}
}

func TestStatsCSVStatus(t *testing.T) {
	csv := "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight\n" +
		"be,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1\n" +
		"be,s2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN 1/2,1\n"
	got := StatsCSVStatus(csv)
	if got["be/s1"] != "UP" || got["be/s2"] != "DOWN 1/2" || len(got) != 2 {
		t.Errorf("StatsCSVStatus = %v", got)
	}
}
