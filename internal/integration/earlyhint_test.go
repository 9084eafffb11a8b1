package integration

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestEarlyHintMatchesHAProxy: early-hint rules send 103 Early Hints
// answers with their fields before the final answer, one for a rule and
// the unconditional early-hint rules right after it, nothing to an
// HTTP/1.0 client, as HAProxy 2.6.
func TestEarlyHintMatchesHAProxy(t *testing.T) {
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
    http-request early-hint Link "</style.css>; rel=preload; as=style"
    http-request early-hint Link "</app.js>; rel=preload; as=script" if { path /two }
    http-request early-hint X-Path %%[path]
    http-request set-header X-A b
    http-request early-hint Link "</late.css>; rel=preload" if { path /two }
    http-request return status 200 content-type text/plain string done
`, port)
		if name == "haproxy" {
			testenv.StartHAProxy(t, cfg)
		} else {
			testenv.StartGatehouse(t, cfg)
		}
		var got []string
		for _, req := range []string{"GET /one HTTP/1.1\r\nHost: h\r\n\r\n", "GET /two HTTP/1.1\r\nHost: h\r\n\r\n", "GET /two HTTP/1.0\r\n\r\n"} {
			ec := dialEdge(t, port)
			ec.send(req)
			var seq []string
			for {
				resp, err := http.ReadResponse(ec.br, &http.Request{Method: "GET"})
				if err != nil {
					t.Fatalf("%s: %q: %v", name, req, err)
				}
				var hs []string
				for _, k := range []string{"Link", "X-Path"} {
					for _, v := range resp.Header.Values(k) {
						hs = append(hs, k+": "+v)
					}
				}
				sort.Strings(hs)
				seq = append(seq, fmt.Sprintf("%d[%s]", resp.StatusCode, strings.Join(hs, "; ")))
				if resp.StatusCode >= 200 {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					break
				}
			}
			got = append(got, strings.Join(seq, " "))
		}
		out[name] = strings.Join(got, "\n")
	}
	t.Logf("haproxy:\n%s\ngatehouse:\n%s", out["haproxy"], out["gatehouse"])
	if out["haproxy"] != out["gatehouse"] {
		t.Error("answers differ")
	}
}
