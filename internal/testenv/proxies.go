package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BindAddrs returns the loopback addresses ("127.0.0.1:PORT") of the TCP `bind`
// lines of an HAProxy-language config, so a helper can wait for them. Wildcard
// and empty hosts (`*:80`, `:80`, `0.0.0.0:80`) map to 127.0.0.1; unix sockets,
// abns@, fd@ and port ranges are skipped.
func BindAddrs(cfg string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(cfg, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "bind" {
			continue
		}
		for _, a := range strings.Split(f[1], ",") {
			if i := strings.Index(a, "@"); i >= 0 {
				if p := a[:i]; p != "ipv4" && p != "ipv6" && p != "tcp" && p != "tcp4" && p != "tcp6" {
					continue
				}
				a = a[i+1:]
			}
			i := strings.LastIndex(a, ":")
			if i < 0 {
				continue
			}
			host, port := a[:i], a[i+1:]
			if _, err := strconv.Atoi(port); err != nil {
				continue
			}
			switch strings.Trim(host, "[]") {
			case "", "*", "0.0.0.0", "::", "127.0.0.1", "localhost":
				host = "127.0.0.1"
			}
			addr := host + ":" + port
			if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
				addr = "[" + host + "]:" + port
			}
			if !seen[addr] {
				seen[addr] = true
				out = append(out, addr)
			}
		}
	}
	return out
}

// HAProxy is a real haproxy started with a config text (`haproxy -f CFG -db`).
// Its stdout and stderr are captured (Process.Output): with
// `log stdout format raw local0` in global, the log lines land there, for
// comparison with gatehouse's.
type HAProxy struct {
	*Process
	ConfigFile string
	Dir        string
}

// StartHAProxy writes cfg to a temporary file, starts haproxy on it, and waits
// until every bind address (BindAddrs) accepts connections. It is stopped on
// cleanup.
func StartHAProxy(t testing.TB, cfg string) *HAProxy {
	t.Helper()
	bin := RequireBinary(t, "haproxy")
	h := &HAProxy{Dir: t.TempDir()}
	h.ConfigFile = filepath.Join(h.Dir, "haproxy.cfg")
	writeFile(t, h.ConfigFile, []byte(cfg))
	h.Process = StartProcess(t, "haproxy", bin, "-f", h.ConfigFile, "-db")
	for _, a := range BindAddrs(cfg) {
		h.WaitTCP(t, a, 10*time.Second)
	}
	return h
}

// HAProxyCheck runs `haproxy -c -f CFG` and returns whether the config is valid
// and haproxy's output (warnings, `parsing [file:line]` alerts).
func HAProxyCheck(t testing.TB, cfg string) (ok bool, output string) {
	t.Helper()
	return runCheck(t, RequireBinary(t, "haproxy"), cfg, "haproxy.cfg")
}

func runCheck(t testing.TB, bin, cfg, name string) (bool, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	writeFile(t, file, []byte(cfg))
	out, err := exec.Command(bin, "-c", "-f", file).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %s -c: %v", bin, err)
	}
	return err == nil, string(out)
}

// Gatehouse is the gatehouse binary started with `-f CFG` (see StartGatehouse).
type Gatehouse struct {
	*Process
	ConfigFile string
	Dir        string
	t          testing.TB
}

var gatehouseBuild struct {
	once sync.Once
	path string
	err  error
}

// GatehouseBinary returns the gatehouse binary for tests: $GATEHOUSE_BIN when
// set (any binary that takes HAProxy's `-f CFG` works, haproxy itself included),
// otherwise ./cmd/gatehouse built once per test process into
// $TMPDIR/gatehouse-testenv/PID (directories of dead test processes are removed).
func GatehouseBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_BIN"); p != "" {
		return p
	}
	b := &gatehouseBuild
	b.once.Do(func() { b.path, b.err = buildGatehouse() })
	if b.err != nil {
		t.Fatalf("building gatehouse: %v", b.err)
	}
	return b.path
}

func buildGatehouse() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	base := filepath.Join(os.TempDir(), "gatehouse-testenv")
	removeStaleBuilds(base)
	dir := filepath.Join(base, strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "gatehouse")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/gatehouse")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gatehouse: %v\n%s", err, b)
	}
	return out, nil
}

func removeStaleBuilds(base string) {
	ents, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
}

// StartGatehouse writes cfg to a temporary file, starts `gatehouse -f CFG ARGS...`
// with its output captured, and waits until every bind address (BindAddrs)
// accepts connections. It is stopped on cleanup.
func StartGatehouse(t testing.TB, cfg string, args ...string) *Gatehouse {
	t.Helper()
	bin := GatehouseBinary(t)
	g := &Gatehouse{Dir: t.TempDir(), t: t}
	g.ConfigFile = filepath.Join(g.Dir, "gatehouse.cfg")
	writeFile(t, g.ConfigFile, []byte(cfg))
	g.Process = StartProcess(t, "gatehouse", bin, append([]string{"-f", g.ConfigFile}, args...)...)
	for _, a := range BindAddrs(cfg) {
		g.WaitTCP(t, a, 10*time.Second)
	}
	return g
}

// WriteConfig replaces the config file (atomically, by rename); follow with Reload.
func (g *Gatehouse) WriteConfig(cfg string) {
	g.t.Helper()
	tmp := g.ConfigFile + ".new"
	writeFile(g.t, tmp, []byte(cfg))
	if err := os.Rename(tmp, g.ConfigFile); err != nil {
		g.t.Fatal(err)
	}
}

// Reload sends SIGHUP (re-read the config).
func (g *Gatehouse) Reload() error { return g.Signal(syscall.SIGHUP) }

// Stop sends SIGTERM and returns the exit code (see Process.Stop).
func (g *Gatehouse) Stop() int { return g.Process.Stop() }

// GatehouseCheck runs `gatehouse -c -f CFG` and returns whether the config is
// valid and the output.
func GatehouseCheck(t testing.TB, cfg string) (ok bool, output string) {
	t.Helper()
	return runCheck(t, GatehouseBinary(t), cfg, "gatehouse.cfg")
}

var statsStatusRE = regexp.MustCompile(`(?m)^([^,#]+),([^,]+),(?:[^,]*,){15}([^,]*),`)

// StatsCSVStatus returns the status column (UP, DOWN, OPEN, no check, ...) for
// each "proxy/server" row of an HAProxy stats CSV (`stats uri` + ";csv").
func StatsCSVStatus(csv string) map[string]string {
	out := map[string]string{}
	for _, m := range statsStatusRE.FindAllStringSubmatch(csv, -1) {
		out[m[1]+"/"+m[2]] = m[3]
	}
	return out
}

// StartSide starts, for a side-by-side test, HAProxy when name is
// "haproxy" and Gatehouse otherwise on the same cfg, and returns how to
// stop it before the test ends.
func StartSide(t testing.TB, name, cfg string) (stop func()) {
	t.Helper()
	if name == "haproxy" {
		h := StartHAProxy(t, cfg)
		return func() { h.Stop() }
	}
	g := StartGatehouse(t, cfg)
	return func() { g.Stop() }
}
