package integration

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestRequestIDReachesMeshAndLog is issue 3's acceptance 4: an
// x-request-id and a traceparent generated at the edge reach the gateway
// and appear in the edge's log line (httplog with captures, and %ID in a
// custom log-format).
func TestRequestIDReachesMeshAndLog(t *testing.T) {
	g := testenv.StartGateway(t, testenv.GatewayOptions{})
	port := testenv.FreePort(t)
	gh := testenv.StartGatehouse(t, fmt.Sprintf(`
global
    log stdout format raw local0

defaults
    mode http
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend web
    bind 127.0.0.1:%d
    log-format "%%ci [%%tr] %%ft %%b/%%s %%ST id=%%ID tp=%%[req.hdr(traceparent)] %%{+Q}r"
    default_backend mesh

backend mesh
    http-request set-header Host %s
    server gw 127.0.0.1:%d ssl sni str(%s) verify required ca-file %s
`, port, testenv.SeedHost, g.TLSPort, testenv.SeedHost, g.CAFile))
	gh.WaitTCP(t, testenv.LocalAddr(port), 10*time.Second)
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/trace-me", port), nil)
	req.Header.Set("X-Request-Id", "spoofed-by-client")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	e := testenv.DecodeEcho(t, resp)
	ids := e.Headers["X-Request-Id"]
	tps := e.Headers["Traceparent"]
	if len(ids) != 1 || ids[0] == "spoofed-by-client" || len(tps) != 1 {
		t.Fatalf("the gateway received X-Request-Id %v, traceparent %v", ids, tps)
	}
	line := regexp.MustCompile(`id=(\S+) tp=(\S+) "GET /trace-me HTTP/1.1"`)
	var m []string
	testenv.Eventually(t, 30*time.Second, func() bool {
		m = line.FindStringSubmatch(gh.Stdout())
		return m != nil
	}, "no log line for the request:\n%s", gh.Stdout())
	if m[1] != ids[0] || m[2] != tps[0] {
		t.Errorf("log shows id=%s tp=%s; the gateway got %s and %s", m[1], m[2], ids[0], tps[0])
	}
	if !strings.HasPrefix(tps[0], "00-") {
		t.Errorf("traceparent %q", tps[0])
	}
}
