package integration

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestCookieAndBaseFetchesMatchHAProxy: res.cook, res.cook_cnt,
// res.cook_val, req.cook_val, cook_val, base32, base32+src and
// http_first_req give HAProxy 2.6's values (base32's hash included).
func TestCookieAndBaseFetchesMatchHAProxy(t *testing.T) {
	cfg := func(e ruleEnv) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    http-request set-header X-B "%%[base32]|%%[base32+src,hex]|%%[http_first_req]|%%[req.cook_val(n)]|%%[cook_val(a)]"
    http-response set-header X-C "%%[res.cook(SRV)]|%%[res.cook_cnt(SRV)]|%%[res.cook_val(SRV)]|%%[res.cook]|%%[scook_cnt(none)]"
    default_backend be

backend be
    server s1 %s
`, e.Port, e.Server)
	}
	cases := []ruleCase{
		{name: "plain", raw: "GET /a/b?c HTTP/1.1\r\nHost: app.example\r\nCookie: a=x1; n=42; n=-7z\r\n\r\n"},
		{name: "absolute", raw: "GET http://app.example:8080/p HTTP/1.1\r\nHost: app.example:8080\r\n\r\n"},
		{name: "host with port and query", raw: "GET /?x HTTP/1.1\r\nHost: App.Example:81\r\n\r\n"},
	}
	compareRules(t, cfg, cases, []string{"X-C"}, []string{"x-b"}, false)
}

// TestHTTPFirstReqMatchesHAProxy: http_first_req is true for the first
// request of a keep-alive connection only.
func TestHTTPFirstReqMatchesHAProxy(t *testing.T) {
	out := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain lf-string "first=%%[http_first_req]"
`, port)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		ec := dialEdge(t, port)
		for i := 0; i < 3; i++ {
			ec.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			_, body := ec.response(http.MethodGet)
			out[name] += body + " "
		}
	}
	if out["haproxy"] != out["gatehouse"] || out["haproxy"] != "first=1 first=0 first=0 " {
		t.Errorf("haproxy %q, gatehouse %q", out["haproxy"], out["gatehouse"])
	}
}
