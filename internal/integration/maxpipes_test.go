package integration

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// startTCPEcho answers every connection with what it sends.
func startTCPEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

var infoField = regexp.MustCompile(`(?m)^(Maxpipes|PipesUsed|PipesFree): (\d+)$`)

// TestMaxpipesLikeHAProxy: 'show info' reports the maxpipes HAProxy 2.6
// reports, configured or computed from the splicing proxies' limits, and
// a spliced tunnel still carries every byte both ways when maxpipes
// leaves it fewer pipes than it would use (it copies instead).
func TestMaxpipesLikeHAProxy(t *testing.T) {
	echo := startTCPEcho(t)
	cases := []struct {
		name, global, listen string
		want                 int
	}{
		{"configured", "maxconn 100\n    maxpipes 1", "option splice-auto", 1},
		{"computed", "maxconn 100", "option splice-auto\n    maxconn 40", 25},
		{"frontend sum", "maxconn 1000", "option splice-auto\n    maxconn 40\n    fullconn 12", 10},
		{"no splicing", "maxconn 100", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, proxy := range []string{"haproxy", "gatehouse"} {
				dir := t.TempDir()
				sock := filepath.Join(dir, "api.sock")
				port := testenv.FreePort(t)
				cfg := fmt.Sprintf(`global
    %s
    stats socket %s level admin
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen tun
    bind 127.0.0.1:%d
    %s
    server echo %s
`, tc.global, sock, port, tc.listen, echo)
				if proxy == "haproxy" {
					testenv.StartHAProxy(t, cfg)
				} else {
					testenv.StartGatehouse(t, cfg)
				}
				c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				payload := make([]byte, 4<<20)
				rand.Read(payload)
				c.SetDeadline(time.Now().Add(30 * time.Second))
				go func() { c.Write(payload) }()
				back := make([]byte, len(payload))
				if _, err := io.ReadFull(c, back); err != nil || !bytes.Equal(back, payload) {
					t.Fatalf("%s: the tunnel lost bytes (err %v)", proxy, err)
				}
				info := apiCLI(t, sock, "show info")
				c.Close()
				fields := map[string]int{}
				for _, m := range infoField.FindAllStringSubmatch(info, -1) {
					fields[m[1]], _ = strconv.Atoi(m[2])
				}
				if _, ok := fields["Maxpipes"]; !ok {
					t.Fatalf("%s: no Maxpipes in show info:\n%s", proxy, info)
				}
				if fields["PipesUsed"]+fields["PipesFree"] > max(fields["Maxpipes"], 0) {
					t.Errorf("%s: %d pipes used and %d free, beyond maxpipes %d", proxy, fields["PipesUsed"], fields["PipesFree"], fields["Maxpipes"])
				}
				got[proxy] = strconv.Itoa(fields["Maxpipes"])
			}
			if got["haproxy"] != strconv.Itoa(tc.want) || got["gatehouse"] != got["haproxy"] {
				t.Errorf("Maxpipes: haproxy %s, gatehouse %s, want %d", got["haproxy"], got["gatehouse"], tc.want)
			}
		})
	}
}
