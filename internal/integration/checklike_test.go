package integration

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// checkLikeCases are configurations of the issue-18 keywords that both
// proxies must accept or both refuse, and whether HAProxy 2.6 warns.
var checkLikeCases = []struct {
	name, global, proxy string
	ok, warn            bool
}{
	{name: "stats bind-process 1", global: "stats bind-process 1", ok: true},
	{name: "stats bind-process all odd even", global: "stats bind-process odd even", ok: true},
	{name: "stats bind-process 1-", global: "stats bind-process 1-", ok: true},
	{name: "stats bind-process 2", global: "stats bind-process 2"},
	{name: "stats bind-process 1-2", global: "stats bind-process 1-2"},
	{name: "stats bind-process x", global: "stats bind-process x"},
}

// TestCheckLikeHAProxy runs 'haproxy -c' and 'gatehouse -c' on each case:
// the same verdict, and a warning from both or from neither.
func TestCheckLikeHAProxy(t *testing.T) {
	haproxy := testenv.RequireBinary(t, "haproxy")
	gatehouse := testenv.GatehouseBinary(t)
	for _, c := range checkLikeCases {
		t.Run(c.name, func(t *testing.T) {
			cfg := "global\n    " + c.global + "\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
				"frontend fe\n    bind 127.0.0.1:1\n    " + c.proxy + "\n    http-request return status 200\n"
			dir := t.TempDir()
			hok, _, hout := checkWithEnv(t, haproxy, dir, cfg, nil)
			gok, _, gout := checkWithEnv(t, gatehouse, dir, cfg, nil)
			if hok != c.ok {
				t.Fatalf("haproxy -c: accepted=%v, the case expects %v:\n%s", hok, c.ok, hout)
			}
			if gok != hok {
				t.Errorf("gatehouse -c accepted=%v, haproxy -c accepted=%v\ngatehouse:\n%s\nhaproxy:\n%s", gok, hok, gout, hout)
			}
			if hw, gw := strings.Contains(hout, "[WARNING]"), strings.Contains(gout, "[WARNING]"); hok && (hw != c.warn || gw != hw) {
				t.Errorf("warnings: haproxy %v, gatehouse %v, the case expects %v\ngatehouse:\n%s\nhaproxy:\n%s", hw, gw, c.warn, gout, hout)
			}
		})
	}
}
