package integration

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestOriginalToLikeHAProxy: option originalto adds the address the
// client connected to, in the frontend or the backend, under the
// backend's header name when both have it, not when the address is in an
// except network; side by side with HAProxy 2.6 through an echo server.
func TestOriginalToLikeHAProxy(t *testing.T) {
	web := testenv.StartEchoServer(t)
	cases := []struct{ name, fe, be string }{
		{"frontend", "option originalto", ""},
		{"backend header", "", "option originalto header X-Dst"},
		{"except", "option originalto except 127.0.0.0/8", ""},
		{"both", "option originalto header X-FE", "option originalto header X-BE"},
		{"backend except", "option originalto", "option originalto except 127.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := map[string]string{}
			for _, proxy := range []string{"haproxy", "gatehouse"} {
				port := testenv.FreePort(t)
				cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    %s
    default_backend be
backend be
    %s
    server web %s
`, port, c.fe, c.be, web.Addr)
				if proxy == "haproxy" {
					testenv.StartHAProxy(t, cfg)
				} else {
					testenv.StartGatehouse(t, cfg)
				}
				cl := &http.Client{Timeout: 10 * time.Second}
				resp, err := cl.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
				if err != nil {
					t.Fatal(err)
				}
				e := testenv.DecodeEcho(t, resp)
				var hs []string
				for k, v := range e.Headers {
					if k == "X-Original-To" || k == "X-Dst" || k == "X-Fe" || k == "X-Be" {
						hs = append(hs, k+": "+strings.Join(v, ","))
					}
				}
				sort.Strings(hs)
				got[proxy] = strings.Join(hs, "; ")
			}
			if got["haproxy"] != got["gatehouse"] {
				t.Errorf("haproxy %q, gatehouse %q", got["haproxy"], got["gatehouse"])
			}
			t.Logf("%s: %q", c.name, got["haproxy"])
		})
	}
}
