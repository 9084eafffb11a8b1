package integration

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestDefaultPathLikeHAProxy: under each default-path mode, a relative
// 'http-request return ... file' and 'errorfile' are read from the
// directory HAProxy 2.6 reads them from (the configuration's, its
// parent, the origin), side by side.
func TestDefaultPathLikeHAProxy(t *testing.T) {
	for _, mode := range []string{"config", "parent", "origin"} {
		t.Run(mode, func(t *testing.T) {
			root := t.TempDir()
			dirs := map[string]string{"config": filepath.Join(root, "conf"), "parent": root, "origin": filepath.Join(root, "origin")}
			for name, d := range dirs {
				os.MkdirAll(d, 0o755)
				os.WriteFile(filepath.Join(d, "body.txt"), []byte("body from "+name), 0o644)
				os.WriteFile(filepath.Join(d, "503.http"), []byte("HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\n503 from "+name), 0o644)
			}
			arg := mode
			if mode == "origin" {
				arg = "origin " + dirs["origin"]
			}
			got := map[string]string{}
			for _, proxy := range []string{"haproxy", "gatehouse"} {
				port, port2 := testenv.FreePort(t), testenv.FreePort(t)
				cfg := fmt.Sprintf(`global
    default-path %s
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain file body.txt
frontend fe2
    bind 127.0.0.1:%d
    errorfile 503 503.http
    default_backend none
backend none
`, arg, port, port2)
				file := filepath.Join(dirs["config"], "haproxy.cfg")
				if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
					t.Fatal(err)
				}
				bin, args := testenv.GatehouseBinary(t), []string{"-f", file}
				if proxy == "haproxy" {
					bin, args = testenv.RequireBinary(t, "haproxy"), []string{"-f", file, "-db"}
				}
				p := testenv.StartProcess(t, proxy, bin, args...)
				p.WaitTCP(t, fmt.Sprintf("127.0.0.1:%d", port), 20*time.Second)
				p.WaitTCP(t, fmt.Sprintf("127.0.0.1:%d", port2), 20*time.Second)
				got[proxy] = getBody(t, port) + " | " + getBody(t, port2)
				p.Stop()
			}
			want := "body from " + mode + " | 503 from " + mode
			if got["haproxy"] != want || got["gatehouse"] != want {
				t.Errorf("haproxy %q, gatehouse %q, want %q", got["haproxy"], got["gatehouse"], want)
			}
		})
	}
}

func getBody(t *testing.T, port int) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
