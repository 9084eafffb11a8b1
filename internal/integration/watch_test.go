package integration

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// watchedConfigMap is a ConfigMap mounted the kubelet's way: KEY is a
// symlink to ..data/KEY, and ..data to a timestamped directory that an
// update replaces by renaming a new ..data symlink over the old one.
type watchedConfigMap struct {
	t         *testing.T
	dir, prev string
	gen       int
}

func (m *watchedConfigMap) publish(cfg string) {
	m.t.Helper()
	m.gen++
	ts := filepath.Join(m.dir, fmt.Sprintf("..2026_12_07_06_00_%02d.%d", m.gen, m.gen))
	if err := os.Mkdir(ts, 0o755); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, "gatehouse.cfg"), []byte(cfg), 0o644); err != nil {
		m.t.Fatal(err)
	}
	tmp := filepath.Join(m.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		m.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(m.dir, "..data")); err != nil {
		m.t.Fatal(err)
	}
	if m.prev != "" {
		os.RemoveAll(m.prev)
	} else if err := os.Symlink("..data/gatehouse.cfg", filepath.Join(m.dir, "gatehouse.cfg")); err != nil {
		m.t.Fatal(err)
	}
	m.prev = ts
}

// TestWatchReloadsUnderLoad is issue 21's acceptance 3: with -watch,
// Gatehouse reloads when its configuration's content changes, with no
// signal: a ConfigMap update (the kubelet's "..data" swap) and an edit in
// place. Clients send requests all along, on keep-alive connections and
// on a new connection each, and not one may fail. A broken edit keeps the
// running configuration, and every one of its diagnostics is logged.
func TestWatchReloadsUnderLoad(t *testing.T) {
	echo := testenv.StartEchoServer(t)
	port := testenv.FreePort(t)
	addr := testenv.LocalAddr(port)
	cfg := func(version string) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
frontend plain
    bind %s
    http-response set-header X-Config %s
    default_backend echo
backend echo
    server s1 %s
`, addr, version, echo.Addr)
	}
	m := &watchedConfigMap{t: t, dir: t.TempDir()}
	m.publish(cfg("v0"))
	gh := testenv.StartProcess(t, "gatehouse", testenv.GatehouseBinary(t), "-watch", "-f", filepath.Join(m.dir, "gatehouse.cfg"))
	gh.WaitTCP(t, addr, 20*time.Second)

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	version := func() string {
		resp, err := client.Get("http://" + addr + "/status/200")
		if err != nil {
			return "error: " + err.Error()
		}
		resp.Body.Close()
		return resp.Header.Get("X-Config")
	}
	waitVersion := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := version()
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 30s the proxy answers with X-Config %q, want %q:\n%s", got, want, gh.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitVersion("v0")

	var lc loadCounter
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	dial := func() (net.Conn, error) { return net.DialTimeout("tcp", addr, 10*time.Second) }
	keepAlive := func(who string) {
		defer wg.Done()
		var c net.Conn
		var br *bufio.Reader
		defer func() {
			if c != nil {
				c.Close()
			}
		}()
		for !stopped() {
			if c == nil {
				var err error
				if c, err = dial(); err != nil {
					lc.fail(who+" dial", err)
					c = nil
					continue
				}
				br = bufio.NewReader(c)
			}
			closing, err := exchange(c, br, false)
			if err != nil {
				lc.fail(who, err)
			} else {
				lc.ok.Add(1)
			}
			if closing {
				c.Close()
				c = nil
			}
		}
	}
	newConn := func(who string) {
		defer wg.Done()
		for !stopped() {
			c, err := dial()
			if err != nil {
				lc.fail(who+" dial", err)
				continue
			}
			if _, err := exchange(c, bufio.NewReader(c), true); err != nil {
				lc.fail(who, err)
			} else {
				lc.ok.Add(1)
			}
			c.Close()
		}
	}
	for i := 0; i < 3; i++ {
		wg.Add(2)
		go keepAlive(fmt.Sprintf("keep-alive %d", i))
		go newConn(fmt.Sprintf("new-conn %d", i))
	}
	reloads := func() int { return strings.Count(gh.String(), "reload complete") }

	// A ConfigMap update.
	m.publish(cfg("v1"))
	waitVersion("v1")
	// An edit in place of the file the ConfigMap's symlinks lead to.
	real, err := filepath.EvalSymlinks(filepath.Join(m.dir, "gatehouse.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte(cfg("v2")), 0o644); err != nil {
		t.Fatal(err)
	}
	waitVersion("v2")
	done := reloads()

	// A broken update: two errors, both must be logged; v2 keeps serving.
	broken := strings.Replace(cfg("v3"), "http-response set-header", "http-response set-hedaer", 1)
	broken = strings.Replace(broken, "server s1 "+echo.Addr, "server s1 127.0.0.1:notaport", 1)
	m.publish(broken)
	gh.WaitOutput(t, "Loading failure!", 30*time.Second)
	out := gh.String()
	for _, want := range []string{
		"gatehouse.cfg:9] : 'http-response' : unknown action 'set-hedaer'; did you mean 'set-header' maybe ?",
		"gatehouse.cfg:12] : 'server s1' : invalid port 'notaport' in address '127.0.0.1:notaport'",
		"[ALERT] Fatal errors found in configuration.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the failed reload does not log %q:\n%s", want, out)
		}
	}
	for i := 0; i < 5; i++ {
		if v := version(); v != "v2" {
			t.Fatalf("after the broken update the proxy answers X-Config %q, want the running v2", v)
		}
	}
	// Fixed again: the next update loads.
	m.publish(cfg("v4"))
	waitVersion("v4")

	close(stop)
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(60 * time.Second):
		t.Fatal("the clients did not stop within 60s (a request hangs)")
	}
	t.Logf("%d requests, %d failed, %d reloads completed", lc.ok.Load(), lc.failed.Load(), reloads())
	if n := lc.failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed across watched reloads; first:\n%s", n, n+lc.ok.Load(), strings.Join(lc.first, "\n"))
	}
	if n := reloads(); n != done+1 {
		t.Errorf("%d reloads completed after the broken update, want exactly one (v4)", n-done)
	}
	if lc.ok.Load() < 100 {
		t.Errorf("only %d requests succeeded: the load did not run", lc.ok.Load())
	}
	// Counted by its own diagnostic: on a machine slow enough to check the
	// in-place edit between its truncation and its write, that empty file
	// was refused too, which is right.
	if n := strings.Count(gh.String(), "unknown action 'set-hedaer'"); n != 1 {
		t.Errorf("the broken update was reloaded %d times, want once:\n%s", n, gh.String())
	}
}
