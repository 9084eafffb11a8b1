package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestMaxconnFDLimitLikeHAProxy: a global maxconn whose descriptors
// (two a connection) exceed the hard RLIMIT_NOFILE stops the start as in
// HAProxy 2.6 (strict-limits is the default), and starts with
// 'no strict-limits'; a maxconn that fits starts in both.
func TestMaxconnFDLimitLikeHAProxy(t *testing.T) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
	if r.Max > 1<<22 {
		t.Skipf("hard RLIMIT_NOFILE %d: no maxconn HAProxy accepts goes past it", r.Max)
	}
	big := int(r.Max/2) + 100
	cases := []struct {
		name, global string
	}{
		{"beyond the hard limit", fmt.Sprintf("maxconn %d", big)},
		{"no strict-limits", fmt.Sprintf("maxconn %d\n    no strict-limits", big)},
		{"fits", "maxconn 100"},
		{"ulimit-n below a need that fits", "maxconn 2000\n    ulimit-n 1000"},
		{"ulimit-n below a need past the hard limit", fmt.Sprintf("maxconn %d\n    ulimit-n 1000", big)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, proxy := range []string{"haproxy", "gatehouse"} {
				port := testenv.FreePort(t)
				cfg := fmt.Sprintf("global\n    %s\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend fe\n    bind 127.0.0.1:%d\n    http-request return status 200\n", tc.global, port)
				file := filepath.Join(t.TempDir(), "fd.cfg")
				if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
					t.Fatal(err)
				}
				bin, args := testenv.GatehouseBinary(t), []string{"-f", file}
				if proxy == "haproxy" {
					bin, args = testenv.RequireBinary(t, "haproxy"), []string{"-f", file, "-db"}
				}
				p := testenv.StartProcess(t, proxy, bin, args...)
				deadline := time.Now().Add(20 * time.Second)
				for got[proxy] == "" {
					switch {
					case p.Exited():
						got[proxy] = "exited"
					case answers(port):
						got[proxy] = "serves"
					case time.Now().After(deadline):
						t.Fatalf("%s neither served nor exited in 20s:\n%s", proxy, p.String())
					default:
						time.Sleep(20 * time.Millisecond)
					}
				}
				p.Stop()
			}
			if got["gatehouse"] != got["haproxy"] {
				t.Errorf("haproxy %s, gatehouse %s", got["haproxy"], got["gatehouse"])
			}
		})
	}
}

// answers reports whether the proxy on port answered a request: a bound
// listener alone is not serving (HAProxy binds, then may exit on the FD
// limit before it accepts anything).
func answers(port int) bool {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}
