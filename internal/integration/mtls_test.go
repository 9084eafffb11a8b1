package integration

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestMutualTLSToGateway: a gateway in Istio's MUTUAL mode (client
// certificate required) accepts Gatehouse when the server line has "crt",
// verifies the gateway's certificate against ca-file and the SNI, and a
// server line without "crt" is refused by the gateway (502 to the client).
func TestMutualTLSToGateway(t *testing.T) {
	g := testenv.StartGateway(t, testenv.GatewayOptions{ClientAuth: true})
	withCert, withoutCert := testenv.FreePort(t), testenv.FreePort(t)
	gh := testenv.StartGatehouse(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend with-cert
    bind 127.0.0.1:%d
    default_backend mutual
frontend without-cert
    bind 127.0.0.1:%d
    default_backend simple
backend mutual
    http-request set-header Host %s
    server gw 127.0.0.1:%d ssl sni str(%s) verify required ca-file %s crt %s
backend simple
    retries 0
    http-request set-header Host %s
    server gw 127.0.0.1:%d ssl sni str(%s) verify required ca-file %s
`, withCert, withoutCert,
		testenv.SeedHost, g.TLSPort, testenv.SeedHost, g.CAFile, g.ClientCert.PEMFile,
		testenv.SeedHost, g.TLSPort, testenv.SeedHost, g.CAFile))
	gh.WaitTCP(t, testenv.LocalAddr(withCert), 10*time.Second)

	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/mtls", withCert))
	if err != nil {
		t.Fatal(err)
	}
	e := testenv.DecodeEcho(t, resp)
	if resp.StatusCode != 200 || e.SNI != testenv.SeedHost || e.ClientDN == "" {
		t.Errorf("with crt: status %d, echo %+v (the gateway should see the client certificate)", resp.StatusCode, e)
	}
	resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/mtls", withoutCert))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Errorf("without crt the MUTUAL gateway still answered 200")
	}
}
