package integration

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// seedSecondConfig is the first seed's frontends with the second seed's
// health-checked backend, character for character, plus one log line.
const seedSecondConfig = `global
        log stdout format raw local0
defaults
        mode http
        log global

frontend stats
        bind *:8404
        stats enable
        stats uri /stats
        stats refresh 10s

frontend istio-gateway
        bind *:80
        use_backend istio-gateway

backend istio-gateway
        option httplog
        option httpchk GET / HTTP/1.1\r\nHost:\ helloworld.zufardhiyaulhaq.tech

        http-request set-header Host helloworld.zufardhiyaulhaq.tech
        server helloworld helloworld.zufardhiyaulhaq.tech:443 check check-ssl check-sni helloworld.zufardhiyaulhaq.tech ssl sni str(helloworld.zufardhiyaulhaq.tech) verify none
`

// TestSeedSecondConfig is issue 3's acceptance 1 through the binary: the
// seed's health check (SNI and Host right) gives L7OK/200; the gateway's
// death gives DOWN with L4CON within inter x fall and 503s; it comes back
// UP after rise good checks; state changes are logged as HAProxy logs them.
func TestSeedSecondConfig(t *testing.T) {
	testenv.RequireHostsEntry(t, testenv.SeedHost)
	if !strings.Contains(seedSecondConfig, "option httpchk GET / HTTP/1.1\\r\\nHost:\\ helloworld.zufardhiyaulhaq.tech") {
		t.Fatal("the seed's check line was altered")
	}
	g := testenv.StartGateway(t, testenv.GatewayOptions{TLSPort: 443})
	gh := testenv.StartGatehouse(t, seedSecondConfig)
	gh.WaitTCP(t, "127.0.0.1:80", 10*time.Second)
	defer func() {
		gh.Stop()
		testenv.WaitTCPClosed(t, "127.0.0.1:80", 10*time.Second)
	}()
	row := func() string {
		resp, err := http.Get("http://127.0.0.1:8404/stats;csv")
		if err != nil {
			return ""
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "istio-gateway,helloworld,") {
				return l
			}
		}
		return ""
	}
	field := func(l string, i int) string {
		f := strings.Split(l, ",")
		if len(f) <= i {
			return ""
		}
		return f[i]
	}
	const status, checkStatus, checkCode = 17, 36, 37
	testenv.Eventually(t, 10*time.Second, func() bool {
		l := row()
		return field(l, status) == "UP" && field(l, checkStatus) == "L7OK" && field(l, checkCode) == "200"
	}, "never UP with L7OK/200: %s", row())

	g.Stop()
	downAt := time.Now()
	testenv.Eventually(t, 10*time.Second, func() bool {
		l := row()
		return field(l, status) == "DOWN" && field(l, checkStatus) == "L4CON"
	}, "never DOWN with L4CON: %s", row())
	// inter 2s x fall 3, plus one interval of scheduling slack.
	if d := time.Since(downAt); d > 8*time.Second {
		t.Errorf("DOWN after %v, want within inter x fall (6s)", d)
	}
	resp, err := http.Get("http://127.0.0.1:80/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("with the server down: %d, want 503", resp.StatusCode)
	}
	gh.WaitOutput(t, "Server istio-gateway/helloworld is DOWN, reason: Layer4 connection problem", 5*time.Second)

	g.Start()
	testenv.Eventually(t, 10*time.Second, func() bool {
		l := row()
		return field(l, status) == "UP" && field(l, checkStatus) == "L7OK"
	}, "never back UP: %s", row())
	gh.WaitOutput(t, "Server istio-gateway/helloworld is UP, reason: Layer7 check passed, code: 200", 5*time.Second)
	resp, err = http.Get("http://127.0.0.1:80/again")
	if err != nil {
		t.Fatal(err)
	}
	e := testenv.DecodeEcho(t, resp)
	if e.SNI != testenv.SeedHost || e.Host != testenv.SeedHost {
		t.Errorf("after recovery: %+v", e)
	}
}
