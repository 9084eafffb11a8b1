package integration

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestUseProxyHeaderAsHAProxy: option http-use-proxy-header, side by side
// with HAProxy 2.6: a proxied request (absolute-form) is challenged with
// 407 and Proxy-Authenticate and authenticates with Proxy-Authorization;
// an origin-form one keeps 401, WWW-Authenticate and Authorization.
func TestUseProxyHeaderAsHAProxy(t *testing.T) {
	creds := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:secret"))
	reqs := []string{
		"GET /x HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http://h/x HTTP/1.1\r\nHost: h\r\nProxy-Authorization: " + creds + "\r\n\r\n",
		"GET http://h/x HTTP/1.1\r\nHost: h\r\nAuthorization: " + creds + "\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nAuthorization: " + creds + "\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nProxy-Authorization: " + creds + "\r\n\r\n",
	}
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf(`userlist users
    user alice insecure-password secret

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    option http-use-proxy-header
    http-request auth realm R unless { http_auth(users) }
    http-request return status 200 content-type text/plain lf-string "user=%%[http_auth_user]"
`, port)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		for _, r := range reqs {
			c, err := net.Dial("tcp", testenv.LocalAddr(port))
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, r)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, r, err)
			}
			body, _ := io.ReadAll(resp.Body)
			c.Close()
			var auth []string
			for k, v := range resp.Header {
				if strings.HasSuffix(k, "-Authenticate") {
					auth = append(auth, k+": "+strings.Join(v, ","))
				}
			}
			sort.Strings(auth)
			out := fmt.Sprintf("%d %s", resp.StatusCode, strings.Join(auth, "; "))
			if resp.StatusCode == 200 {
				out += " " + strings.TrimSpace(string(body))
			}
			results[name] = append(results[name], out)
		}
	}
	want := []string{
		`401 Www-Authenticate: Basic realm="R"`,
		`407 Proxy-Authenticate: Basic realm="R"`,
		`200  user=alice`,
		`407 Proxy-Authenticate: Basic realm="R"`,
		`200  user=alice`,
		`401 Www-Authenticate: Basic realm="R"`,
	}
	for i, r := range reqs {
		h, g := results["haproxy"][i], results["gatehouse"][i]
		if h != g || g != want[i] {
			t.Errorf("%q:\n   haproxy: %s\n gatehouse: %s\n      want: %s", r, h, g, want[i])
		}
	}
}
