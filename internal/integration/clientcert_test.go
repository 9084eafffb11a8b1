package integration

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// clientCertFetches are the client-certificate and TLS fetches put into
// headers, each compared between HAProxy 2.6 and Gatehouse.
var clientCertFetches = []string{
	"ssl_c_used", "ssl_c_verify", "ssl_c_err", "ssl_c_ca_err", "ssl_c_s_dn", "ssl_c_s_dn(CN)", "ssl_c_s_dn(O,1)", "ssl_c_s_dn(CN,-1)",
	"ssl_c_s_dn(,0,rfc2253)", "ssl_c_i_dn", "ssl_c_i_dn(CN)", "ssl_c_serial,hex", "ssl_c_sha1,hex", "ssl_c_der,base64",
	"ssl_c_notafter", "ssl_c_notbefore", "ssl_c_version", "ssl_c_sig_alg", "ssl_c_key_alg", "ssl_fc_has_crt",
	"ssl_fc_cipher", "ssl_fc_protocol", "ssl_fc_use_keysize", "ssl_fc_alg_keysize", "ssl_fc_is_resumed",
}

// TestClientCertFetchesMatchHAProxy: with "verify optional" and a ca-file,
// the client-certificate fetches put the same values into headers through
// HAProxy 2.6 and Gatehouse, with a certificate and without one; a rule on
// ssl_c_used answers the same; "verify required" refuses a client without
// a certificate in both.
func TestClientCertFetchesMatchHAProxy(t *testing.T) {
	ca := testenv.NewCA(t)
	srvCert := ca.Issue(t, "www.example.com")
	client := ca.IssueClient(t, "alice")
	echo := testenv.StartEchoServer(t)
	var hdrs strings.Builder
	for i, f := range clientCertFetches {
		fmt.Fprintf(&hdrs, "    http-request set-header X-F%02d %%[%s]\n", i, f)
	}
	cfg := func(opt, req int) string {
		return fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend optional
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional
    http-request deny deny_status 403 if { path_beg /need-cert } !{ ssl_c_used }
%s    default_backend echo
frontend required
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify required
    default_backend echo
backend echo
    server e %s
`, opt, srvCert.PEMFile, ca.File, hdrs.String(), req, srvCert.PEMFile, ca.File, echo.Addr)
	}
	hOpt, hReq, gOpt, gReq := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartHAProxy(t, cfg(hOpt, hReq))
	testenv.StartGatehouse(t, cfg(gOpt, gReq))

	get := func(port int, path string, certs ...*testenv.Cert) (int, map[string]string, error) {
		tc := ca.ClientTLS("www.example.com", certs...)
		tc.MaxVersion = tls.VersionTLS12 // the same suite from both: TLS 1.3 suites are Go's choice
		c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
		resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d%s", port, path))
		if err != nil {
			return 0, nil, err
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			return resp.StatusCode, nil, nil
		}
		e := testenv.DecodeEcho(t, resp)
		out := map[string]string{}
		for i := range clientCertFetches {
			out[fmt.Sprintf("X-F%02d", i)] = strings.Join(e.Headers[fmt.Sprintf("X-F%02d", i)], "|")
		}
		return resp.StatusCode, out, nil
	}
	for _, withCert := range []bool{true, false} {
		var certs []*testenv.Cert
		if withCert {
			certs = append(certs, client)
		}
		hs, hv, herr := get(hOpt, "/", certs...)
		gs, gv, gerr := get(gOpt, "/", certs...)
		if herr != nil || gerr != nil || hs != 200 || gs != 200 {
			t.Fatalf("cert=%v: HAProxy %d %v, Gatehouse %d %v", withCert, hs, herr, gs, gerr)
		}
		for i, f := range clientCertFetches {
			k := fmt.Sprintf("X-F%02d", i)
			if hv[k] != gv[k] {
				t.Errorf("cert=%v %s: HAProxy %q, Gatehouse %q", withCert, f, hv[k], gv[k])
			}
		}
		t.Logf("cert=%v: %v", withCert, hv)
		if withCert && (hv["X-F00"] != "1" || hv["X-F05"] != "alice") {
			t.Errorf("HAProxy did not see the certificate: %v", hv)
		}
		hs, _, _ = get(hOpt, "/need-cert", certs...)
		gs, _, _ = get(gOpt, "/need-cert", certs...)
		if hs != gs {
			t.Errorf("cert=%v: rule on ssl_c_used: HAProxy %d, Gatehouse %d", withCert, hs, gs)
		}
	}
	_, _, herr := get(hReq, "/")
	_, _, gerr := get(gReq, "/")
	if herr == nil || gerr == nil {
		t.Errorf("verify required without a certificate: HAProxy err %v, Gatehouse err %v", herr, gerr)
	}
	if s, _, err := get(gReq, "/", client); err != nil || s != 200 {
		t.Errorf("verify required with a certificate: %d %v", s, err)
	}
}
