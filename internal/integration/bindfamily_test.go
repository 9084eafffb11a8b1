package integration

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestBindFamiliesLikeHAProxy: which of IPv4 and IPv6 each bind accepts,
// side by side with HAProxy 2.6: '*:P' is IPv4 only; ':::P' follows
// net.ipv6.bindv6only; 'v6only' makes it IPv6 only and wins over 'v4v6',
// which makes it dual-stack; both do nothing on an IPv4 address.
func TestBindFamiliesLikeHAProxy(t *testing.T) {
	if c, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		c.Close()
	}
	binds := []struct{ name, bind string }{
		{"v6only", ":::%d v6only"},
		{"v4v6", ":::%d v4v6"},
		{"both", ":::%d v4v6 v6only"},
		{"star", "*:%d"},
		{"v6-default", ":::%d"},
		{"v4-v6only", "127.0.0.1:%d v6only"},
	}
	got := map[string]string{}
	for _, proxy := range []string{"haproxy", "gatehouse"} {
		ports := map[string]int{}
		var cfg strings.Builder
		cfg.WriteString("defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n")
		for _, b := range binds {
			ports[b.name] = testenv.FreePort(t)
			fmt.Fprintf(&cfg, "frontend %s\n    bind "+b.bind+"\n    http-request return status 200\n", b.name, ports[b.name])
		}
		ready := testenv.FreePort(t)
		fmt.Fprintf(&cfg, "frontend ready\n    bind 127.0.0.1:%d\n    http-request return status 200\n", ready)
		dir := t.TempDir()
		file := filepath.Join(dir, "families.cfg")
		if err := os.WriteFile(file, []byte(cfg.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		bin, args := testenv.GatehouseBinary(t), []string{"-f", file}
		if proxy == "haproxy" {
			bin, args = testenv.RequireBinary(t, "haproxy"), []string{"-f", file, "-db"}
		}
		p := testenv.StartProcess(t, proxy, bin, args...)
		p.WaitTCP(t, fmt.Sprintf("127.0.0.1:%d", ready), 20*time.Second)
		for _, b := range binds {
			v4 := dialVerdict(fmt.Sprintf("127.0.0.1:%d", ports[b.name]))
			v6 := dialVerdict(fmt.Sprintf("[::1]:%d", ports[b.name]))
			got[proxy+" "+b.name] = "v4 " + v4 + ", v6 " + v6
		}
		p.Stop()
	}
	sys := "v4 ok, v6 ok"
	if b, _ := os.ReadFile("/proc/sys/net/ipv6/bindv6only"); strings.TrimSpace(string(b)) == "1" {
		sys = "v4 refused, v6 ok"
	}
	want := map[string]string{
		"v6only": "v4 refused, v6 ok", "v4v6": "v4 ok, v6 ok", "both": "v4 refused, v6 ok",
		"star": "v4 ok, v6 refused", "v6-default": sys, "v4-v6only": "v4 ok, v6 refused",
	}
	for _, b := range binds {
		h, g := got["haproxy "+b.name], got["gatehouse "+b.name]
		if h != want[b.name] || g != h {
			t.Errorf("bind %q: haproxy %s, gatehouse %s, want %s", b.bind, h, g, want[b.name])
		}
	}
}

// dialVerdict is "ok" when a TCP connection to addr opens.
func dialVerdict(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "refused"
	}
	c.Close()
	return "ok"
}
