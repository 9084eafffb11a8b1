package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// privPorts finds n free loopback ports below 1024, which only root binds.
func privPorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	for p := 1023; p > 600 && len(out) < n; p-- {
		ln, err := net.Listen("tcp", testenv.LocalAddr(p))
		if err == nil {
			ln.Close()
			out = append(out, p)
		}
	}
	if len(out) < n {
		t.Fatal("not enough free ports below 1024")
	}
	return out
}

// worldDir is a directory the dropped user can read (t.TempDir is 0700).
func worldDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "gh-priv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func writeWorld(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// idLines returns the Uid, Gid and Groups lines of every thread of pid.
func idLines(t *testing.T, pid int) []string {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			continue // a thread that just ended
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Uid:") || strings.HasPrefix(l, "Gid:") || strings.HasPrefix(l, "Groups:") {
				out = append(out, strings.Join(strings.Fields(l), " "))
			}
		}
	}
	return out
}

func body(t *testing.T, port int) string {
	t.Helper()
	return getPath(t, port, "/")
}

func getPath(t *testing.T, port int, path string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		t.Fatalf("GET :%d: %v", port, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func runtimeCmd(t *testing.T, sock, cmd string) string {
	t.Helper()
	out, err := runtimeCmdErr(sock, cmd)
	if err != nil {
		t.Fatalf("runtime API %s: %v", sock, err)
	}
	return out
}

func runtimeCmdErr(sock, cmd string) (string, error) {
	c, err := net.DialTimeout("unix", sock, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, cmd+"\n")
	b, err := io.ReadAll(c)
	return string(b), err
}

func privConfig(jail, pidfile, text string, statsPort int, ports ...int) string {
	var binds strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&binds, "    bind 127.0.0.1:%d\n", p)
	}
	return fmt.Sprintf(`global
    user nobody
    group nogroup
    chroot %s
    pidfile %s
    ulimit-n 4096
    node edge-1
    description the edge
    stats socket %s/admin.sock level admin
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 5s
frontend web
%s    http-request return status 200 content-type text/plain string %s
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, jail, pidfile, jail, binds.String(), text, statsPort)
}

// TestPrivilegeDropSideBySide: Debian's way of running HAProxy (started as
// root, 'user'/'group'/'chroot'/'pidfile'/'ulimit-n', a port below 1024)
// leaves Gatehouse as it leaves HAProxy 2.6: every thread as nobody:nogroup
// without supplementary groups, rooted in the jail, the pidfile written,
// RLIMIT_NOFILE set and reported by 'show info'. Then a reload keeps
// serving, a reload that needs root (a new port below 1024, another user)
// fails saying why and keeps the old configuration, and a new process
// started with -sf binds beside the old one and makes it leave.
func TestPrivilegeDropSideBySide(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	ports := privPorts(t, 3)
	ghStats, haStats := testenv.FreePort(t), testenv.FreePort(t)
	ghDir, haDir := worldDir(t), worldDir(t)
	ghJail, haJail := filepath.Join(ghDir, "jail"), filepath.Join(haDir, "jail")
	for _, d := range []string{ghJail, haJail} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The configuration lives inside the jail, so a reload finds it there.
	ghCfg := filepath.Join(ghJail, "gatehouse.cfg")
	ghPid := filepath.Join(ghDir, "gh.pid")
	writeWorld(t, ghCfg, privConfig(ghJail, ghPid, "one", ghStats, ports[0]))
	gh := testenv.StartProcess(t, "gatehouse", testenv.GatehouseBinary(t), "-f", ghCfg)
	gh.WaitTCP(t, testenv.LocalAddr(ports[0]), 20*time.Second)

	haCfg := filepath.Join(haDir, "haproxy.cfg")
	writeWorld(t, haCfg, privConfig(haJail, filepath.Join(haDir, "ha.pid"), "one", haStats, ports[1]))
	ha := testenv.StartProcess(t, "haproxy", testenv.RequireBinary(t, "haproxy"), "-db", "-f", haCfg)
	ha.WaitTCP(t, testenv.LocalAddr(ports[1]), 20*time.Second)

	ghPID, haPID := gh.Cmd.Process.Pid, ha.Cmd.Process.Pid
	testenv.Eventually(t, 20*time.Second, func() bool {
		b, _ := os.ReadFile(ghPid)
		return string(b) == strconv.Itoa(ghPID)+"\n"
	}, "gatehouse's pidfile never held its pid")
	var ghIDs, haIDs []string
	testenv.Eventually(t, 20*time.Second, func() bool {
		ghIDs, haIDs = idLines(t, ghPID), idLines(t, haPID)
		return len(ghIDs) > 0 && len(haIDs) > 0 && ghIDs[0] == haIDs[0]
	}, "identities differ")
	want := map[string]bool{"Uid: 65534 65534 65534 65534": true, "Gid: 65534 65534 65534 65534": true, "Groups:": true}
	for name, ids := range map[string][]string{"gatehouse": ghIDs, "haproxy": haIDs} {
		for _, l := range ids {
			if !want[l] {
				t.Errorf("%s thread: %q, want nobody:nogroup everywhere", name, l)
			}
		}
	}
	for name, c := range map[string]struct {
		pid  int
		jail string
	}{"gatehouse": {ghPID, ghJail}, "haproxy": {haPID, haJail}} {
		if root, err := os.Readlink(fmt.Sprintf("/proc/%d/root", c.pid)); err != nil || root != c.jail {
			t.Errorf("%s root = %q (%v), want %q", name, root, err, c.jail)
		}
	}
	infoGH := runtimeCmd(t, filepath.Join(ghJail, "admin.sock"), "show info")
	infoHA := runtimeCmd(t, filepath.Join(haJail, "admin.sock"), "show info")
	for _, f := range []string{"Ulimit-n: 4096", "node: edge-1", "description: the edge"} {
		if !strings.Contains(infoGH, "\n"+f+"\n") || !strings.Contains(infoHA, "\n"+f+"\n") {
			t.Errorf("show info %q: gatehouse has it: %v, haproxy has it: %v", f,
				strings.Contains(infoGH, "\n"+f+"\n"), strings.Contains(infoHA, "\n"+f+"\n"))
		}
	}
	for name, port := range map[string]int{"gatehouse": ghStats, "haproxy": haStats} {
		page := getPath(t, port, "/stats")
		if !strings.Contains(page, "ulimit-n = 4096") {
			t.Errorf("%s stats page does not report ulimit-n = 4096", name)
		}
	}
	if got := body(t, ports[0]); got != "one" {
		t.Fatalf("before reload: %q", got)
	}

	// A reload after the drop reads the configuration inside the jail.
	writeWorld(t, ghCfg, privConfig(ghJail, ghPid, "two", ghStats, ports[0]))
	gh.Signal(syscall.SIGHUP)
	testenv.Eventually(t, 20*time.Second, func() bool { return body(t, ports[0]) == "two" }, "the reload after the drop never applied")

	// A new port below 1024 needs root: refused, said why, old one serves.
	writeWorld(t, ghCfg, privConfig(ghJail, ghPid, "three", ghStats, ports[0], ports[2]))
	gh.Signal(syscall.SIGUSR2)
	gh.WaitOutput(t, "reload failed", 20*time.Second)
	out := gh.String()
	for _, want := range []string{"cannot bind socket", "permission denied", "this process runs with uid 65534, gid 65534, chrooted in " + ghJail, "-sf <old pid>"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failed reload does not say %q:\n%s", want, out)
		}
	}
	if got := body(t, ports[0]); got != "two" {
		t.Errorf("after the refused reload: %q, want the previous configuration", got)
	}

	// Another user cannot be taken once dropped.
	writeWorld(t, ghCfg, strings.Replace(privConfig(ghJail, ghPid, "four", ghStats, ports[0]), "user nobody", "user root", 1))
	gh.Signal(syscall.SIGHUP)
	testenv.Eventually(t, 20*time.Second, func() bool { return strings.Count(gh.String(), "reload failed") >= 2 }, "the reload to another user was not refused")
	if !strings.Contains(gh.String(), "changes 'user'/'uid'") {
		t.Errorf("the refused identity change does not say why:\n%s", gh.String())
	}
	if got := body(t, ports[0]); got != "two" {
		t.Errorf("after the refused identity change: %q", got)
	}

	// What the jail cannot do, a new process started as root with -sf does:
	// it binds beside the old one (SO_REUSEPORT), then the old one leaves.
	writeWorld(t, ghCfg, privConfig(ghJail, ghPid, "five", ghStats, ports[0], ports[2]))
	gh2 := testenv.StartProcess(t, "gatehouse-2", testenv.GatehouseBinary(t), "-f", ghCfg, "-p", ghPid, "-sf", strconv.Itoa(ghPID))
	gh2.WaitTCP(t, testenv.LocalAddr(ports[2]), 20*time.Second)
	select {
	case <-gh.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the old process did not leave after -sf")
	}
	if code := gh.ExitCode(); code != 0 {
		t.Errorf("the old process exited %d after SIGUSR1", code)
	}
	for _, p := range []int{ports[0], ports[2]} {
		if got := body(t, p); got != "five" {
			t.Errorf("port %d after -sf: %q", p, got)
		}
	}
	if b, _ := os.ReadFile(ghPid); string(b) != strconv.Itoa(gh2.Cmd.Process.Pid)+"\n" {
		t.Errorf("-p: pidfile %q, want the new pid %d", b, gh2.Cmd.Process.Pid)
	}
}

// TestSystemdNotify: with -Ws, Gatehouse tells systemd READY=1 once it
// serves, RELOADING=1 (with MONOTONIC_USEC) then READY=1 around a reload
// (SIGUSR2, as systemd's ExecReload sends to HAProxy), and STOPPING=1.
func TestSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	port := testenv.FreePort(t)
	cfg := fmt.Sprintf("defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\nfrontend f\n    bind 127.0.0.1:%d\n    http-request return status 200\n", port)
	gh := testenv.StartGatehouse(t, cfg, "-Ws")
	next := func() string {
		buf := make([]byte, 512)
		ln.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := ln.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v\n%s", err, gh.String())
		}
		return string(buf[:n])
	}
	if m := next(); m != "READY=1" {
		t.Fatalf("first notification %q", m)
	}
	gh.Signal(syscall.SIGUSR2)
	if m := next(); !strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Errorf("on reload: %q", m)
	}
	if m := next(); m != "READY=1" {
		t.Errorf("after reload: %q", m)
	}
	gh.WaitOutput(t, "reload complete", 20*time.Second)
	gh.Signal(syscall.SIGTERM)
	if m := next(); m != "STOPPING=1" {
		t.Errorf("on stop: %q", m)
	}
}

// TestDaemonMode: -D returns once the detached process serves (exit 0),
// whose pid -p records; a start that fails returns its error and status.
func TestDaemonMode(t *testing.T) {
	dir := t.TempDir()
	port := testenv.FreePort(t)
	cfgFile := filepath.Join(dir, "gh.cfg")
	pidfile := filepath.Join(dir, "gh.pid")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf("defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\nfrontend f\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string daemon\n", port)), 0o644)
	parent := testenv.StartProcess(t, "gatehouse -D", testenv.GatehouseBinary(t), "-D", "-p", pidfile, "-f", cfgFile)
	code, err := parent.Wait(30 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("-D: exit %d, %v\n%s", code, err, parent.String())
	}
	b, err := os.ReadFile(pidfile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || pid == parent.Cmd.Process.Pid {
		t.Fatalf("pidfile %q (%v): want the daemon's pid", b, err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if got := body(t, port); got != "daemon" {
		t.Errorf("the daemon answers %q", got)
	}
	if sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0); errno != 0 || int(sid) != pid {
		t.Errorf("the daemon is not a session leader: sid %d (%v)", sid, errno)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	testenv.Eventually(t, 20*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }, "the daemon did not stop on SIGTERM")

	// A port held by another socket: the start fails, and -D says so.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	os.WriteFile(cfgFile, []byte(fmt.Sprintf("defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\nfrontend f\n    bind %s\n    http-request return status 200\n", busy.Addr())), 0o644)
	failed := testenv.StartProcess(t, "gatehouse -D (busy)", testenv.GatehouseBinary(t), "-D", "-f", cfgFile)
	code, err = failed.Wait(30 * time.Second)
	if err != nil || code != 1 || !strings.Contains(failed.String(), "cannot bind socket") {
		t.Errorf("-D on a busy port: exit %d (%v), output:\n%s", code, err, failed.String())
	}
}

// TestZeroWarning: 'zero-warning' and -dW refuse a configuration with a
// warning, as HAProxy 2.6 refuses it, with its message.
func TestZeroWarning(t *testing.T) {
	port := testenv.FreePort(t)
	// No timeouts: HAProxy and Gatehouse both warn.
	base := fmt.Sprintf("frontend f\n    mode http\n    bind 127.0.0.1:%d\n    http-request return status 200\n", port)
	for _, tc := range []struct {
		name, cfg string
		args      []string
	}{
		{"keyword", "global\n    zero-warning\n" + base, nil},
		{"-dW", base, []string{"-dW"}},
	} {
		dir := t.TempDir()
		f := filepath.Join(dir, "z.cfg")
		os.WriteFile(f, []byte(tc.cfg), 0o644)
		for _, bin := range []string{testenv.GatehouseBinary(t), testenv.RequireBinary(t, "haproxy")} {
			p := testenv.StartProcess(t, filepath.Base(bin), bin, append([]string{"-c", "-f", f}, tc.args...)...)
			code, err := p.Wait(30 * time.Second)
			if err != nil || code == 0 || !strings.Contains(p.String(), "Some warnings were found and 'zero-warning' is set. Aborting.") {
				t.Errorf("%s, %s -c: exit %d (%v):\n%s", tc.name, bin, code, err, p.String())
			}
		}
		// Without it, the same configuration is valid.
		if ok, out := testenv.GatehouseCheck(t, base); !ok {
			t.Errorf("without zero-warning: %s", out)
		}
	}
	// Notices do not count: a '.notice' line, and 'expose-fd listeners'
	// (what it asks for is how Gatehouse reloads: a NOTICE says so).
	dir := t.TempDir()
	f := filepath.Join(dir, "n.cfg")
	os.WriteFile(f, []byte(fmt.Sprintf(`global
    zero-warning
    stats socket %s/api.sock level admin expose-fd listeners
.notice "a notice is not a warning"
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend f
    bind 127.0.0.1:%d
    http-request return status 200
`, dir, port)), 0o644)
	for _, bin := range []string{testenv.GatehouseBinary(t), testenv.RequireBinary(t, "haproxy")} {
		p := testenv.StartProcess(t, filepath.Base(bin), bin, "-c", "-f", f)
		if code, err := p.Wait(30 * time.Second); err != nil || code != 0 {
			t.Errorf("notices under zero-warning, %s -c: exit %d (%v):\n%s", bin, code, err, p.String())
		}
	}
}

// TestUnixBindLeavesStatsSocket: HAProxy 2.6 applies unix-bind to UNIX
// 'bind' lines only (which Gatehouse refuses), not to 'stats socket': the
// socket is where its path says, with the mode its own line gives, in
// both proxies.
func TestUnixBindLeavesStatsSocket(t *testing.T) {
	for _, c := range []struct{ name, bin string }{
		{"gatehouse", testenv.GatehouseBinary(t)},
		{"haproxy", testenv.RequireBinary(t, "haproxy")},
	} {
		dir, other := t.TempDir(), t.TempDir()
		port := testenv.FreePort(t)
		sock := filepath.Join(dir, "admin.sock")
		cfg := fmt.Sprintf("global\n    unix-bind prefix %s/ mode 600\n    stats socket %s level admin mode 644\ndefaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\nfrontend f\n    bind 127.0.0.1:%d\n    http-request return status 200\n", other, sock, port)
		f := filepath.Join(dir, "c.cfg")
		os.WriteFile(f, []byte(cfg), 0o644)
		args := []string{"-f", f}
		if c.name == "haproxy" {
			args = append(args, "-db")
		}
		p := testenv.StartProcess(t, c.name, c.bin, args...)
		testenv.Eventually(t, 20*time.Second, func() bool {
			_, err := runtimeCmdErr(sock, "show info")
			return err == nil
		}, "%s: no runtime API on %s:\n%s", c.name, sock, p.String())
		st, err := os.Stat(sock)
		if err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: socket mode %v (%v), want 0644 from its own line", c.name, st.Mode().Perm(), err)
		}
		if entries, _ := os.ReadDir(other); len(entries) != 0 {
			t.Errorf("%s: unix-bind's prefix got %v", c.name, entries)
		}
		p.Stop()
	}
}
